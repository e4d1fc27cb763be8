/// <reference types="@webgpu/types" />
/**
 * Dispatches our flash-attention kernel on a GPUDevice. Q and O are GPU buffers laid out (B, H, T, dh),
 * K and V (B, KV, T, dh) (KV = H unless the shape groups query heads), fp32 or fp16; nothing is read
 * back unless asked (`readOutput`).
 */
import { type FlashPrecision, type FlashTiles, FlashConfigError, flashAttentionWgsl, workgroupThreads } from './flashWgsl.js';
import { fromHalfArray, toHalfArray } from './half.js';
import { type AttentionShape, elementCount, kvHeadsOf } from './reference.js';
import { chooseFlashTiles } from './tiles.js';
import { deviceFacts } from './gpuFacts.js';

export interface FlashBuffers {
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  o: GPUBuffer;
}

const pipelines = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

function pipelineFor(device: GPUDevice, code: string): Promise<GPUComputePipeline> {
  let cache = pipelines.get(device);
  if (!cache) pipelines.set(device, (cache = new Map()));
  let p = cache.get(code);
  if (!p) {
    const module = device.createShaderModule({ code, label: 'flash-attention' });
    p = device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: 'flash-attention' });
    cache.set(code, p);
  }
  return p;
}

export class FlashAttention {
  private constructor(
    readonly device: GPUDevice,
    readonly shape: AttentionShape,
    readonly precision: FlashPrecision,
    readonly tiles: FlashTiles,
    private readonly pipeline: GPUComputePipeline,
    private readonly params: GPUBuffer,
  ) {}

  /**
   * Compiles (or reuses) the kernel for this shape. Tiles default to the adapter's best choice;
   * pass them to force a configuration (tests exercise both reduction paths this way).
   */
  static async create(device: GPUDevice, shape: AttentionShape, precision: FlashPrecision, tiles?: FlashTiles): Promise<FlashAttention> {
    if (precision === 'fp16' && !device.features.has('shader-f16')) {
      throw new FlashConfigError('fp16 needs the shader-f16 feature, which this device does not have');
    }
    const kv = kvHeadsOf(shape);
    if (!(Number.isInteger(kv) && kv >= 1 && shape.heads % kv === 0)) throw new FlashConfigError(`${shape.heads} query heads are not a multiple of ${kv} key/value heads`);
    const t = tiles ?? chooseFlashTiles(shape.headDim, deviceFacts(device));
    if (t.subgroups && !device.features.has('subgroups')) throw new FlashConfigError('subgroup tiles need the subgroups feature');
    if (workgroupThreads(t) > device.limits.maxComputeInvocationsPerWorkgroup) throw new FlashConfigError('too many threads per workgroup for this device');
    const code = flashAttentionWgsl({ ...t, headDim: shape.headDim, precision });
    const pipeline = await pipelineFor(device, code);
    const params = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'flash-params' });
    const p = new ArrayBuffer(16);
    new Uint32Array(p, 0, 2).set([shape.seqLen, shape.causal ? 1 : 0]);
    new Float32Array(p, 8, 1)[0] = Math.LOG2E / Math.sqrt(shape.headDim);
    new Uint32Array(p, 12, 1)[0] = shape.heads / kv;
    device.queue.writeBuffer(params, 0, p);
    return new FlashAttention(device, shape, precision, t, pipeline, params);
  }

  /** Bytes of one (B, H, T, dh) tensor in this precision. */
  get tensorBytes(): number {
    return elementCount(this.shape) * (this.precision === 'fp16' ? 2 : 4);
  }

  /** Records one attention pass; `timestampWrites` brackets it with GPU timestamps. */
  encode(encoder: GPUCommandEncoder, b: FlashBuffers, timestampWrites?: GPUComputePassTimestampWrites): void {
    const bindGroup = this.device.createBindGroup({
      layout: this.pipeline.getBindGroupLayout(0),
      entries: [b.q, b.k, b.v, b.o, this.params].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const pass = encoder.beginComputePass(timestampWrites ? { timestampWrites } : {});
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(Math.ceil(this.shape.seqLen / this.tiles.rows), this.shape.batch * this.shape.heads);
    pass.end();
  }

  /** Makes a storage buffer holding `data` (fp32 values, converted to fp16 when the kernel is fp16). */
  upload(data: Float32Array, label: string): GPUBuffer {
    const bytes = this.precision === 'fp16' ? toHalfArray(data) : data;
    const buffer = this.device.createBuffer({ size: align4(bytes.byteLength), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, label });
    this.device.queue.writeBuffer(buffer, 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return buffer;
  }

  outputBuffer(): GPUBuffer {
    return this.device.createBuffer({ size: align4(this.tensorBytes), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, label: 'flash-o' });
  }

  /** Copies O back to the CPU as fp32 values. */
  async readOutput(o: GPUBuffer): Promise<Float32Array> {
    const staging = this.device.createBuffer({ size: align4(this.tensorBytes), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(o, 0, staging, 0, align4(this.tensorBytes));
    this.device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const raw = staging.getMappedRange().slice(0, this.tensorBytes);
    staging.unmap();
    staging.destroy();
    return this.precision === 'fp16' ? fromHalfArray(new Uint16Array(raw)) : new Float32Array(raw);
  }

  destroy(): void {
    this.params.destroy();
  }
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

/** Runs the kernel once on CPU inputs and returns O (tests and one-off checks). */
export async function runFlashAttention(
  device: GPUDevice,
  shape: AttentionShape,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  precision: FlashPrecision = 'fp32',
  tiles?: FlashTiles,
): Promise<Float32Array> {
  const fa = await FlashAttention.create(device, shape, precision, tiles);
  const b = { q: fa.upload(q, 'q'), k: fa.upload(k, 'k'), v: fa.upload(v, 'v'), o: fa.outputBuffer() };
  const enc = device.createCommandEncoder();
  fa.encode(enc, b);
  device.queue.submit([enc.finish()]);
  const out = await fa.readOutput(b.o);
  for (const buf of Object.values(b)) buf.destroy();
  fa.destroy();
  return out;
}
