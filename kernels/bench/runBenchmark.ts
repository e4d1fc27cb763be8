/// <reference types="@webgpu/types" />
/**
 * Runs the grid: every case on the same inputs, timed by `measure` (or, with `interleave`, all kernels
 * of one shape in alternation), and every output checked against a reference computed once per shape
 * by the plain TS attention (float64 accumulation), which is none of the kernels it judges. A case that
 * disagrees is `failed` and carries no speed; when the reference itself cannot be computed, every case
 * of that shape is an `error` saying so, and none is run.
 */
import { gpuFacts } from '../flash/gpuFacts.js';
import { elementCount, kvElementCount, randomInputs, referenceAttentionRows, referenceRows, rowAgreement, type RowReference } from '../flash/reference.js';
import { tflops, tolerance } from './accounting.js';
import { expandGrid } from './grid.js';
import { measure, measureInterleaved } from './measure.js';
import { oursRunner } from './oursRunner.js';
import { tunedOursRunner, tunesTiles } from './tileTuning.js';
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

/** O on some query rows of the shape (all of them for small shapes: see referenceRows), and what it is. */
interface Reference extends RowReference {
  name: string;
}

function shapeKey(c: BenchCase): string {
  return `${c.batch}x${c.heads}x${c.kvHeads}x${c.seqLen}x${c.headDim}x${c.causal}`;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function makeRunner(env: BenchEnvironment, c: BenchCase, s: BenchSettings, inputs: AttentionInputs, ref: Reference, signal?: AbortSignal): Promise<KernelRunner> {
  if (c.kernel === 'ours') {
    if (!env.gpu) throw new KernelUnavailable('no WebGPU adapter');
    const { device } = env.gpu;
    if (c.precision === 'fp16' && !device.features.has('shader-f16')) throw new KernelUnavailable('adapter has no shader-f16');
    if (tunesTiles(s, device)) return tunedOursRunner(device, c, inputs, ref, s.timestamps, signal);
    return oursRunner(device, c, inputs, s.timestamps);
  }
  if (!env.ort) throw new KernelUnavailable('onnxruntime-web not loaded');
  if (c.backend === 'webgpu' && !env.gpu) throw new KernelUnavailable('no WebGPU adapter');
  return ortRunner(env.ort, c, inputs);
}

const REFERENCE_NAME = 'TS reference (fp64 accumulation)';

/** A shape's inputs and its reference output, or why they could not be computed. */
type ShapeData = { inputs: AttentionInputs; ref: Reference } | { failure: string };

function shapeData(c: BenchCase): ShapeData {
  try {
    const n = kvElementCount(c);
    const inputs = { q: randomInputs(elementCount(c), 1), k: randomInputs(n, 2), v: randomInputs(n, 3) };
    const rows = referenceRows(c);
    const all = rows.length === c.batch * c.heads * c.seqLen;
    const name = all ? REFERENCE_NAME : `${REFERENCE_NAME}, ${rows.length} of ${c.batch * c.heads * c.seqLen} query rows`;
    return { inputs, ref: { rows, o: referenceAttentionRows(inputs.q, inputs.k, inputs.v, c, rows), name } };
  } catch (e) {
    return { failure: `the ${REFERENCE_NAME} failed, so nothing of this shape was run or checked: ${errorText(e)}` };
  }
}

function emptyRow(c: BenchCase, reference = REFERENCE_NAME): BenchRow {
  return { ...c, status: 'ok', provider: '', runs: 0, outliers: 0, tolerance: tolerance(c.precision), reference };
}

function failRow(row: BenchRow, e: unknown): BenchRow {
  if (e instanceof BenchCancelled) throw e;
  row.status = e instanceof KernelUnavailable ? 'unavailable' : 'error';
  row.note = errorText(e);
  return row;
}

/** Fills in times and agreement; a disagreeing kernel is failed and gets no TFLOP/s. */
async function finishRow(row: BenchRow, runner: KernelRunner, times: number[], ref: Reference): Promise<BenchRow> {
  const sum = summarize(times);
  row.runs = times.length;
  Object.assign(row, sum);
  row.maxAbsDiff = rowAgreement(await runner.output(), ref, row.headDim);
  if (!(row.maxAbsDiff <= row.tolerance)) {
    row.status = 'failed';
    row.note = `disagrees with ${ref.name}: max |O − O_ref| = ${row.maxAbsDiff.toExponential(2)} > ${row.tolerance}`;
  } else {
    row.tflops = tflops(row, sum.medianMs);
  }
  return row;
}

async function prepare(env: BenchEnvironment, c: BenchCase, s: BenchSettings, inputs: AttentionInputs, ref: Reference, signal?: AbortSignal): Promise<{ row: BenchRow; runner?: KernelRunner }> {
  const row = emptyRow(c, ref.name);
  try {
    const runner = await makeRunner(env, c, s, inputs, ref, signal);
    Object.assign(row, { provider: runner.provider, timing: runner.timing, extraBytes: runner.extraBytes, tileTrials: runner.tileTrials });
    return { row, runner };
  } catch (e) {
    return { row: failRow(row, e) };
  }
}

async function runOne(env: BenchEnvironment, c: BenchCase, s: BenchSettings, inputs: AttentionInputs, ref: Reference, signal?: AbortSignal): Promise<BenchRow> {
  const { row, runner } = await prepare(env, c, s, inputs, ref, signal);
  if (!runner) return row;
  try {
    return await finishRow(row, runner, await measure(runner, s, signal), ref);
  } catch (e) {
    return failRow(row, e);
  } finally {
    await runner.dispose();
  }
}

/** All kernels of one shape prepared together and timed in alternation. */
async function runInterleaved(env: BenchEnvironment, cases: BenchCase[], s: BenchSettings, inputs: AttentionInputs, ref: Reference, signal?: AbortSignal): Promise<BenchRow[]> {
  const prepared = [];
  for (const c of cases) prepared.push(await prepare(env, c, s, inputs, ref, signal));
  const live = prepared.filter((p): p is { row: BenchRow; runner: KernelRunner } => p.runner !== undefined);
  try {
    const times = await measureInterleaved(live.map((p) => p.runner), s, signal);
    for (const [i, p] of live.entries()) {
      try {
        await finishRow(p.row, p.runner, times[i], ref);
      } catch (e) {
        failRow(p.row, e);
      }
    }
  } catch (e) {
    if (e instanceof BenchCancelled) throw e;
    for (const p of live) failRow(p.row, e);
  } finally {
    for (const p of live) await p.runner.dispose();
  }
  return prepared.map((p) => p.row);
}

export async function runBenchmark(settings: BenchSettings, env: BenchEnvironment, hooks: BenchHooks = {}): Promise<BenchReport> {
  const cases = expandGrid(settings);
  const report: BenchReport = {
    startedAt: new Date().toISOString(),
    settings,
    adapter: env.gpu ? gpuFacts(env.gpu.adapter, env.gpu.device) : undefined,
    environment: env.description,
    rows: [],
  };
  // Cases come ordered by shape; each shape gets fresh inputs and one reference.
  const groups: BenchCase[][] = [];
  for (const c of cases) {
    const last = groups[groups.length - 1];
    if (last && shapeKey(last[0]) === shapeKey(c)) last.push(c);
    else groups.push([c]);
  }
  try {
    for (const group of groups) {
      if (hooks.signal?.aborted) break;
      const c0 = group[0];
      hooks.onProgress?.(report.rows.length, cases.length, undefined, c0);
      const data = shapeData(c0);
      if ('failure' in data) {
        for (const c of group) {
          report.rows.push({ ...emptyRow(c), status: 'error', note: data.failure });
          hooks.onProgress?.(report.rows.length, cases.length, report.rows.at(-1), undefined);
        }
        continue;
      }
      const { inputs, ref } = data;
      if (settings.interleave) {
        for (const row of await runInterleaved(env, group, settings, inputs, ref, hooks.signal)) {
          report.rows.push(row);
          hooks.onProgress?.(report.rows.length, cases.length, row, undefined);
        }
        continue;
      }
      for (const c of group) {
        if (c !== c0) hooks.onProgress?.(report.rows.length, cases.length, undefined, c);
        const row = await runOne(env, c, settings, inputs, ref, hooks.signal);
        report.rows.push(row);
        hooks.onProgress?.(report.rows.length, cases.length, row, undefined);
      }
    }
  } catch (e) {
    if (!(e instanceof BenchCancelled)) throw e;
  }
  // Rows come in the grid's order, so those not reached are the rest of it: each says it was cancelled.
  if (hooks.signal?.aborted) {
    for (const c of cases.slice(report.rows.length)) report.rows.push({ ...emptyRow(c), status: 'cancelled', note: 'cancelled before it ran' });
  }
  return report;
}
