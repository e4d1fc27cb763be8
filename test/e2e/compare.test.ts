// Compare two selections as a user does, in a real VS Code (code-server): inspect a clean prompt, Pin it;
// a longer passage is shown side by side; a corrupted prompt of the same token count (one name changed)
// turns the head grid and the chosen head's map into pinned − current, the token strip into each token's
// Δloss. The exported difference equals the CLI's attention.npy of the two texts subtracted, the exported
// Δloss the CLI's losses subtracted. Unpin (a palette command) ends the comparison.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import { REPO_ROOT } from '../../scripts/vscodeServer.js';
import { readFloat32Npy } from '../support/npy.js';
import { e2eTest, RESULTS, UI_TIMEOUT, Workbench } from './harness.js';

/** Inspections load the model and ORT's wasm on first use: several times a UI step on a cold machine. */
const INSPECT_TIMEOUT = 240_000;
/**
 * samples/compare.md: first lines of the clean prompt, the corrupted one (24 tokens each), a longer one
 * (two lines each, short enough that the editor never scrolls sideways, where the harness's click misses).
 */
const CLEAN_LINE = 9;
const CORRUPTED_LINE = 12;
const LONGER_LINE = 15;
const TOKENS = 24;

let wb: Workbench | undefined;

before(async () => {
  wb = await Workbench.start('compare');
});
after(async () => {
  await wb?.close();
});

async function inspectLine(line: number, n: number): Promise<FrameLocator> {
  await wb!.page.mouse.move(1, 1);
  await wb!.page.keyboard.press('Escape');
  await wb!.quickOpen('compare.md');
  await wb!.selectLines(line, line + 1);
  await wb!.runCommand('Inspect Attention');
  const panel = await wb!.webview('Attention Inspector');
  await panel.locator(`body[data-inspected="${n}"]`).waitFor({ timeout: INSPECT_TIMEOUT });
  return panel;
}

/** Runs `attention-inspector inspect` on `text`; returns its output folder. */
function cli(name: string, text: string): string {
  const dir = join(RESULTS, 'compare-cli', name);
  mkdirSync(dir, { recursive: true });
  const textFile = join(dir, 'selection.txt');
  writeFileSync(textFile, text);
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'cli.js'), 'inspect', '--text-file', textFile, '--out', join(dir, 'out')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return join(dir, 'out');
}

/** Clicks an export button of the panel and takes the save dialog's default place (the workspace); returns the file. */
async function exportFile(panel: FrameLocator, title: string, fileName: string): Promise<string> {
  const path = join(wb!.workspace, fileName);
  rmSync(path, { force: true });
  await panel.getByTitle(title).click();
  const input = wb!.page.locator('.quick-input-widget input');
  await input.waitFor();
  await wb!.page.waitForFunction((p) => document.querySelector<HTMLInputElement>('.quick-input-widget input')?.value === p, path, { timeout: UI_TIMEOUT });
  await wb!.page.locator('.quick-input-widget .monaco-button', { hasText: 'OK' }).click();
  await panel.locator('.status', { hasText: `Saved ${path}` }).waitFor();
  assert.ok(existsSync(path), `the export did not write ${path}`);
  return path;
}

e2eTest('pin a clean prompt, inspect a longer one: the two grids side by side', () => wb, async () => {
  let panel = await inspectLine(CLEAN_LINE, 1);
  await panel.locator('.pin-inspection').click();
  const card = panel.locator('#comparison');
  await card.locator('.mode', { hasText: 'Pinned. Select another passage' }).waitFor();
  assert.match(await card.locator('.who').innerText(), new RegExp(`compare\\.md · lines 9–10 · .* · T = ${TOKENS}`));

  panel = await inspectLine(LONGER_LINE, 2);
  await card.locator('.mode', { hasText: new RegExp(`^Different lengths \\(pinned ${TOKENS} tokens, current \\d+\\): side by side`) }).waitFor();
  await panel.locator('#pinned-grid').waitFor();
  assert.equal(await panel.locator('#pinned-grid canvas.thumb').count(), 4 * 9);
  assert.equal(await panel.locator('#grid canvas.thumb').count(), 4 * 9);
  assert.match(await panel.locator('#pinned-grid h2').innerText(), /^Pinned — compare\.md · lines 9–10/);
  assert.match(await panel.locator('#grid h2').innerText(), /^Current — compare\.md · lines 15–16/);
  assert.equal(await panel.locator('.token-strip .token.changed').count(), 0);
  assert.match(await panel.locator('#focus h2').innerText(), /^Chosen head — /);
  await wb!.screenshot('compare-side-by-side');
});

