// The benchmark method without a browser: statistics, accounting, grid, export, a tiny run of `ours`
// on Dawn for Node in which every row carries an agreement figure, interleaved timing of `ours` and
// onnxruntime's `manual` (as the CLI loads it), grouped-query shapes (KV heads < heads) through all three
// kernels, and a reference that fails.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { attentionFlops, manualExtraBytes, scoreMatrixBytes } from '../../kernels/bench/accounting.js';
import { toCsv } from '../../kernels/bench/export.js';
import { expandGrid, parseNumberList, QUICK_SETTINGS, SettingsError } from '../../kernels/bench/grid.js';
import { runBenchmark } from '../../kernels/bench/runBenchmark.js';
import { summarize } from '../../kernels/bench/stats.js';
import { extraBytesCell, textTable, timeCell, trialsTable } from '../../kernels/bench/table.js';
import type { BenchCase, BenchRow } from '../../kernels/bench/types.js';
import { attentionGraphBuilder } from '../../kernels/bench/graphSource.js';
import { measureInterleaved } from '../../kernels/bench/measure.js';
import { loadNodeOrt } from '../../node/dawnOrt.js';
import { ortRunner, type OrtEnvironment } from '../../kernels/bench/ortRunner.js';
import { oursRunner } from '../../kernels/bench/oursRunner.js';
import type { KernelRunner } from '../../kernels/bench/runner.js';
import { randomInputs, referenceAttention } from '../../kernels/flash/reference.js';
import { deviceFacts, requestKernelDevice } from '../../kernels/flash/gpuFacts.js';
import { fittingTiles, tilesLabel } from '../../kernels/flash/tiles.js';
import { nodeGpuAdapter } from '../../node/dawnGpu.js';
import { parseBenchArgs } from '../../cli/bench.js';

// One device for the file: Dawn for Node aborts at exit when several were made and destroyed.
let gpu: { adapter: GPUAdapter; device: GPUDevice };
before(async () => {
  const adapter = await nodeGpuAdapter();
  gpu = { adapter, device: await requestKernelDevice(adapter) };
});

/** onnxruntime-web as the CLI loads it in Node (its own WebGPU device, and wasm), loaded once. */
let ortEnv: Promise<OrtEnvironment> | undefined;
const nodeOrt = () => (ortEnv ??= loadNodeOrt(gpu.adapter).then(({ ort, provider }) => ({ ort, webgpuProvider: provider, buildGraph: attentionGraphBuilder! })));

test('summary: median, spread and outliers', () => {
  const s = summarize([10, 11, 9, 10, 10, 50]);
  assert.equal(s.medianMs, 10);
  assert.equal(s.minMs, 9);
  assert.equal(s.maxMs, 50);
  assert.equal(s.outliers, 1);
  assert.throws(() => summarize([]), RangeError);
});

test('FLOPs are 4·B·H·T²·dh, halved for causal; manual holds a (B,H,T,T) matrix', () => {
  const c = { batch: 2, heads: 3, seqLen: 10, headDim: 8, causal: false };
  assert.equal(attentionFlops(c), 4 * 2 * 3 * 100 * 8);
  assert.equal(attentionFlops({ ...c, causal: true }), 2 * 2 * 3 * 100 * 8);
  assert.equal(scoreMatrixBytes({ ...c, precision: 'fp16' }), 2 * 3 * 100 * 2);
  // Grouped: the FLOPs are those of H heads; manual also holds K and V repeated to H heads.
  assert.equal(attentionFlops({ ...c, heads: 4 }), attentionFlops({ ...c, heads: 4, kvHeads: 1 } as typeof c));
  assert.equal(manualExtraBytes({ ...c, heads: 4, kvHeads: 1, precision: 'fp32' }), 2 * 4 * 100 * 4 + 2 * 2 * 4 * 10 * 8 * 4);
  assert.equal(manualExtraBytes({ ...c, kvHeads: 3, precision: 'fp32' }), scoreMatrixBytes({ ...c, precision: 'fp32' }));
});

