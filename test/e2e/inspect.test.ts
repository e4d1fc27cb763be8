// Inspect Attention as a user meets it, in a real VS Code (code-server) with the packaged extension:
// select text, run the command from the palette, the panel draws the heatmaps; the attention it
// exports equals what `attention-inspector inspect` computes for the same text; hovering an inspected
// token shows its tooltip; a second selection reuses the panel; after a window reload the panel and
// the hovers come back.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import { REPO_ROOT } from '../../scripts/vscodeServer.js';
import { maxAbsDiff } from '../../kernels/flash/reference.js';
import { readFloat32Npy } from '../support/npy.js';
import { e2eTest, exportNpy, RESULTS, UI_TIMEOUT, Workbench } from './harness.js';

/** Inspections load the model and ORT's wasm on first use: several times a UI step on a cold machine. */
const INSPECT_TIMEOUT = 240_000;

let wb: Workbench | undefined;

before(async () => {
  wb = await Workbench.start('inspect');
});
after(async () => {
  await wb?.close();
});

/** Waits for inspection number `n` of this panel to be drawn and returns the panel's frame. */
async function waitForInspection(n: number): Promise<FrameLocator> {
  const panel = await wb!.webview('Attention Inspector');
  await panel.locator(`body[data-inspected="${n}"]`).waitFor({ timeout: INSPECT_TIMEOUT });
  await panel.locator('.head-grid canvas.thumb').first().waitFor();
  return panel;
}

e2eTest('select, Inspect Attention, heatmaps drawn; attention equals the CLI; hover shows the token', () => wb, async (t) => {
  await wb!.quickOpen('repeated.md');
  const passage = wb!.fileText().split('\n').slice(6, 11).join('\n');
  await wb!.selectLines(7, 11);
  assert.match(await wb!.cursorStatus(), /\(\d+ selected\)/);
  await wb!.runCommand('Inspect Attention');
  const panel = await waitForInspection(1);
  // 4 layers × (8 heads + their average), each a drawn thumbnail.
  assert.equal(await panel.locator('.head-grid canvas.thumb').count(), 4 * 9);
  assert.match((await panel.locator('.subtitle').innerText()).trim(), /repeated\.md · lines 7–11/);
  await panel.locator('.provider').waitFor();
  await wb!.screenshot('inspect-repeated');

  const dir = join(RESULTS, 'inspect-cli');
  mkdirSync(dir, { recursive: true });
  const panelNpy = await exportNpy(wb!, panel);
  const textFile = join(dir, 'selection.txt');
  writeFileSync(textFile, passage);
  const cli = spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'cli.js'), 'inspect', '--text-file', textFile, '--out', join(dir, 'cli')], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  const fromPanel = readFloat32Npy(panelNpy);
  const fromCli = readFloat32Npy(join(dir, 'cli', 'attention.npy'));
  assert.deepEqual(fromPanel.shape, fromCli.shape);
  assert.equal(fromPanel.shape[0], 4);
  assert.equal(fromPanel.shape[1], 8);
  assert.ok(fromPanel.shape[2]! > 40, `only ${fromPanel.shape[2]} tokens inspected`);
  const maxDiff = maxAbsDiff(fromPanel.data, fromCli.data);
  t.diagnostic(`panel vs CLI attention (${fromPanel.shape.join('×')}): max |diff| ${maxDiff.toExponential(2)}`);
  assert.ok(maxDiff < 1e-4, `panel and CLI attention differ by up to ${maxDiff}`);

  // Hover "fox" in the second copy (line 10): the tooltip names the token the CLI has at that offset,
  // with the CLI's position and loss.
  const line10 = wb!.fileText().split('\n')[9]!;
  const column = line10.indexOf('fox') + 1;
  const offset = passage.split('\n').slice(0, 3).join('\n').length + 1 + (column - 1);
  const cliTokens = (JSON.parse(readFileSync(join(dir, 'cli', 'tokens.json'), 'utf8')) as { tokens: { id: number; start: number; end: number; loss: number | null }[] }).tokens;
  const index = cliTokens.findIndex((tok) => tok.start <= offset && offset < tok.end);
  const token = cliTokens[index]!;
  const hover = await wb!.hover(10, column, /Attends most to/);
  t.diagnostic(`hover at 10:${column}: ${hover.split('\n')[0]}`);
  assert.match(hover, /Attention Inspector — token/);
  assert.ok(hover.includes(`id ${token.id}, position ${index} of ${cliTokens.length}`), `the hover does not name token #${index} (id ${token.id}):\n${hover}`);
  // Both give the loss of predicting this token from the ones before it.
  const loss = token.loss!;
  assert.ok(hover.includes(`Loss ${loss.toFixed(2)} nats`), `the hover's loss is not the CLI's ${loss.toFixed(2)}:\n${hover}`);
  assert.match(hover, /Attends most to \(L\d+H\d+\)/);
  await wb!.screenshot('inspect-hover');

  // Open an induction head of the last layer from the grid: the large heatmap follows.
  await wb!.page.mouse.move(1, 1);
  await panel.locator('.head-grid .cell[data-layer="3"][data-head="1"]').click();
  await panel.locator('.head-grid .cell[data-layer="3"][data-head="1"][aria-selected="true"]').waitFor();
  await wb!.screenshot('inspect-induction-head');
});

e2eTest('a second selection in another file reuses the panel', () => wb, async () => {
  await wb!.page.mouse.move(1, 1);
  await wb!.page.keyboard.press('Escape');
  await wb!.quickOpen('attention.ts');
  const softmax = wb!.fileText().split('\n').slice(3, 9).join('\n');
  assert.deepEqual(await wb!.selectText(softmax), { line: 4, column: 1, endLine: 9, endColumn: 2 });
  await wb!.runCommand('Inspect Attention');
  const panel = await waitForInspection(2);
  assert.match((await panel.locator('.subtitle').innerText()).trim(), /attention\.ts · lines 4–9/);
  assert.equal(await wb!.page.locator('.tabs-container .tab', { hasText: 'Attention Inspector' }).count(), 1);
  await wb!.waitForLog(/inspection 2: attention\.ts/, UI_TIMEOUT);
  await wb!.screenshot('inspect-second');
});

e2eTest('after a window reload the panel comes back with its inspection, and so do the hovers', () => wb, async (t) => {
  await wb!.reloadWindow();
  // A new extension host numbers its inspections from 1 again.
  const panel = await waitForInspection(1);
  assert.match((await panel.locator('.subtitle').innerText()).trim(), /attention\.ts · lines 4–9/);
  await wb!.quickOpen('attention.ts');
  const line5 = wb!.fileText().split('\n')[4]!;
  const column = line5.search(/\S/) + 1;
  const hover = await wb!.hover(5, column, /Attends most to/);
  t.diagnostic(`hover at 5:${column} after reload: ${hover.split('\n')[0]}`);
  assert.match(hover, /Attention Inspector — token/);
  assert.match(hover, /Attends most to \(L\d+H\d+\)/);
  await wb!.screenshot('inspect-restored');
});
