// The panel's Rank heads card in headless Chromium on wasm (real onnxruntime-web), the embedded model on
// samples/repeated.md's repeated passage cut to T = 200: pressing Rank heads (from the keyboard) fills
// every cell of the layer × head table, and each cell's Δ mean loss equals the same ranking computed in
// Node (DecoderInspector.ablatedLosses, whose batched losses the PyTorch reference checks in
// test/unit/headAblation.test.ts). Prints the panel's wall time (the target is ≤ 10 s; not asserted).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as ort from 'onnxruntime-web';
import { rankHeads } from '../../kernels/inspect/headRanking.js';
import { DecoderInspector } from '../../kernels/runtime/decoderInspector.js';
import { loadModelFolderFromDisk } from '../../node/folderReader.js';
import type { PanelMessage, RunFacts } from '../../protocol/inspector.js';
import { REPO_ROOT } from '../support/paths.js';
import type { StaticServer } from '../support/staticServer.js';
import { saveScreenshot, type CollectingPage } from './harness.js';
import { EMBEDDED_MODEL, openInspectorPage, requestFor, send, waitForPost, type OpenInspectorPage } from './inspectorPage.js';

const T = 200;
const LOSS_TOLERANCE = 2e-4;
const isResult = (id: number) => (m: PanelMessage): m is { type: 'result'; requestId: number; facts: RunFacts } => m.type === 'result' && m.requestId === id;

let opened: OpenInspectorPage;
let server: StaticServer;
let page: CollectingPage;

before(async () => {
  opened = await openInspectorPage('wasm', { width: 1280, height: 1400 });
  ({ server, page } = opened);
});
after(() => opened?.close());

test('Rank heads fills the layer × head table with the Δ mean loss Node computes, progressively, on wasm at T = 200', { timeout: 400_000 }, async () => {
  const sample = readFileSync(join(REPO_ROOT, 'samples', 'repeated.md'), 'utf8');
  const passage = sample.slice(sample.indexOf('The quick'));
  const req = requestFor(server.origin, passage + passage, 1);
  req.tokens = req.tokens.slice(0, T);
  await send(page, req);
  await waitForPost(page, isResult(1), 200_000);
  const card = page.locator('#head-ranking');
  await card.waitFor();
  // The second copy of the passage as the range (tokens 70–138 as the README's figure), typed as a user would.
  await card.locator('input[aria-label^="First token"]').fill('70');
  await card.locator('input[aria-label^="Last token"]').fill('138');
  await card.locator('vscode-button', { hasText: 'Rank heads' }).focus();
  await page.keyboard.press('Enter');
  await card.locator('.rank-cell[data-delta]').first().waitFor({ timeout: 120_000 });
  const partial = await card.locator('.ranking-table').first().locator('.rank-cell[data-delta]').count();
  await page.waitForFunction(() => document.querySelector<HTMLElement>('#head-ranking')?.dataset.state === 'done', undefined, { timeout: 300_000 });
  const seconds = Number(await card.getAttribute('data-seconds'));
  const status = await card.locator('[role="status"]').textContent();
  console.log(`panel Rank heads, embedded model, T = ${T}, wasm in Chromium (1 thread): ${seconds.toFixed(1)} s for 32 heads; first cells seen with ${partial} of 32 filled; status: ${status}`);
  await saveScreenshot(page, 'head-ranking-wasm');

  const tables = card.locator('.ranking-table');
  assert.equal(await tables.count(), 2);
  const shown = async (t: number) =>
    tables.nth(t).locator('.rank-cell').evaluateAll((cells) => cells.map((c) => ({ layer: Number((c as HTMLElement).dataset.layer), head: Number((c as HTMLElement).dataset.head), delta: Number((c as HTMLElement).dataset.delta), label: c.getAttribute('aria-label') })));
  const whole = await shown(0);
  const range = await shown(1);
  assert.equal(whole.length, 32);
  assert.ok(whole.every((c) => Number.isFinite(c.delta) && /^Layer \d head \d: Δ mean loss [+−]\d\.\d{3} nats$/.test(c.label ?? '')), JSON.stringify(whole));
  // One tab stop per table; the arrow keys and End move the focus from cell to cell.
  const first = tables.nth(0).locator('.rank-cell[data-layer="0"][data-head="0"]');
  assert.equal(await tables.nth(0).locator('.rank-cell[tabindex="0"]').count(), 1);
  await first.focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), whole.find((c) => c.layer === 1 && c.head === 2)!.label);
  await page.keyboard.press('End');
  assert.equal(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.head), '7');
  assert.equal(await tables.nth(0).locator('.rank-cell[tabindex="0"]').count(), 1, 'the tab stop moved with the focus');

  ort.env.wasm.numThreads = 1;
  const model = await loadModelFolderFromDisk(join(REPO_ROOT, EMBEDDED_MODEL));
  const inspector = await DecoderInspector.create({ model, ort, executionProvider: 'wasm' });
  try {
    const ids = req.tokens.map((t) => t.id);
    const node = await rankHeads({ layers: 4, heads: 8, losses: (sets) => inspector.ablatedLosses(ids, sets, 'zero'), ranges: [{ start: 0, end: T }, { start: 70, end: 139 }], batch: 8 });
    let worst = 0;
    for (const [t, cells] of [whole, range].entries()) for (const c of cells) worst = Math.max(worst, Math.abs(c.delta - node.delta[t]![c.layer]![c.head]!));
    console.log(`panel vs Node ranking: max abs difference ${worst.toExponential(2)} nats`);
    assert.ok(worst <= LOSS_TOLERANCE, `panel vs Node: ${worst}`);
  } finally {
    await inspector.release();
  }
  assert.deepEqual(page.errors, []);
});
