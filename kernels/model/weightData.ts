import type { ModelWeights, WeightTensor } from './types';

/** Number of elements a tensor's shape holds. */
export function elementCount(t: WeightTensor): number {
  return t.shape.reduce((a, b) => a * b, 1);
}

/**
 * Copies of the tensors `names` of `weights`, packed into one new buffer (each 8-byte aligned, so typed
 * views of it work): what a caller keeps once it lets the file's bytes go.
 */
export function copyWeights(weights: ModelWeights, names: readonly string[]): ModelWeights {
  const picked = [...new Set(names)].map((name) => {
    const t = weights.get(name);
    if (!t) throw new Error(`weight ${name} is missing`);
    return [name, t] as const;
  });
  const align = (n: number) => Math.ceil(n / 8) * 8;
  const buffer = new Uint8Array(picked.reduce((n, [, t]) => n + align(t.data.byteLength), 0));
  let at = 0;
  return new Map(
    picked.map(([name, t]) => {
      const data = buffer.subarray(at, at + t.data.byteLength);
      data.set(t.data);
      at += align(t.data.byteLength);
      return [name, { dtype: t.dtype, shape: [...t.shape], data }];
    }),
  );
}

/**
 * The tensor's values as float32 (F16 and BF16 widen exactly). For an F32 tensor whose bytes are
 * 4-byte aligned the result is a view sharing memory with the file's bytes: treat it as read-only.
 */
export function toFloat32(t: WeightTensor): Float32Array {
  const n = elementCount(t);
  switch (t.dtype) {
    case 'F32':
      return new Float32Array(alignedBuffer(t.data, 4), alignedOffset(t.data, 4), n);
    case 'F16': {
      const bits = new Uint16Array(alignedBuffer(t.data, 2), alignedOffset(t.data, 2), n);
      const table = halfTable();
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = table[bits[i]];
      return out;
    }
    case 'BF16': {
      const bits = new Uint16Array(alignedBuffer(t.data, 2), alignedOffset(t.data, 2), n);
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = bits[i] << 16;
      return new Float32Array(out.buffer);
    }
  }
}

/**
 * The tensor's values as IEEE fp16 bit patterns: F16 as stored (a read-only view when aligned),
 * F32 and BF16 rounded to nearest, ties to even (overflow → ±Infinity, NaN stays NaN).
 */
export function toFloat16Bits(t: WeightTensor): Uint16Array {
  if (t.dtype === 'F16') {
    return new Uint16Array(alignedBuffer(t.data, 2), alignedOffset(t.data, 2), elementCount(t));
  }
  const f32 = toFloat32(t);
  const bits = new Uint32Array(f32.buffer, f32.byteOffset, f32.length);
  const out = new Uint16Array(f32.length);
  for (let i = 0; i < out.length; i++) out[i] = float32BitsToFloat16Bits(bits[i]);
  return out;
}

/** Rounds one float32 (given as its bits) to the nearest fp16, ties to even. */
export function float32BitsToFloat16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal fp16 (or zero): shift the full significand, rounding to nearest even.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let r = m >>> shift;
    if (rest > half || (rest === half && (r & 1) === 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1) === 1)) r++; // a carry into the exponent is correct (may give Infinity)
  return sign | r;
}

/** fp16 bits → float32 value, exact. */
export function float16BitsToFloat32(h: number): number {
  return halfTable()[h & 0xffff];
}

let table: Float32Array | undefined;
function halfTable(): Float32Array {
  if (table) return table;
  table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    table[h] =
      exp === 0 ? sign * mant * 2 ** -24 : exp === 0x1f ? (mant ? NaN : sign * Infinity) : sign * (1024 + mant) * 2 ** (exp - 25);
  }
  return table;
}

/** The buffer to view `data` through with the given alignment: its own when aligned, else a copy's. */
function alignedBuffer(data: Uint8Array, align: number): ArrayBufferLike {
  return data.byteOffset % align === 0 ? data.buffer : data.slice().buffer;
}
function alignedOffset(data: Uint8Array, align: number): number {
  return data.byteOffset % align === 0 ? data.byteOffset : 0;
}
