/** Shapes of the attention benchmark: what is run, and what each run reports. */
import type { GpuFacts } from '../flash/gpuFacts.js';

export type KernelName = 'ours' | 'manual' | 'ort-fused';
export type Backend = 'webgpu' | 'wasm';
export type Precision = 'fp32' | 'fp16';

export const KERNELS: readonly KernelName[] = ['ours', 'manual', 'ort-fused'];
export const BACKENDS: readonly Backend[] = ['webgpu', 'wasm'];
export const PRECISIONS: readonly Precision[] = ['fp32', 'fp16'];

/** One cell of the grid. */
export interface BenchCase {
  kernel: KernelName;
  backend: Backend;
  precision: Precision;
  batch: number;
  /** Query heads (H). */
  heads: number;
  /** Key/value heads (KV): H for multi-head attention, fewer for grouped-query attention. */
  kvHeads: number;
  seqLen: number;
  headDim: number;
  causal: boolean;
}

export interface BenchSettings {
  kernels: KernelName[];
  backends: Backend[];
  precisions: Precision[];
  seqLens: number[];
  heads: number[];
  /**
   * Query heads per key/value head, each combined with each head count: 1 is multi-head attention, 4 with
   * 8 heads is grouped-query attention over 2 K/V heads. Every head count must be a multiple of each.
   */
  queriesPerKv: number[];
  batches: number[];
  headDim: number;
  causal: boolean;
  /** Untimed runs before timing. */
  warmup: number;
  /** Timed runs continue until this much time has been spent (at least `minRuns`, at most `maxRuns`). */
  budgetMs: number;
  minRuns: number;
  maxRuns: number;
  /**
   * Time the kernels of one shape in alternation (one run of each per round, budget × kernels in all),
   * so that outside load falls on all alike and their ratio stays fair. Holds all their buffers at once.
   */
  interleave: boolean;
  /** GPU timestamp queries for `ours` where the device has them; off: queue completion, as for onnxruntime. */
  timestamps: boolean;
  /** How `ours` gets its tiles (see TileChoice). */
  tileChoice: TileChoice;
}

/**
 * `tune`: time every tile configuration that fits the adapter on the case's own inputs and keep the
 * fastest that agrees with the reference; `first-fit`: the adapter's first fitting configuration;
 * `auto`: tune on hardware adapters, first-fit on a CPU fallback (where each trial costs seconds).
 */
export type TileChoice = 'auto' | 'tune' | 'first-fit';
export const TILE_CHOICES: readonly TileChoice[] = ['auto', 'tune', 'first-fit'];

/** One tile configuration tried while tuning `ours`. */
export interface TileTrial {
  tiles: string;
  medianMs?: number;
  maxAbsDiff?: number;
  /** Why it was not a candidate (disagreement, compile error). */
  note?: string;
}

/** How a time was taken: GPU timestamps, queue completion, or wall clock around a CPU run. */
export type TimingSource = 'gpu-timestamp' | 'queue-completion' | 'wall-clock';

export type RowStatus = 'ok' | 'failed' | 'unavailable' | 'error' | 'cancelled';

export interface BenchRow extends BenchCase {
  status: RowStatus;
  /** Why a row is not `ok` (disagreement, missing feature, error message). */
  note?: string;
  /** Which provider/path ran (e.g. `onnxruntime-web webgpu (JSEP)`, `WGSL 32x32 rows/thread 8`). */
  provider: string;
  timing?: TimingSource;
  runs: number;
  medianMs?: number;
  minMs?: number;
  maxMs?: number;
  /** Interquartile range relative to the median, in percent. */
  spreadPct?: number;
  /** Timed runs farther than 3 scaled MADs from the median. */
  outliers: number;
  tflops?: number;
  /** Bytes of intermediate buffers beyond Q, K, V, O (at least one (B,H,T,T) for manual); absent where unknown. */
  extraBytes?: number;
  /** max |O − O_reference| and the tolerance it was held to. */
  maxAbsDiff?: number;
  tolerance: number;
  /** What O was compared against. */
  reference: string;
  /** The configurations timed before choosing the tiles of `ours`, when it was tuned. */
  tileTrials?: TileTrial[];
}

export interface BenchReport {
  startedAt: string;
  settings: BenchSettings;
  adapter?: GpuFacts;
  environment: string;
  rows: BenchRow[];
}
