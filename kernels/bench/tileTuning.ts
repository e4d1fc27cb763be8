/// <reference types="@webgpu/types" />
/**
 * Tile tuning for `ours`: every configuration that fits the adapter is timed briefly on the case's own
 * inputs and checked against the case's reference; the fastest that agrees is the one benchmarked.
 * A configuration that disagrees or does not compile is recorded with why, and never chosen.
 */
import { deviceFacts } from '../flash/gpuFacts.js';
import { rowAgreement, type RowReference } from '../flash/reference.js';
import { fittingTiles, tilesLabel } from '../flash/tiles.js';
import { tolerance } from './accounting.js';
import { measure } from './measure.js';
import { oursRunner } from './oursRunner.js';
import { type AttentionInputs, BenchCancelled, type KernelRunner } from './runner.js';
import { summarize } from './stats.js';
import type { BenchCase, BenchSettings, TileTrial } from './types.js';

/** Short trials: enough runs for a median on a GPU (a run is milliseconds), a bounded cost elsewhere. */
const TRIAL = { warmup: 1, budgetMs: 100, minRuns: 3, maxRuns: 20 };

export function tunesTiles(s: Pick<BenchSettings, 'tileChoice'>, device: GPUDevice): boolean {
  return s.tileChoice === 'tune' || (s.tileChoice === 'auto' && !deviceFacts(device).isFallbackAdapter);
}

export async function tunedOursRunner(
  device: GPUDevice, c: BenchCase, inputs: AttentionInputs, reference: RowReference, useTimestamps: boolean, signal?: AbortSignal,
): Promise<KernelRunner> {
  const trials: TileTrial[] = [];
  // The fastest agreeing runner so far is kept (its pipeline and buffers are what gets benchmarked).
  let best: { runner: KernelRunner; ms: number } | undefined;
  try {
    for (const tiles of fittingTiles(c.headDim, deviceFacts(device))) {
      const trial: TileTrial = { tiles: tilesLabel(tiles) };
      trials.push(trial);
      let runner: KernelRunner | undefined;
      try {
        runner = await oursRunner(device, c, inputs, useTimestamps, tiles);
        const ms = summarize(await measure(runner, TRIAL, signal)).medianMs;
        trial.medianMs = ms;
        trial.maxAbsDiff = rowAgreement(await runner.output(), reference, c.headDim);
        if (!(trial.maxAbsDiff <= tolerance(c.precision))) trial.note = 'disagrees with the reference';
        else if (!best || ms < best.ms) {
          const previous = best?.runner;
          best = { runner, ms };
          runner = previous; // released below instead
        }
      } catch (e) {
        if (e instanceof BenchCancelled) throw e;
        trial.note = e instanceof Error ? e.message : String(e);
      } finally {
        await runner?.dispose();
      }
    }
  } catch (e) {
    await best?.runner.dispose();
    throw e;
  }
  // With no configuration agreeing, the first fitting one is benchmarked and fails the check openly.
  const runner = best?.runner ?? (await oursRunner(device, c, inputs, useTimestamps));
  const how = best ? `fastest of ${trials.length} tried` : `none of ${trials.length} tried agreed`;
  return { ...runner, provider: `${runner.provider} (${how})`, tileTrials: trials };
}
