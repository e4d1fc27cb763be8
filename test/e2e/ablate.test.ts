// "Ablate heads" as a user meets it, in a real VS Code (code-server) with the packaged extension: the
// repeated passage of samples/repeated.md inspected, heads 3.1 and 2.2 marked by Alt+click and 3.2 by
// Space, Run ablated (zero); the token strip's Δloss legend, the summary and the editor hover (loss and
// top guess before → after) agree with `attention-inspector inspect --ablate` on the same text; the
// ablated tokens JSON exported through the save dialog equals the CLI's losses; a window reload brings
// back the marks and the ablated run; Clear ablation returns to the clean view.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { REPO_ROOT } from '../../scripts/vscodeServer.js';
import { assertAblationColours } from '../support/tokenChanges.js';
import { e2eTest, RESULTS, UI_TIMEOUT, Workbench } from './harness.js';

const INSPECT_TIMEOUT = 240_000;

let wb: Workbench | undefined;

before(async () => {
  wb = await Workbench.start('ablate');
});
after(async () => {
  await wb?.close();
});

interface CliTokens {
  tokens: { id: number; start: number; end: number; loss: number | null; top: { text: string; p: number }[] }[];
}

/** `inspect` of `text` (ablated with `--ablate` when given) by the built CLI; its tokens.json. */
function cliTokens(dir: string, name: string, ablate?: string): CliTokens {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'cli.js'), 'inspect', '--text-file', join(dir, 'selection.txt'), '--out', join(dir, name), ...(ablate ? ['--ablate', ablate] : [])], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(readFileSync(join(dir, name, 'tokens.json'), 'utf8')) as CliTokens;
}

const meanLoss = (t: CliTokens) => {
  const xs = t.tokens.flatMap((x) => (x.loss === null ? [] : [x.loss]));
  return xs.reduce((a, b) => a + b, 0) / xs.length;
};

