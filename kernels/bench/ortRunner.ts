/// <reference types="@webgpu/types" />
/**
 * `manual` and `ort-fused` through onnxruntime-web, on WebGPU with GPU-resident inputs and outputs
 * (so the time excludes uploads and readback) or on wasm (CPU). The ORT module is passed in: the
 * webview bundles it, the CLI loads it by path.
 */
import type * as Ort from 'onnxruntime-web';
import { fromHalfArray, toHalfArray } from '../flash/half.js';
import { manualExtraBytes } from './accounting.js';
import { type AttentionInputs, KernelUnavailable, type KernelRunner, now } from './runner.js';
import type { BenchCase } from './types.js';

export type OrtModule = typeof Ort;

export interface AttentionGraphOptions {
  batch: number;
  heads: number;
  /** Key/value heads (K and V are (B, KV, T, dh)); H for multi-head attention. */
  kvHeads: number;
  seqLen: number;
  headDim: number;
  dtype: 'float32' | 'float16';
  kind: 'manual' | 'fused';
  causal: boolean;
}

/** Serialized ONNX model with inputs Q (B, H, T, dh), K and V (B, KV, T, dh), and output O (B, H, T, dh). */
export type AttentionGraphBuilder = (o: AttentionGraphOptions) => Uint8Array | Promise<Uint8Array>;

export interface OrtEnvironment {
  ort: OrtModule;
  /** Words for the provider, e.g. `onnxruntime-web 1.30 WebGPU (JSEP)`. */
  webgpuProvider: string;
  buildGraph: AttentionGraphBuilder;
}

function toFloat32(data: unknown): Float32Array {
  if (data instanceof Float32Array) return data;
  if (data instanceof Uint16Array) return fromHalfArray(data);
  if (ArrayBuffer.isView(data)) return Float32Array.from(data as unknown as ArrayLike<number>);
  throw new TypeError('unexpected ORT output data');
}

export async function ortRunner(env: OrtEnvironment, c: BenchCase, inputs: AttentionInputs): Promise<KernelRunner> {
  if (c.kernel === 'ours') throw new KernelUnavailable('ours does not run through onnxruntime');
  const { ort } = env;
  const dtype = c.precision === 'fp16' ? 'float16' : 'float32';
  const model = await env.buildGraph({ batch: c.batch, heads: c.heads, kvHeads: c.kvHeads, seqLen: c.seqLen, headDim: c.headDim, dtype, kind: c.kernel === 'manual' ? 'manual' : 'fused', causal: c.causal });
  const gpu = c.backend === 'webgpu';
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, {
      executionProviders: [gpu ? 'webgpu' : 'wasm'],
      graphOptimizationLevel: 'all',
      ...(gpu ? { preferredOutputLocation: 'gpu-buffer' as const } : {}),
    });
  } catch (e) {
    throw new KernelUnavailable(`onnxruntime could not create the session: ${(e as Error).message}`);
  }
  const qDims = [c.batch, c.heads, c.seqLen, c.headDim];
  const kvDims = [c.batch, c.kvHeads, c.seqLen, c.headDim];
  const hostData = (a: Float32Array) => (dtype === 'float16' ? toHalfArray(a) : a);
  const buffers: GPUBuffer[] = [];
  let device: GPUDevice | undefined;
  let feeds: Record<string, Ort.Tensor>;
  if (gpu) {
    const dev = (device = (await ort.env.webgpu.device) as GPUDevice);
    const upload = (a: Float32Array, dims: number[]) => {
      const data = hostData(a);
      const buf = dev.createBuffer({ size: Math.ceil(data.byteLength / 4) * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      dev.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
      buffers.push(buf);
      return ort.Tensor.fromGpuBuffer(buf, { dataType: dtype, dims });
    };
    feeds = { Q: upload(inputs.q, qDims), K: upload(inputs.k, kvDims), V: upload(inputs.v, kvDims) };
    await dev.queue.onSubmittedWorkDone();
  } else {
    const t = (a: Float32Array, dims: number[]) => new ort.Tensor(dtype, hostData(a) as Float32Array, dims);
    feeds = { Q: t(inputs.q, qDims), K: t(inputs.k, kvDims), V: t(inputs.v, kvDims) };
  }
  let last: Ort.Tensor | undefined;

  // Grouped K/V reach GroupQueryAttention as they are; MultiHeadAttention (full attention) and manual take them repeated.
  const grouping = c.kvHeads === c.heads ? '' : c.kernel === 'ort-fused' && c.causal ? '; GroupQueryAttention on the K/V heads' : '; K/V repeated to H heads';
  return {
    provider: (gpu ? env.webgpuProvider : `onnxruntime-web ${ort.env.versions.web} wasm (${ort.env.wasm.numThreads ?? 1} threads)`) + grouping,
    timing: gpu ? 'queue-completion' : 'wall-clock',
    extraBytes: c.kernel === 'manual' ? manualExtraBytes(c) : undefined,
    async run() {
      const start = now();
      const out = await session.run(feeds, ['O']);
      if (device) await device.queue.onSubmittedWorkDone();
      const ms = now() - start;
      last?.dispose();
      last = out.O;
      return ms;
    },
    async output() {
      if (!last) throw new Error('output() before run()');
      return toFloat32(await last.getData());
    },
    async dispose() {
      last?.dispose();
      await session.release();
      for (const b of buffers) b.destroy();
    },
  };
}