test('grid: ours only on WebGPU, each head count as MHA and grouped, lists parsed strictly', () => {
  const cases = expandGrid({ ...QUICK_SETTINGS, seqLens: [4], kernels: ['ours', 'manual'] });
  assert.deepEqual(cases.map((c) => `${c.kernel}/${c.backend} ${c.heads}/${c.kvHeads}`), ['ours/webgpu 8/8', 'manual/webgpu 8/8', 'manual/wasm 8/8', 'ours/webgpu 8/2', 'manual/webgpu 8/2', 'manual/wasm 8/2']);
  assert.throws(() => expandGrid({ ...QUICK_SETTINGS, heads: [6] }), /6 heads cannot share K\/V heads 4 at a time/);
  assert.deepEqual(parseBenchArgs(['--heads', '9,12', '--q-per-kv', '1,3']).settings.queriesPerKv, [1, 3]);
  assert.throws(() => parseBenchArgs(['--heads', '8', '--q-per-kv', '3']), SettingsError);
  assert.throws(() => parseNumberList('12,x', '--T'), SettingsError);
  const a = parseBenchArgs(['--kernels', 'ours', '--T', '1,7', '--heads', '4', '--no-causal', '--json', 'x.json']);
  assert.deepEqual([a.settings.kernels, a.settings.seqLens, a.settings.heads, a.settings.causal, a.json], [['ours'], [1, 7], [4], false, 'x.json']);
  assert.throws(() => parseBenchArgs(['--kernels', 'fast']), SettingsError);
});

test('a failed row never shows a time', () => {
  const row = { status: 'failed', medianMs: 0.001 } as BenchRow;
  assert.equal(timeCell(row), 'FAILED');
});

test('extra bytes: manual a lower bound, ours none, ort-fused not reported', () => {
  const row = (kernel: string, extraBytes?: number) => ({ kernel, extraBytes }) as BenchRow;
  assert.equal(extraBytesCell(row('manual', 2 * 1024 * 1024)), '≥ 2.0 MiB');
  assert.equal(extraBytesCell(row('ours', 0)), '0');
  assert.equal(extraBytesCell(row('ort-fused')), 'not reported');
});

test('tiny run of ours on Dawn: every row has an agreement figure, CSV has every row', async () => {
  const settings = { ...QUICK_SETTINGS, kernels: ['ours' as const], backends: ['webgpu' as const], seqLens: [1, 33], heads: [2], queriesPerKv: [1], warmup: 0, budgetMs: 0, minRuns: 2, maxRuns: 2 };
  const progress: number[] = [];
  const report = await runBenchmark(settings, { gpu, description: 'test' }, { onProgress: (done) => progress.push(done) });
  assert.equal(report.rows.length, 2);
  for (const r of report.rows) {
    assert.equal(r.status, 'ok', r.note);
    assert.ok(r.maxAbsDiff !== undefined && r.maxAbsDiff < 1e-5);
    assert.equal(r.runs, 2);
    assert.equal(r.extraBytes, 0);
  }
  assert.equal(report.adapter?.architecture !== undefined, true);
  assert.equal(toCsv(report).trim().split('\n').length, 3);
  assert.ok(progress.includes(2));
});

