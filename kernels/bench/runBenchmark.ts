/// <reference types="@webgpu/types" />
/**
 * Runs the grid: every case on the same inputs, timed by `measure`, and every output checked against
 * an fp32 reference computed once per shape (wasm manual fp32 where onnxruntime is available, else
 * the TS reference). A case that disagrees is `failed` and carries no speed.
 */
import { gpuFacts, type GpuFacts } from '../flash/gpuFacts.js';
import { maxAbsDiff, randomInputs, referenceAttention } from '../flash/reference.js';
import { tflops, tolerance } from './accounting.js';
import { expandGrid } from './grid.js';
import { measure } from './measure.js';
import { oursRunner } from './oursRunner.js';
import { ortRunner, type OrtEnvironment } from './ortRunner.js';
import { type AttentionInputs, BenchCancelled, KernelUnavailable, type KernelRunner } from './runner.js';
import { summarize } from './stats.js';
import type { BenchCase, BenchReport, BenchRow, BenchSettings } from './types.js';

export interface BenchEnvironment {
  /** Device for `ours`; absent when WebGPU is not available. */
  gpu?: { adapter: GPUAdapter; device: GPUDevice };
  /** onnxruntime-web for `manual` and `ort-fused`; absent when not loaded. */
  ort?: OrtEnvironment;
  /** Words for where this runs (browser/Node and versions). */
  description: string;
}

export interface BenchHooks {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, row: BenchRow | undefined, running: BenchCase | undefined) => void;
}

function shapeKey(c: BenchCase): string {
  return `${c.batch}x${c.heads}x${c.seqLen}x${c.headDim}x${c.causal}`;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function makeRunner(env: BenchEnvironment, c: BenchCase, inputs: AttentionInputs): Promise<KernelRunner> {
  if (c.kernel === 'ours') {
    if (!env.gpu) throw new KernelUnavailable('no WebGPU adapter');
    return oursRunner(env.gpu.device, c, inputs);
  }
  if (!env.ort) throw new KernelUnavailable('onnxruntime-web not loaded');
  if (c.backend === 'webgpu' && !env.gpu) throw new KernelUnavailable('no WebGPU adapter');
  return ortRunner(env.ort, c, inputs);
}

/** The fp32 reference for a shape, and what it is. */
async function referenceFor(env: BenchEnvironment, c: BenchCase, inputs: AttentionInputs): Promise<{ o: Float32Array; name: string }> {
  if (env.ort) {
    try {
      const r = await ortRunner(env.ort, { ...c, kernel: 'manual', backend: 'wasm', precision: 'fp32' }, inputs);
      try {
        await r.run();
        return { o: await r.output(), name: 'manual fp32 (wasm)' };
      } finally {
        await r.dispose();
      }
    } catch {
      // Fall through to the TS reference.
    }
  }
  return { o: referenceAttention(inputs.q, inputs.k, inputs.v, c), name: 'TS reference (fp64 accumulation)' };
}

async function runCase(env: BenchEnvironment, c: BenchCase, s: BenchSettings, inputs: AttentionInputs, ref: { o: Float32Array; name: string }, signal?: AbortSignal): Promise<BenchRow> {
  const row: BenchRow = { ...c, status: 'ok', provider: '', runs: 0, outliers: 0, tolerance: tolerance(c.precision), reference: ref.name };
  let runner: KernelRunner | undefined;
  try {
    runner = await makeRunner(env, c, inputs);
    row.provider = runner.provider;
    row.timing = runner.timing;
    row.extraBytes = runner.extraBytes;
    const times = await measure(runner, s, signal);
    const sum = summarize(times);
    row.runs = times.length;
    Object.assign(row, sum);
    row.maxAbsDiff = maxAbsDiff(await runner.output(), ref.o);
    if (!(row.maxAbsDiff <= row.tolerance)) {
      row.status = 'failed';
      row.note = `disagrees with ${ref.name}: max |O − O_ref| = ${row.maxAbsDiff.toExponential(2)} > ${row.tolerance}`;
    } else {
      row.tflops = tflops(c, sum.medianMs);
    }
  } catch (e) {
    if (e instanceof BenchCancelled) throw e;
    row.status = e instanceof KernelUnavailable ? 'unavailable' : 'error';
    row.note = errorText(e);
  } finally {
    await runner?.dispose();
  }
  return row;
}

export async function runBenchmark(settings: BenchSettings, env: BenchEnvironment, hooks: BenchHooks = {}): Promise<BenchReport> {
  const cases = expandGrid(settings);
  const report: BenchReport = {
    startedAt: new Date().toISOString(),
    settings,
    adapter: env.gpu ? (gpuFacts(env.gpu.adapter, env.gpu.device) satisfies GpuFacts) : undefined,
    environment: env.description,
    rows: [],
  };
  let key = '';
  let inputs: AttentionInputs | undefined;
  let ref: { o: Float32Array; name: string } | undefined;
  for (const c of cases) {
    hooks.onProgress?.(report.rows.length, cases.length, undefined, c);
    if (hooks.signal?.aborted) break;
    if (shapeKey(c) !== key) {
      key = shapeKey(c);
      const n = c.batch * c.heads * c.seqLen * c.headDim;
      inputs = { q: randomInputs(n, 1), k: randomInputs(n, 2), v: randomInputs(n, 3) };
      ref = await referenceFor(env, c, inputs);
    }
    try {
      report.rows.push(await runCase(env, c, settings, inputs!, ref!, hooks.signal));
    } catch (e) {
      if (!(e instanceof BenchCancelled)) throw e;
      break;
    }
    hooks.onProgress?.(report.rows.length, cases.length, report.rows[report.rows.length - 1], undefined);
  }
  return report;
}
