// The inspector panel page in headless Chromium, on WebGPU (SwiftShader) and on wasm: it runs the
// embedded model, and the heatmap it draws matches the independent PyTorch reference
// (test/fixtures/inspector/sample.json): each confident row's brightest pixel is the reference's
// strongest key, and colours decode back to the reference weights. Also: badge, loss, hover summary,
// keyboard, a second inspection reusing the page, cancel, and the empty-selection message.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { HoverSummary, PanelMessage, RunFacts } from '../../protocol/inspector.js';
import { REPO_ROOT } from '../support/paths.js';
import type { StaticServer } from '../support/staticServer.js';
import { saveScreenshot, type ChromiumMode, type CollectingPage } from './harness.js';
import { canvasPixels, embeddedTokenizer, openInspectorPage, posted, requestFor, send, sendAll, waitForPost, type OpenInspectorPage } from './inspectorPage.js';

interface FixtureHead {
  layer: number;
  head: number;
  argmax: number[];
  max: number[];
  margin: number[];
}
const fixture = JSON.parse(readFileSync(join(REPO_ROOT, 'test/fixtures/inspector/sample.json'), 'utf8')) as { text: string; ids: number[]; loss: (number | null)[]; heads: FixtureHead[] };

const isResult = (id: number) => (m: PanelMessage): m is { type: 'result'; requestId: number; facts: RunFacts } => m.type === 'result' && m.requestId === id;
const isSummary = (id: number) => (m: PanelMessage): m is { type: 'hoverSummary'; requestId: number; summary: HoverSummary } => m.type === 'hoverSummary' && m.requestId === id;

/**
 * Decodes heatmap pixels back to weights through the legend bar (the same colour table, 0 → 1), one per
 * cell (each cell is a whole number of device pixels: read at its centre).
 */
async function decodedWeights(page: CollectingPage, T: number): Promise<{ cell: number; w: Float64Array }> {
  const legend = await canvasPixels(page, '.legend-bar');
  const ramp = Array.from({ length: legend.width }, (_, x) => legend.data.slice(x * 4, x * 4 + 3));
  const img = await canvasPixels(page, '.big-heatmap canvas.image');
  assert.equal(img.width % T, 0, `${img.width} pixels for ${T} cells`);
  const cell = img.width / T;
  const w = new Float64Array(T * T);
  for (let p = 0; p < w.length; p++) {
    const at = ((Math.floor(p / T) * cell + (cell >> 1)) * img.width + (p % T) * cell + (cell >> 1)) * 4;
    const px = img.data.slice(at, at + 3);
    let best = 0;
    let bestD = Infinity;
    ramp.forEach((c, x) => {
      const d = (c[0]! - px[0]!) ** 2 + (c[1]! - px[1]!) ** 2 + (c[2]! - px[2]!) ** 2;
      if (d < bestD) [best, bestD] = [x, d];
    });
    w[p] = best / (legend.width - 1);
  }
  return { cell, w };
}