test('interleaved timing: ours and manual of one shape alternate run by run, each gets its runs and agrees with the reference', async () => {
  const settings = { ...QUICK_SETTINGS, kernels: ['ours' as const, 'manual' as const], backends: ['webgpu' as const, 'wasm' as const], seqLens: [5], heads: [1], queriesPerKv: [1], warmup: 1, budgetMs: 0, minRuns: 3, maxRuns: 3, interleave: true };
  const report = await runBenchmark(settings, { gpu, ort: await nodeOrt(), description: 'test' });
  assert.deepEqual(report.rows.map((r) => [r.kernel, r.backend, r.status, r.runs]), [['ours', 'webgpu', 'ok', 3], ['manual', 'webgpu', 'ok', 3], ['manual', 'wasm', 'ok', 3]], JSON.stringify(report.rows.map((r) => r.note)));
  for (const r of report.rows) {
    assert.ok(r.maxAbsDiff! <= r.tolerance, `${r.kernel}/${r.backend}: ${r.maxAbsDiff}`);
    assert.ok(r.maxAbsDiff! > 0, `${r.kernel}/${r.backend} agrees to the last bit: is it compared with itself?`);
  }
  // The order the runners were called in, observed on the real runners measureInterleaved is given.
  const c = expandGrid(settings);
  const inputs = { q: randomInputs(5 * 64, 1), k: randomInputs(5 * 64, 2), v: randomInputs(5 * 64, 3) };
  const calls: string[] = [];
  const observed = (name: string, r: KernelRunner): KernelRunner => ({ ...r, run: () => (calls.push(name), r.run()) });
  const ours = await oursRunner(gpu.device, c[0], inputs);
  const manual = await ortRunner(await nodeOrt(), c[2], inputs);
  const times = await measureInterleaved([observed('ours', ours), observed('manual', manual)], settings);
  await Promise.all([ours.dispose(), manual.dispose()]);
  assert.deepEqual(calls, ['ours', 'manual', 'ours', 'manual', 'ours', 'manual', 'ours', 'manual'], 'one warm-up each, then one run of each per round');
  assert.deepEqual(times.map((t) => t.length), [3, 3]);
});

for (const causal of [true, false]) {
  test(`grouped-query shapes (${causal ? 'causal' : 'full'}): ours, manual and ort-fused on WebGPU and wasm, 6 heads over 3, 2 and 1 K/V heads and as MHA, each agreeing with the reference`, async () => {
    const settings = { ...QUICK_SETTINGS, seqLens: [19], heads: [6], queriesPerKv: [1, 2, 3, 6], headDim: 16, causal, warmup: 0, budgetMs: 0, minRuns: 1, maxRuns: 1 };
    const report = await runBenchmark(settings, { gpu, ort: await nodeOrt(), description: 'test' });
    const name = (r: BenchCase) => `${r.kernel}/${r.backend} ${r.heads}/${r.kvHeads}`;
    assert.deepEqual(report.rows.map(name), expandGrid(settings).map(name));
    assert.equal(report.rows.length, 4 * 5);
    for (const r of report.rows) {
      assert.equal(r.status, 'ok', `${name(r)}: ${r.note}`);
      assert.ok(r.maxAbsDiff! <= r.tolerance && r.maxAbsDiff! > 0, `${name(r)}: max |ΔO| ${r.maxAbsDiff}`);
      if (r.kvHeads < r.heads && r.kernel !== 'ours') assert.match(r.provider, causal && r.kernel === 'ort-fused' ? /GroupQueryAttention on the K\/V heads/ : /K\/V repeated to H heads/);
    }
    console.log(`GQA ${causal ? 'causal' : 'full'}: ${report.rows.map((r) => `${name(r)} ${r.maxAbsDiff!.toExponential(1)}`).join(', ')}`);
    // The reference's grouping is what matters most: query head h must read K/V head ⌊h / (H/KV)⌋, not h mod KV.
    // Grouped inputs against the same K/V repeated by hand to 6 heads (the MHA reference on them).
    const shape = { batch: 2, heads: 6, kvHeads: 2, seqLen: 7, headDim: 4, causal };
    const q = randomInputs(2 * 6 * 7 * 4, 5);
    const [k, v] = [6, 7].map((seed) => randomInputs(2 * 2 * 7 * 4, seed));
    const repeat = (x: Float32Array) => {
      const out = new Float32Array(2 * 6 * 7 * 4);
      for (let b = 0; b < 2; b++) for (let h = 0; h < 6; h++) out.set(x.subarray((b * 2 + Math.floor(h / 3)) * 28, (b * 2 + Math.floor(h / 3) + 1) * 28), (b * 6 + h) * 28);
      return out;
    };
    assert.deepEqual(referenceAttention(q, k, v, shape), referenceAttention(q, repeat(k), repeat(v), { ...shape, kvHeads: undefined }));
  });
}

