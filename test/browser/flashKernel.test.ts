// Our WGSL flash attention in headless Chromium (WebGPU on SwiftShader), through the benchmark page:
// each row's output is checked in the page against the TS reference at awkward sizes.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { QUICK_SETTINGS } from '../../kernels/bench/grid.js';
import type { BenchSettings } from '../../kernels/bench/types.js';
import { launchWebGpuChromium, runPageBenchmark, serveBenchmarkPage } from '../../cli/chromium.js';

let server: Server;
let origin: string;
let browser: Browser;
let page: Page;

before(async () => {
  ({ server, origin } = await serveBenchmarkPage(process.cwd()));
  browser = await launchWebGpuChromium();
  page = await browser.newPage();
});
after(async () => {
  await browser?.close();
  server?.close();
});

const base: BenchSettings = { ...QUICK_SETTINGS, kernels: ['ours'], backends: ['webgpu'], precisions: ['fp32'], queriesPerKv: [1], warmup: 0, budgetMs: 0, minRuns: 1, maxRuns: 1 };
const cases: Partial<BenchSettings>[] = [
  { seqLens: [1, 45], heads: [1], batches: [2], headDim: 32, causal: true },
  { seqLens: [77], heads: [3], batches: [1], headDim: 64, causal: false },
  { seqLens: [33], heads: [2], batches: [1], headDim: 128, causal: true },
  { seqLens: [1000], heads: [1], batches: [1], headDim: 64, causal: true },
  { seqLens: [45], heads: [6], queriesPerKv: [3], batches: [2], headDim: 32, causal: true },
  { seqLens: [77], heads: [4], queriesPerKv: [4], batches: [1], headDim: 64, causal: false },
];

for (const c of cases) {
  test(`ours = reference in Chromium: T ${c.seqLens} dh ${c.headDim} H ${c.heads}${c.queriesPerKv ? ` (${c.queriesPerKv} per K/V head)` : ''} B ${c.batches} causal=${c.causal}`, async () => {
    const report = await runPageBenchmark(page, origin, { ...base, ...c }, () => {}, 120_000);
    assert.equal(report.adapter?.architecture, 'swiftshader');
    assert.equal(report.rows.length, c.seqLens!.length);
    for (const r of report.rows) {
      assert.equal(r.status, 'ok', r.note);
      assert.ok(r.maxAbsDiff! < 1e-5, `max |O - ref| = ${r.maxAbsDiff} at T=${r.seqLen}`);
    }
  });
}