for (const mode of ['webgpu', 'wasm'] as ChromiumMode[]) {
  describe(`inspector panel on ${mode}`, () => {
    let opened: OpenInspectorPage;
    let server: StaticServer;
    let page: CollectingPage;

    before(async () => {
      opened = await openInspectorPage(mode);
      ({ server, page } = opened);
    });
    after(() => opened?.close());

    test('runs the embedded model and draws the reference attention', { timeout: 240_000 }, async () => {
      assert.deepEqual(embeddedTokenizer().encode(fixture.text).map((t) => t.id), fixture.ids, 'host tokenizer = reference BPE');
      await send(page, requestFor(server.origin, fixture.text, 1));
      const { facts } = await waitForPost(page, isResult(1), 200_000);
      assert.equal(facts.provider, mode === 'webgpu' ? 'webgpu' : 'wasm');
      assert.equal(facts.tokens, fixture.ids.length);
      const badge = await page.locator('.badge.provider').textContent();
      assert.match(badge ?? '', mode === 'webgpu' ? /^WebGPU · .*swiftshader/i : /^wasm · CPU/);
      assert.ok(Number(await page.locator('body').getAttribute('data-first-heatmap-ms')) > 0);

      // Choose the head whose rows are most often confidently peaked in the reference, through the grid.
      const head = [...fixture.heads].sort((a, b) => b.margin.filter((m) => m > 0.1).length - a.margin.filter((m) => m > 0.1).length)[0]!;
      await page.locator(`.cell[data-layer="${head.layer}"][data-head="${head.head}"]`).click();
      assert.match((await page.locator('#focus-title').textContent()) ?? '', new RegExp(`layer ${head.layer}, head ${head.head}$`));
      const T = fixture.ids.length;
      const { cell, w } = await decodedWeights(page, T);
      assert.ok(cell >= 1);
      let checked = 0;
      for (let i = 0; i < T; i++) {
        const row = w.subarray(i * T, (i + 1) * T);
        assert.ok(Math.abs(row[head.argmax[i]!]! - head.max[i]!) <= 0.02, `row ${i}: drawn ${row[head.argmax[i]!]} vs reference ${head.max[i]}`);
        for (let j = i + 1; j < T; j++) assert.equal(row[j], 0, `row ${i} key ${j} lies above the diagonal and must be empty`);
        if (head.margin[i]! > 0.05) {
          const brightest = row.indexOf(Math.max(...row));
          assert.equal(brightest, head.argmax[i], `row ${i}: brightest pixel at key ${brightest}, reference ${head.argmax[i]}`);
          checked++;
        }
      }
      assert.ok(checked >= 10, `only ${checked} confident rows`);

      const { summary } = await waitForPost(page, isSummary(1));
      assert.equal(summary.tokens.length, T);
      for (let i = 1; i < T; i++) {
        const ref = fixture.loss[i - 1]!;
        assert.ok(Math.abs(summary.tokens[i]!.loss! - ref) < 2e-3, `loss of token ${i}: ${summary.tokens[i]!.loss} vs ${ref}`);
      }
      assert.equal(summary.tokens[0]!.loss, undefined);
      await saveScreenshot(page, `inspector-${mode}`);
      assert.deepEqual(page.errors, []);
    });

    test('keyboard reads out cells and pins rows; tokens pin too', async () => {
      await page.locator('.big-heatmap .overlay').focus();
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      assert.match((await page.locator('.readout').textContent()) ?? '', /^query “.*” #2 → key “.*” #0: \d\.\d{4}$/);
      await page.keyboard.press('Enter');
      assert.match((await page.locator('.pin-info h3').textContent()) ?? '', /^Query .* #2 attends to$/);
      await page.keyboard.press('Escape');
      await page.locator('.token').nth(5).click({ modifiers: ['Shift'] });
      assert.match((await page.locator('.pin-info h3').textContent()) ?? '', /^Key .* #5 is attended by$/);
      assert.equal(await page.locator('.token.pinned').count(), 1);
    });

    test('shape trace and ablations show the real sizes and what changes', { timeout: 120_000 }, async () => {
      const T = fixture.ids.length;
      const trace = (await page.locator('.trace-table').textContent()) ?? '';
      assert.ok(trace.includes(`(B=1, T=${T}, D=256)`) && trace.includes(`(B=1, T=${T}, H=8, dh=32)`) && trace.includes(`(B=1, H=8, T=${T}, T=${T})`), trace);
      assert.match(trace, /row sums 1\.0000\d\d … 1\.0000\d\d|row sums 0\.9999\d\d/);
      assert.ok(((await page.locator('.equivalence').textContent()) ?? '').includes('197,376'));
      await page.locator('.ablation-table').waitFor({ timeout: 100_000 });
      const mean = await page.locator('.ablation-table tr.mean td').allTextContents();
      const [base, noScale, noMask, future] = mean.map(Number);
      assert.ok(noScale! < base!, `no 1/√dh sharpens rows: ${noScale} < ${base}`);
      assert.ok(noMask! > base! && future! > 0.05, `no mask spreads weight onto the future: ${noMask}, ${future}`);

      // The average-of-heads view: trace matrices and ablation figures show the mean over heads, not one head.
      const layer = await page.locator('.cell[aria-selected="true"]').getAttribute('data-layer');
      await page.locator(`.cell[data-layer="${layer}"][data-head="-1"]`).click();
      assert.equal(await page.locator('div.trace .trace-matrices').getAttribute('aria-label'), `Layer ${layer}, mean of the 8 heads`);
      // The ablation maps of another choice are derived when chosen (the stats of every head are kept).
      await page.locator('.ablation-table tr.mean.chosen').waitFor({ timeout: 30_000 });
      const captions = await page.locator('.ablations figcaption').allTextContents();
      assert.equal(captions.length, 3);
      captions.forEach((c, k) => assert.match(c, /mean of heads · \d\.\d+ nats \(mean\)$/, `ablation figure ${k}: ${c}`));
    });

    test('a new inspection supersedes the one in flight and reuses the page; empty text gets a message', { timeout: 200_000 }, async () => {
      const before = (await posted(page)).length;
      // All three in one task, as the host would post them back to back.
      await sendAll(page, [requestFor(server.origin, 'let x = 1;\nlet y = x + x;\n', 2), { type: 'cancel', requestId: 2 }, requestFor(server.origin, 'print("hello")', 3)]);
      await waitForPost(page, isResult(3), 150_000);
      const later = (await posted(page)).slice(before);
      assert.ok(!later.some((m) => m.type === 'result' && m.requestId === 2), 'the cancelled inspection posts no result');
      assert.equal(await page.locator('.token').count(), embeddedTokenizer().encode('print("hello")').length);
      await send(page, { type: 'message', requestId: 4, kind: 'empty', text: 'The current line is empty: nothing to inspect.' });
      await page.locator('.message.empty').waitFor();
      assert.equal(await page.locator('.body').isHidden(), true);
      assert.deepEqual(page.errors, []);
    });

    test('a head chosen while the ablations are being derived gets its ablation maps', { timeout: 200_000 }, async () => {
      // The click lands in the task after the result is posted, when the ablations of the head chosen before are under way.
      await page.evaluate(() => {
        const posted = (window as unknown as { __posted: { kind: string; message?: { type: string; requestId: number } }[] }).__posted;
        const push = posted.push.bind(posted);
        posted.push = (...es) => {
          if (es.some((e) => e.message?.type === 'result' && e.message.requestId === 5)) setTimeout(() => document.querySelector<HTMLElement>('.cell[data-layer="0"][data-head="3"]')!.click());
          return push(...es);
        };
      });
      await send(page, requestFor(server.origin, fixture.text, 5));
      await waitForPost(page, isResult(5), 150_000);
      await page.locator('.ablation-table tr.chosen th', { hasText: 'H3' }).waitFor({ timeout: 30_000 });
      const captions = await page.locator('.ablations figcaption').allTextContents();
      assert.equal(captions.length, 3);
      captions.forEach((c, k) => assert.match(c, /L0 H3 · \d\.\d+ nats$/, `ablation figure ${k}: ${c}`));
      // Its map as trained is the softmax the model ran for that head (the trace card's figure), pixel for pixel.
      const asTrained = await canvasPixels(page, '.ablations .trace-matrices figure:nth-child(1) canvas');
      const traced = await canvasPixels(page, 'div.trace .trace-matrices figure:nth-child(3) canvas');
      assert.deepEqual(asTrained, traced);
      assert.deepEqual(page.errors, []);
    });
  });
}

describe('inspector panel at T = 1024 (wasm)', () => {
  test('draws the full context without a DOM element per cell', { timeout: 300_000 }, async () => {
    const { server, page, close } = await openInspectorPage('wasm');
    try {
      const line = 'for (let i = 0; i < n; i++) { total += values[i] * weights[i]; }\n';
      const text = line.repeat(80);
      const req = requestFor(server.origin, text, 1);
      req.tokens = req.tokens.slice(0, 1024);
      assert.equal(req.tokens.length, 1024);
      await send(page, req);
      const { facts } = await waitForPost(page, isResult(1), 280_000);
      assert.equal(facts.tokens, 1024);
      const img = await page.evaluate(() => {
        const c = document.querySelector<HTMLCanvasElement>('.big-heatmap canvas.image')!;
        const css = c.getBoundingClientRect().width * devicePixelRatio;
        return { w: c.width, css, thumbs: [...document.querySelectorAll<HTMLCanvasElement>('canvas.thumb')].map((t) => t.width), elements: document.querySelectorAll('*').length };
      });
      assert.equal(img.w % 1024, 0, `big heatmap at one or more device pixels per cell, got ${img.w}`);
      assert.ok(Math.abs(img.css - img.w) < 0.5, `drawn unscaled: ${img.css} device pixels on screen for a ${img.w}-pixel canvas`);
      assert.ok(img.thumbs.every((w) => w === 64), 'thumbnails are downsampled');
      assert.ok(img.elements < 20_000, `${img.elements} elements on the page`);
      writeFileSync(join(REPO_ROOT, 'test-results', 'browser', 'inspector-t1024-facts.json'), JSON.stringify(facts, null, 1));
      await saveScreenshot(page, 'inspector-wasm-t1024');
      assert.deepEqual(page.errors, []);
    } finally {
      await close();
    }
  });
});
