// "Ablate heads" in the panel, on wasm and on WebGPU (SwiftShader), with the embedded model and
// samples/repeated.md's repeated passage: heads 3.1, 3.2 and 2.2 are marked by Alt+click and by Space,
// run ablated (zero, then mean), and the panel's ablated loss (the hover summary it posts) is checked
// against `attention-inspector inspect --ablate` (itself checked against the PyTorch reference,
// test/unit/cliAblation.test.ts) ≤ 2e-4; its per-head change scores against the mean total-variation
// distance computed here from the CLI's clean and ablated attention.npy; Clear ablation returns to the
// clean view.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { HoverSummary, PanelMessage } from '../../protocol/inspector.js';
import { runCli } from '../support/cliRun.js';
import { readFloat32Npy } from '../support/npy.js';
import { REPO_ROOT } from '../support/paths.js';
import type { StaticServer } from '../support/staticServer.js';
import { assertAblationColours } from '../support/tokenChanges.js';
import { saveScreenshot, type ChromiumMode, type CollectingPage } from './harness.js';
import { openInspectorPage, posted, requestFor, send, waitForPost, type OpenInspectorPage } from './inspectorPage.js';

const sample = readFileSync(join(REPO_ROOT, 'samples', 'repeated.md'), 'utf8');
/** The two copies, from the first "The quick" to the end (README's induction demo). */
const PASSAGE = sample.slice(sample.indexOf('The quick'));
/** The second copy's tokens (README). */
const SECOND = { from: 70, to: 139 };
const HEADS = [
  { layer: 3, head: 1 },
  { layer: 3, head: 2 },
  { layer: 2, head: 2 },
];

interface CliTokens {
  tokens: { loss: number | null; top: { text: string }[] }[];
}

let dir: string;
const cli: Record<'clean' | 'zero' | 'mean', { tokens: CliTokens; attention: Float32Array }> = {} as never;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ai-panel-ablate-'));
  writeFileSync(join(dir, 'passage.txt'), PASSAGE);
  for (const run of ['clean', 'zero', 'mean'] as const) {
    const r = runCli(dir, 'inspect', '--text-file', 'passage.txt', '--out', run, ...(run === 'clean' ? [] : ['--ablate', '3.1,3.2,2.2', '--ablation', run]));
    assert.equal(r.status, 0, r.stderr);
    cli[run] = { tokens: JSON.parse(readFileSync(join(dir, run, 'tokens.json'), 'utf8')), attention: readFloat32Npy(join(dir, run, 'attention.npy')).data };
  }
});

const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const secondCopyMean = (loss: (i: number) => number) => meanOf(Array.from({ length: SECOND.to - SECOND.from }, (_, k) => loss(SECOND.from + k)));

/** Mean over query rows of ½·Σ|p − p′|, head h of layer l, from two (L, H, T, T) tensors. */
function changeScore(a: Float32Array, b: Float32Array, l: number, h: number, H: number, T: number): number {
  const at = (l * H + h) * T * T;
  let sum = 0;
  for (let i = 0; i < T * T; i++) sum += Math.abs(a[at + i]! - b[at + i]!);
  return sum / 2 / T;
}

const isSummary = (id: number) => (m: PanelMessage): m is { type: 'hoverSummary'; requestId: number; summary: HoverSummary } => m.type === 'hoverSummary' && m.requestId === id;

