/** Float initializers in the graph's compute dtype. */
import { toHalfArray } from '../flash/half.js';
import { type ElemType, type TensorInit, bytesOf } from './onnxBuilder.js';

export type FloatDType = 'fp32' | 'fp16';

export function elemTypeOf(dtype: FloatDType): ElemType {
  return dtype === 'fp16' ? 'float16' : 'float32';
}

/** A float tensor from fp32 values, stored as fp32 or rounded to fp16 bits. */
export function floatTensor(dims: number[], values: Float32Array, dtype: FloatDType): TensorInit {
  return { type: elemTypeOf(dtype), dims, data: bytesOf(dtype === 'fp16' ? toHalfArray(values) : values) };
}