test('a reference that cannot be computed is reported on every row of its shape, and nothing of it runs', async () => {
  // 2^36 elements: more than a typed array can hold, so the inputs and the reference cannot exist.
  const settings = { ...QUICK_SETTINGS, kernels: ['ours' as const], backends: ['webgpu' as const], seqLens: [2 ** 20], heads: [1024], queriesPerKv: [1], warmup: 0, budgetMs: 0, minRuns: 1, maxRuns: 1 };
  const report = await runBenchmark(settings, { gpu, description: 'test' });
  assert.equal(report.rows.length, 1);
  const [row] = report.rows;
  assert.equal(row.status, 'error');
  assert.match(row.note!, /^the TS reference \(fp64 accumulation\) failed, so nothing of this shape was run or checked: /);
  assert.equal(row.runs, 0);
  assert.equal(row.maxAbsDiff, undefined);
  assert.match(textTable(report), /ERROR .*the TS reference \(fp64 accumulation\) failed/);
});

test('tuned ours: every fitting tile configuration timed and checked, the fastest agreeing one benchmarked', async () => {
  const settings = { ...QUICK_SETTINGS, kernels: ['ours' as const], backends: ['webgpu' as const], seqLens: [40], heads: [1], queriesPerKv: [1], headDim: 32, warmup: 0, budgetMs: 0, minRuns: 1, maxRuns: 1 };
  const tuned = await runBenchmark({ ...settings, tileChoice: 'tune' }, { gpu, description: 'test' });
  const [row] = tuned.rows;
  assert.equal(row.status, 'ok', row.note);
  const fitting = fittingTiles(32, deviceFacts(gpu.device));
  assert.deepEqual(row.tileTrials?.map((t) => t.tiles), fitting.map(tilesLabel));
  for (const t of row.tileTrials!) assert.ok(t.note === undefined && t.maxAbsDiff! < 1e-5 && t.medianMs! > 0, JSON.stringify(t));
  const fastest = Math.min(...row.tileTrials!.map((t) => t.medianMs!));
  const chosen = row.tileTrials!.find((t) => t.medianMs === fastest)!;
  assert.equal(row.provider, `WGSL flash ${chosen.tiles} (fastest of ${fitting.length} tried)`);
  assert.match(trialsTable(row.tileTrials!).split('\n')[1], new RegExp(`^  ${chosen.tiles.replace(/[()]/g, '\\$&')}`));
  // auto on a CPU fallback adapter: no tuning, the first fitting configuration.
  const auto = await runBenchmark(settings, { gpu, description: 'test' });
  assert.equal(auto.rows[0].tileTrials, undefined);
  assert.equal(auto.rows[0].provider, `WGSL flash ${tilesLabel(fitting[0])}`);
  assert.equal(parseBenchArgs(['--tiles', 'first-fit']).settings.tileChoice, 'first-fit');
  assert.throws(() => parseBenchArgs(['--tiles', 'tune,auto']), SettingsError);
});

test('cancel stops the run; the rows not run say they were cancelled', async () => {
  const controller = new AbortController();
  controller.abort();
  const report = await runBenchmark({ ...QUICK_SETTINGS, kernels: ['ours'], backends: ['webgpu'], seqLens: [8] }, { gpu, description: 'test' }, { signal: controller.signal });
  assert.ok(report.rows.length > 0);
  for (const r of report.rows) assert.deepEqual([r.status, r.note, r.medianMs], ['cancelled', 'cancelled before it ran', undefined]);
});
