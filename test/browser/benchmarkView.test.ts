// The benchmark page completes a tiny run in headless Chromium: every kernel on every backend runs and
// agrees with the reference, the table and plot are drawn, exports are enabled, and cancel stops a run.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { expandGrid, QUICK_SETTINGS } from '../../kernels/bench/grid.js';
import { launchWebGpuChromium, runPageBenchmark, serveBenchmarkPage } from '../../cli/chromium.js';

let server: Server;
let origin: string;
let browser: Browser;
let page: Page;
const errors: string[] = [];

before(async () => {
  ({ server, origin } = await serveBenchmarkPage(process.cwd()));
  browser = await launchWebGpuChromium();
  page = await browser.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
});
after(async () => {
  await browser?.close();
  server?.close();
});

test('tiny run completes: every kernel on every backend is available here and agrees with the reference', async (t) => {
  // 2 heads as MHA and sharing one K/V head (grouped-query attention).
  const settings = { ...QUICK_SETTINGS, seqLens: [16, 40], heads: [2], queriesPerKv: [1, 2], warmup: 0, budgetMs: 0, minRuns: 2, maxRuns: 2 };
  const report = await runPageBenchmark(page, origin, settings, () => {}, 180_000);
  const name = (r: { kernel: string; backend: string; seqLen: number; heads: number; kvHeads: number }) => `${r.kernel}/${r.backend} H${r.heads}/${r.kvHeads} T${r.seqLen}`;
  t.diagnostic(`ran: ${report.rows.map((r) => `${name(r)} ${r.status} ${r.maxAbsDiff?.toExponential(1) ?? r.note}`).join('; ')}`);
  // Headless Chromium here has WebGPU (SwiftShader) and onnxruntime-web: nothing may be unavailable.
  assert.deepEqual(report.rows.map(name), expandGrid(settings).map(name));
  for (const r of report.rows) {
    assert.equal(r.status, 'ok', `${name(r)}: ${r.note}`);
    assert.ok(r.maxAbsDiff! <= r.tolerance, `${name(r)} has no agreement figure within ${r.tolerance}: ${r.maxAbsDiff}`);
  }
  const bodyRows = await page.locator('#results tbody tr').count();
  assert.equal(bodyRows, report.rows.length);
  assert.equal(await page.locator('[data-export="csv"]').isEnabled(), true);
  assert.ok((await page.locator('#adapter').textContent())?.includes('swiftshader'));
  mkdirSync('test-results', { recursive: true });
  await page.screenshot({ path: 'test-results/benchmark-view.png', fullPage: true });
  assert.deepEqual(errors, []);
});

test('cancel stops a run and keeps the rows finished so far', async () => {
  const settings = { ...QUICK_SETTINGS, kernels: ['ours' as const], backends: ['webgpu' as const], seqLens: [8, 16, 24, 32, 40, 48], heads: [1], queriesPerKv: [1], warmup: 0, budgetMs: 400, minRuns: 1, maxRuns: 1000 };
  await page.goto(`${origin}/?autorun=${encodeURIComponent(JSON.stringify(settings))}`);
  await page.locator('#cancel:not([disabled])').waitFor();
  await page.locator('#cancel').click();
  await page.waitForFunction(() => window.benchReport !== undefined, undefined, { timeout: 60_000 });
  const rows = await page.evaluate(() => window.benchReport!.rows.map((r) => r.status));
  // Every case of the grid has a row; those the cancel kept from running say so.
  assert.equal(rows.length, 6);
  const ran = rows.filter((s) => s !== 'cancelled').length;
  assert.ok(ran < 6, `cancel did not stop the run (${ran} of 6 rows ran)`);
  assert.deepEqual(rows.slice(ran), Array(6 - ran).fill('cancelled'), `rows after the cancel: ${rows.join(', ')}`);
  assert.match((await page.locator('#status').textContent()) ?? '', /Cancelled/);
});

test('settings that cannot run: the field at fault is marked and focused, the message names it, nothing runs', async () => {
  await page.goto(`${origin}/`);
  await page.locator('input[name="heads"]').fill('6');
  await page.locator('input[name="queriesPerKv"]').fill('1,4');
  await page.locator('#run').click();
  const status = page.locator('#status');
  assert.match((await status.textContent()) ?? '', /6 heads cannot share K\/V heads 4 at a time/);
  assert.equal(await page.locator('input[name="queriesPerKv"]').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'queriesPerKv');
  assert.equal(await page.locator('#results tbody tr').count(), 0, 'no row ran');
  // Typing a fix clears the mark; a bad number list names its own field.
  await page.locator('input[name="queriesPerKv"]').fill('1,2');
  assert.equal(await page.locator('input[name="queriesPerKv"]').getAttribute('aria-invalid'), null);
  await page.locator('input[name="seqLens"]').fill('64,x');
  await page.locator('#run').click();
  assert.match((await status.textContent()) ?? '', /Sequence lengths: expected positive integers/);
  assert.equal(await page.locator('input[name="seqLens"]').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator('input[name="queriesPerKv"]').getAttribute('aria-invalid'), null);
});