e2eTest('then the corrupted prompt (the same length): difference maps and Δloss equal the CLI’s subtracted; Unpin Inspection ends it', () => wb, async (t) => {
  const lines = wb!.fileText().split('\n');
  const panel = await inspectLine(CORRUPTED_LINE, 3);
  const card = panel.locator('#comparison');
  await card.locator('.mode', { hasText: 'Difference maps: pinned − current' }).waitFor();
  const who = await card.locator('.who').innerText();
  assert.match(who, /Pinned\s+compare\.md · lines 9–10/);
  assert.match(who, /Current\s+compare\.md · lines 12–13/);
  assert.equal((await panel.locator('#grid h2').innerText()).trim(), 'Layers × heads — difference, pinned − current');
  assert.match(await panel.locator('#focus h2').innerText(), /^Difference, pinned − current — layer \d+/);
  await panel.locator('#focus .delta-legend').waitFor();
  // Every token but the first has a Δloss (the first has no loss).
  assert.equal(await panel.locator('.token-strip .token.changed').count(), TOKENS - 1);
  assert.equal(await panel.locator('#pinned-grid').isHidden(), true);
  // Layer 3, head 1 in difference mode, as a person would look at one head.
  await panel.locator('#grid .cell[data-layer="3"][data-head="1"]').click();
  await panel.locator('#focus h2', { hasText: 'layer 3, head 1' }).waitFor();
  await wb!.screenshot('compare-difference');
  // Scrolled inside the panel's own document: scrollIntoView would scroll the workbench around it too.
  const scrollPanel = (to: 'focus' | 'top') => panel.locator('body').evaluate((b, to) => (document.scrollingElement!.scrollTop = to === 'top' ? 0 : b.querySelector<HTMLElement>('#focus')!.offsetTop - 60), to);
  await scrollPanel('focus');
  await wb!.screenshot('compare-difference-map');
  await scrollPanel('top');

  // Truth: the exported difference equals the CLI's attention of each text, subtracted.
  const clean = cli('clean', lines.slice(CLEAN_LINE - 1, CLEAN_LINE + 1).join('\n'));
  const corrupted = cli('corrupted', lines.slice(CORRUPTED_LINE - 1, CORRUPTED_LINE + 1).join('\n'));
  const diff = readFloat32Npy(await exportFile(panel, 'Export every head’s difference pinned − current (L, H, T, T) as NumPy .npy', 'difference.npy'));
  const a = readFloat32Npy(join(clean, 'attention.npy'));
  const b = readFloat32Npy(join(corrupted, 'attention.npy'));
  assert.deepEqual(diff.shape, [4, 8, TOKENS, TOKENS]);
  assert.deepEqual(a.shape, diff.shape);
  let worst = 0;
  let largest = 0;
  for (let i = 0; i < diff.data.length; i++) {
    const want = a.data[i]! - b.data[i]!;
    worst = Math.max(worst, Math.abs(diff.data[i]! - want));
    largest = Math.max(largest, Math.abs(want));
  }
  t.diagnostic(`difference vs CLI(clean) − CLI(corrupted), ${diff.shape.join('×')}: max |diff| ${worst.toExponential(2)} (largest |difference| ${largest.toFixed(3)})`);
  assert.ok(worst <= 5e-5, `the panel's difference is off the CLI's by ${worst}`);
  assert.ok(largest > 0.05, 'one name changed, yet the attention hardly differs: the test compares nothing');

  type CliTokens = { tokens: { id: number; loss: number | null }[] };
  const lossOf = (dir: string) => (JSON.parse(readFileSync(join(dir, 'tokens.json'), 'utf8')) as CliTokens).tokens;
  const [ca, cb] = [lossOf(clean), lossOf(corrupted)];
  const deltas = JSON.parse(readFileSync(await exportFile(panel, 'Export per-token loss of both inspections and Δloss (pinned − current) as JSON', 'delta-loss.json'), 'utf8')) as {
    tokens: { index: number; deltaLoss: number | null; pinned: { id: number }; current: { id: number } }[];
  };
  assert.equal(deltas.tokens.length, TOKENS);
  let worstLoss = 0;
  for (const tok of deltas.tokens) {
    assert.equal(tok.pinned.id, ca[tok.index]!.id);
    assert.equal(tok.current.id, cb[tok.index]!.id);
    const want = ca[tok.index]!.loss === null || cb[tok.index]!.loss === null ? null : ca[tok.index]!.loss! - cb[tok.index]!.loss!;
    if (want === null) assert.equal(tok.deltaLoss, null);
    else worstLoss = Math.max(worstLoss, Math.abs(tok.deltaLoss! - want));
  }
  t.diagnostic(`Δloss vs the CLI's losses subtracted: max |diff| ${worstLoss.toExponential(2)}`);
  assert.ok(worstLoss <= 2e-4, `Δloss is off the CLI's by ${worstLoss}`);
  await exportFile(panel, 'Export the chosen head’s difference map (pinned − current) as PNG', 'difference-L3H1.png');

  await wb!.runCommand('Unpin Inspection');
  await card.waitFor({ state: 'hidden' });
  await panel.locator('#pinned-grid').waitFor({ state: 'hidden' });
  assert.equal((await panel.locator('#grid h2').innerText()).trim(), 'Layers × heads');
  const pinButton = panel.locator('.pin-inspection[aria-pressed="false"]');
  await pinButton.waitFor();
  assert.equal(await pinButton.evaluate((b) => b.textContent), 'Pin');
  await wb!.screenshot('compare-unpinned');
});