e2eTest('mark heads by click and keyboard, Run ablated: Δloss strip, summary, hover and export equal the CLI; kept across a reload; Clear ablation', () => wb, async (t) => {
  await wb!.quickOpen('repeated.md');
  const passage = wb!.fileText().split('\n').slice(6, 11).join('\n');
  await wb!.selectLines(7, 11);
  await wb!.runCommand('Inspect Attention');
  const panel = await wb!.webview('Attention Inspector');
  await panel.locator('body[data-inspected="1"]').waitFor({ timeout: INSPECT_TIMEOUT });

  const dir = join(RESULTS, 'ablate-cli');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'selection.txt'), passage);
  const clean = cliTokens(dir, 'clean');
  const ablated = cliTokens(dir, 'ablated', '3.1,3.2,2.2');

  const cell = (l: number, h: number) => panel.locator(`.head-grid .cell[data-layer="${l}"][data-head="${h}"]`);
  await cell(3, 1).click({ modifiers: ['Alt'] });
  await cell(2, 2).click({ modifiers: ['Alt'] });
  await cell(3, 2).focus();
  await wb!.page.keyboard.press('Space');
  await panel.locator('.head-grid .cell.marked').nth(2).waitFor();
  assert.equal(await panel.locator('.head-grid .cell.marked').count(), 3);
  assert.match((await cell(3, 2).getAttribute('aria-label')) ?? '', /marked for ablation/);
  assert.match(await panel.locator('.ablate-marked').innerText(), /Marked: L2H2, L3H1, L3H2/);

  await panel.locator('.ablate vscode-button', { hasText: 'Run ablated' }).click();
  await panel.locator('body[data-ablated]').waitFor({ timeout: INSPECT_TIMEOUT });
  const summary = await panel.locator('.ablate-summary').innerText();
  t.diagnostic(`panel: ${summary.split('.')[0]}; CLI: mean loss ${meanLoss(clean).toFixed(3)} → ${meanLoss(ablated).toFixed(3)}`);
  assert.ok(summary.includes(`mean loss ${meanLoss(clean).toFixed(3)} → ${meanLoss(ablated).toFixed(3)} nats`), `summary: ${summary}`);
  assert.match(await panel.locator('#tokens .delta-legend').innerText(), /Δloss \(nats\)\s*−\d+\.\d{3} loss fell\s*\+\d+\.\d{3} loss rose/);
  await assertAblationColours(panel.locator('.token-strip'), 20);
  await wb!.page.mouse.move(1, 1);
  await wb!.screenshot('ablate-heads');
  await panel.locator('#grid').screenshot({ path: join(RESULTS, 'ablate-heads-grid.png') });
  await panel.locator('#tokens').screenshot({ path: join(RESULTS, 'ablate-heads-tokens.png') });

  // The editor hover of "fox" in the second copy: loss and top guess before → after, as the CLI has them.
  const line10 = wb!.fileText().split('\n')[9]!;
  const column = line10.indexOf('fox') + 1;
  const offset = passage.split('\n').slice(0, 3).join('\n').length + 1 + (column - 1);
  const index = clean.tokens.findIndex((tok) => tok.start <= offset && offset < tok.end);
  const hover = await wb!.hover(10, column, /zero-ablated/);
  t.diagnostic(`hover at 10:${column}: ${hover.split('\n').filter((l) => /→/.test(l)).join(' | ')}`);
  assert.match(hover, /With heads 2\.2, 3\.1, 3\.2 zero-ablated/);
  const before = clean.tokens[index]!.loss!;
  const after = ablated.tokens[index]!.loss!;
  assert.ok(hover.includes(`loss ${before.toFixed(2)} → ${after.toFixed(2)} nats`), `hover:\n${hover}`);
  assert.match(hover, /top guess \S+ \d\.\d\d → \S+ \d\.\d\d/);
  await wb!.screenshot('ablate-hover');
  await wb!.page.mouse.move(1, 1);
  await wb!.page.keyboard.press('Escape');

  // The ablated run's tokens JSON, through the save dialog, equals the CLI's losses.
  const path = join(wb!.workspace, 'ablated-tokens.json');
  rmSync(path, { force: true });
  await panel.locator('.ablate vscode-button', { hasText: 'Ablated JSON' }).click();
  await wb!.page.locator('.quick-input-widget input').waitFor();
  await wb!.page.waitForFunction((p) => document.querySelector<HTMLInputElement>('.quick-input-widget input')?.value === p, path, { timeout: UI_TIMEOUT });
  await wb!.page.locator('.quick-input-widget .monaco-button', { hasText: 'OK' }).click();
  await panel.locator('.status', { hasText: 'Saved' }).waitFor();
  assert.ok(existsSync(path));
  const exported = JSON.parse(readFileSync(path, 'utf8')) as { ablation: unknown; tokens: { loss: number | null; lossBefore: number | null }[] };
  assert.deepEqual(exported.ablation, { heads: ['2.2', '3.1', '3.2'], mode: 'zero' });
  let worst = 0;
  exported.tokens.forEach((x, i) => {
    if (x.loss === null) return;
    worst = Math.max(worst, Math.abs(x.loss - ablated.tokens[i]!.loss!), Math.abs(x.lossBefore! - clean.tokens[i]!.loss!));
  });
  t.diagnostic(`exported ablated tokens vs CLI: max |Δloss| ${worst.toExponential(2)} over ${exported.tokens.length} tokens`);
  assert.ok(worst <= 2e-4);

  // Developer: Reload Window: the panel comes back with the heads marked and the ablated run shown again.
  await wb!.reloadWindow();
  const restored = await wb!.webview('Attention Inspector');
  await restored.locator('body[data-ablated]').waitFor({ timeout: INSPECT_TIMEOUT });
  assert.equal(await restored.locator('.head-grid .cell.marked').count(), 3);
  assert.equal(await restored.locator('.ablate-summary').innerText(), summary, 'the same ablated run');
  t.diagnostic(`after a reload: ${(await restored.locator('.ablate-marked').innerText()).trim()}; ${summary.split('.')[0]}`);
  await wb!.screenshot('ablate-restored');

  await restored.locator('.ablate vscode-button', { hasText: 'Clear ablation' }).click();
  await restored.locator('#tokens .delta-legend').waitFor({ state: 'detached' });
  assert.equal(await restored.locator('.head-grid .cell.marked').count(), 0);
  assert.equal(await restored.locator('.token.changed').count(), 0);
  assert.equal(await restored.locator('.ablated-mean').count(), 0);
  await wb!.screenshot('ablate-cleared');
}, 600_000);
