/** FLOP and byte accounting of attention. */
import type { BenchCase, Precision } from './types.js';

/** 4·B·H·T²·dh (two matrix products of 2·T²·dh each), halved for causal. */
export function attentionFlops(c: Pick<BenchCase, 'batch' | 'heads' | 'seqLen' | 'headDim' | 'causal'>): number {
  const full = 4 * c.batch * c.heads * c.seqLen * c.seqLen * c.headDim;
  return c.causal ? full / 2 : full;
}

export function bytesPerElement(p: Precision): number {
  return p === 'fp16' ? 2 : 4;
}

/** One (B, H, T, T) score matrix: what the manual graph materializes (at least once) and ours never does. */
export function scoreMatrixBytes(c: Pick<BenchCase, 'batch' | 'heads' | 'seqLen' | 'precision'>): number {
  return c.batch * c.heads * c.seqLen * c.seqLen * bytesPerElement(c.precision);
}

/** What the manual graph holds beyond its inputs and output: the scores, and with KV < H, K and V repeated to H heads. */
export function manualExtraBytes(c: Pick<BenchCase, 'batch' | 'heads' | 'kvHeads' | 'seqLen' | 'headDim' | 'precision'>): number {
  const repeated = c.kvHeads < c.heads ? 2 * c.batch * c.heads * c.seqLen * c.headDim * bytesPerElement(c.precision) : 0;
  return scoreMatrixBytes(c) + repeated;
}

export function tflops(c: BenchCase, ms: number): number {
  return attentionFlops(c) / (ms * 1e-3) / 1e12;
}

/** Agreement tolerance against the fp32 reference, for inputs in [-1, 1). */
export function tolerance(p: Precision): number {
  return p === 'fp16' ? 2e-2 : 1e-4;
}