/** The last hover summary of request `id` that `pred` accepts. */
async function lastSummary(page: CollectingPage, id: number, pred: (s: HoverSummary) => boolean): Promise<HoverSummary> {
  const end = Date.now() + 120_000;
  for (;;) {
    const s = (await posted(page)).filter(isSummary(id)).map((m) => m.summary).reverse().find(pred);
    if (s) return s;
    if (Date.now() > end) throw new Error('no such hover summary');
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const mode of ['wasm', 'webgpu'] as ChromiumMode[]) {
  describe(`ablate heads in the panel (${mode})`, () => {
    let opened: OpenInspectorPage;
    let server: StaticServer;
    let page: CollectingPage;
    before(async () => {
      opened = await openInspectorPage(mode, { width: 1400, height: 1000 });
      ({ server, page } = opened);
    });
    after(() => opened?.close());

    test('marked heads run ablated: loss equals the CLI, change scores equal total variation of the CLI maps, clear returns to clean', { timeout: 400_000 }, async () => {
      await send(page, requestFor(server.origin, PASSAGE, 1));
      await waitForPost(page, (m): m is PanelMessage => m.type === 'result' && m.requestId === 1, 200_000);
      const T = cli.clean.tokens.tokens.length;
      assert.equal(T, 139);
      const cell = (l: number, h: number) => page.locator(`.cell[data-layer="${l}"][data-head="${h}"]`);

      // Alt+click marks 3.1; Space on the focused cell marks 3.2 (Enter still opens a head); Alt+click 2.2.
      await cell(3, 1).click({ modifiers: ['Alt'] });
      await cell(3, 1).focus();
      await page.keyboard.press('Enter');
      assert.match((await page.locator('#focus-title').textContent()) ?? '', /layer 3, head 1$/);
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('Space');
      assert.match((await page.locator('#focus-title').textContent()) ?? '', /layer 3, head 1$/, 'Space marks, it does not open the head');
      // End goes to the layer's average column, Home back to its first head (one tab stop moving with the focus).
      await page.keyboard.press('End');
      assert.deepEqual(await page.evaluate(() => [(document.activeElement as HTMLElement).dataset.head, document.querySelectorAll('.cell[tabindex="0"]').length]), ['-1', 1]);
      await page.keyboard.press('Home');
      assert.equal(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.head), '0');
      await cell(2, 2).click({ modifiers: ['Alt'] });
      assert.equal(await page.locator('.cell.marked').count(), 3);
      for (const { layer, head } of HEADS) assert.match((await cell(layer, head).getAttribute('aria-label')) ?? '', /marked for ablation/);
      assert.match((await page.locator('.ablate-marked').textContent()) ?? '', /L2H2, L3H1, L3H2/);

      const seen: Record<string, { before: number; after: number }> = {};
      for (const ablation of ['zero', 'mean'] as const) {
        await page.locator('.ablate vscode-dropdown').evaluate((d, v) => {
          (d as HTMLElement & { value: string }).value = v;
          d.dispatchEvent(new Event('change'));
        }, ablation);
        const before = Number((await page.locator('body').getAttribute('data-ablated')) ?? 0);
        await page.locator('.ablate vscode-button', { hasText: 'Run ablated' }).click();
        await page.waitForFunction((n) => Number(document.body.dataset.ablated ?? 0) > n, before, { timeout: 120_000 });
        const s = await lastSummary(page, 1, (x) => x.ablation?.mode === ablation);
        assert.deepEqual(s.ablation, { heads: ['2.2', '3.1', '3.2'], mode: ablation });
        const ref = cli[ablation].tokens.tokens;
        let worst = 0;
        for (let i = 1; i < T; i++) worst = Math.max(worst, Math.abs(s.tokens[i]!.ablated!.loss! - ref[i]!.loss!));
        assert.ok(worst <= 2e-4, `ablated loss max abs diff from the CLI ${worst}`);
        for (let i = 0; i < T; i++) assert.equal(s.tokens[i]!.ablated!.predictions[0]!.text, ref[i]!.top[0]!.text, `top guess after token ${i}`);
        seen[ablation] = { before: secondCopyMean((i) => s.tokens[i]!.loss!), after: secondCopyMean((i) => s.tokens[i]!.ablated!.loss!) };

        // Change scores: 0 up to the first ablated layer (2), the CLI maps' total variation after it.
        const H = 8;
        for (let l = 0; l < 4; l++)
          for (let h = 0; h < H; h++) {
            const label = (await cell(l, h).getAttribute('aria-label')) ?? '';
            const shown = Number(/attention changed by (\d\.\d{3})/.exec(label)?.[1]);
            const want = l <= 2 ? 0 : changeScore(cli.clean.attention, cli[ablation].attention, l, h, H, T);
            assert.ok(Math.abs(shown - want) <= 1e-3, `L${l}H${h}: change ${shown}, CLI maps ${want}`);
          }
        await assertAblationColours(page.locator('.token-strip'), 20);
        assert.match((await page.locator('#tokens .delta-legend').textContent()) ?? '', /Δloss \(nats\)−\d\.\d{3} loss fell\+\d\.\d{3} loss rose/);
        const note = (await page.locator('.token').nth(100).getAttribute('title')) ?? '';
        assert.match(note, new RegExp(`${ablation}-ablated: loss \\d+\\.\\d\\d → \\d+\\.\\d\\d nats`));
        assert.match((await page.locator('.ablated-mean').textContent()) ?? '', /mean loss \d\.\d{3} → \d\.\d{3} nats/);
        if (ablation === 'zero') await saveScreenshot(page, `ablate-heads-${mode}`);
      }
      // README's figures: the second copy's mean loss 2.60 → 5.46 (zero), 5.24 (mean).
      console.log(`${mode}: second copy mean loss ${seen.zero!.before.toFixed(4)} → zero ${seen.zero!.after.toFixed(4)}, mean ${seen.mean!.after.toFixed(4)}`);
      assert.equal(seen.zero!.before.toFixed(2), '2.60');
      assert.equal(seen.zero!.after.toFixed(2), '5.46');
      assert.equal(seen.mean!.after.toFixed(2), '5.24');

      const summaries = (await posted(page)).filter(isSummary(1)).length;
      await page.locator('.ablate vscode-button', { hasText: 'Clear ablation' }).click();
      assert.equal(await page.locator('.cell.marked').count(), 0);
      assert.equal(await page.locator('.cell .change').count(), 0);
      assert.equal(await page.locator('.token.changed').count(), 0);
      assert.equal(await page.locator('#tokens .delta-legend').count(), 0);
      const cleared = await lastSummary(page, 1, () => true);
      assert.ok((await posted(page)).filter(isSummary(1)).length > summaries);
      assert.equal(cleared.ablation, undefined);
      assert.deepEqual(page.errors, []);
    });
  });
}
