/**
 * How a model's weights enter a graph without being copied in JS:
 * - referenced as ONNX external data, the model file's own bytes (mounted in ORT by name,
 *   `externalFiles()`), cast to the compute dtype in the graph when the stored dtype differs (ORT folds
 *   the Cast once, at session creation);
 * - otherwise (`external`: 'none' for runtimes without external data; 'except-bf16' for WebGPU, which
 *   has no bfloat16 Cast, so a session with one is refused): converted tensor by tensor while the graph
 *   is written, so no whole converted copy is held.
 */
import type { ModelWeights, WeightTensor } from '../model/types.js';
import { elementCount, toFloat16Bits, toFloat32 } from '../model/weightData.js';
import { type ElemType, type OnnxGraphBuilder, type TensorBytes, bytesOf } from './onnxBuilder.js';
import { type FloatDType, elemTypeOf } from './tensors.js';

/** One external data "file" as ORT's `externalData` session option takes it. */
export interface ExternalFile {
  path: string;
  data: Uint8Array;
}

/** Which stored weights are referenced as external data (the rest are converted while the graph is written). */
export type ExternalWeights = 'all' | 'except-bf16' | 'none';

/** The weights a provider's graphs may take as external data: WebGPU has no bfloat16 Cast (a session with one is refused). */
export function externalWeightsOn(provider: 'wasm' | 'webgpu'): ExternalWeights {
  return provider === 'wasm' ? 'all' : 'except-bf16';
}

const ONNX_TYPE: Record<FloatDType, number> = { fp32: 1, fp16: 10 };
const STORED_TYPE: Record<WeightTensor['dtype'], ElemType> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

export class GraphWeights {
  /** One external file per distinct buffer the weights are views of (usually the one model file). */
  private readonly files = new Map<ArrayBufferLike, ExternalFile>();

  constructor(
    private readonly weights: ModelWeights,
    readonly dtype: FloatDType,
    private readonly external: ExternalWeights = 'all',
  ) {}

  /** Adds weight `name` (shape `dims`) to the graph; returns the tensor that holds it in the compute dtype. */
  add(b: OnnxGraphBuilder, name: string, dims: number[]): string {
    const t = this.weights.get(name);
    if (!t) throw new Error(`weight ${name} is missing`);
    if (elementCount(t) !== dims.reduce((a, d) => a * d, 1)) throw new Error(`weight ${name} has shape [${t.shape}], the graph needs [${dims}]`);
    const compute = elemTypeOf(this.dtype);
    if (this.external === 'none' || (this.external === 'except-bf16' && t.dtype === 'BF16')) return b.initializer(name, { type: compute, dims, data: converted(t, this.dtype) });
    const stored = STORED_TYPE[t.dtype];
    const init = b.initializer(stored === compute ? name : `${name}.stored`, { type: stored, dims, data: { external: this.locate(t.data) } });
    return stored === compute ? init : b.op('Cast', [init], { to: ONNX_TYPE[this.dtype] }, name);
  }

  /** The external data the graphs built so far refer to: views of the weights' buffers, no copies. */
  externalFiles(): ExternalFile[] {
    return [...this.files.values()];
  }

  private locate(data: Uint8Array): { location: string; offset: number; length: number } {
    let file = this.files.get(data.buffer);
    if (!file) {
      file = { path: `weights-${this.files.size}.bin`, data: new Uint8Array(data.buffer) };
      this.files.set(data.buffer, file);
    }
    return { location: file.path, offset: data.byteOffset, length: data.byteLength };
  }
}

/** The tensor's values in `dtype`, made only when the writer reaches them. */
function converted(t: WeightTensor, dtype: FloatDType): TensorBytes {
  const n = elementCount(t);
  return {
    byteLength: n * (dtype === 'fp16' ? 2 : 4),
    writeInto: (dst) => dst.set(bytesOf(dtype === 'fp16' ? toFloat16Bits(t) : toFloat32(t))),
  };
}
