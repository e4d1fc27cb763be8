/** What the benchmark needs from any kernel: run once (timed), read O back, release. */
import type { TileTrial, TimingSource } from './types.js';

export interface KernelRunner {
  /** Which provider/path actually runs. */
  provider: string;
  timing: TimingSource;
  /** Bytes of intermediate buffers beyond Q, K, V, O; undefined where the provider does not say. */
  extraBytes?: number;
  /** The tile configurations tried before this one was chosen (tuned `ours`). */
  tileTrials?: TileTrial[];
  /** One execution, finished on the device; resolves with its duration in milliseconds. */
  run(): Promise<number>;
  /** O of the last run, as fp32 values in (B, H, T, dh) order. */
  output(): Promise<Float32Array>;
  dispose(): Promise<void>;
}

export interface AttentionInputs {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
}

/** A kernel this environment cannot run (missing feature, missing provider). */
export class KernelUnavailable extends Error {
  override name = 'KernelUnavailable';
}

export class BenchCancelled extends Error {
  override name = 'BenchCancelled';
  constructor() {
    super('benchmark cancelled');
  }
}

export function now(): number {
  return globalThis.performance.now();
}
