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

/**
 * Throws BenchCancelled once `signal` is aborted. Every 50 ms it first lets the event loop run: a wasm
 * run resolves without yielding to it, so without this a page would not see its Cancel button clicked
 * (nor draw its progress) until the whole grid was done.
 */
export function cancellationCheck(signal?: AbortSignal): () => Promise<void> {
  let last = now();
  return async () => {
    if (now() - last >= 50) {
      await new Promise<void>((r) => setTimeout(() => r(), 0));
      last = now();
    }
    if (signal?.aborted) throw new BenchCancelled();
  };
}

export function now(): number {
  return globalThis.performance.now();
}
