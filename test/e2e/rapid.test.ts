// Rapid and interrupted use in a real VS Code (code-server), each case leaving the product consistent
// and saying what happened: Inspect pressed 20 times in a row (the last wins, nothing leaks: sessions
// counted and the JS heap measured after a full collection, before and after); the active model switched
// while an inspection runs; the panel closed mid-run; a model removed while the panel shows it; the
// Benchmark view cancelled mid-grid; the window reloaded mid-download (the hub stand-in stalls the
// weights once). Each case is recorded in the reliability tally (test/support/reliability.ts).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import { validateModelFolder } from '../../src/models/validateModel.js';
import { makeTinyGpt2Files, startHubServer, type HubServer } from '../fixtures/hubServer.js';
import { observe } from '../support/reliability.js';
import { e2eTest, UI_TIMEOUT, Workbench } from './harness.js';
import { modelRow as modelRowOf, modelsPane as modelsPaneOf, openDownloadPick, pickOtherRepo } from './modelsView.js';

const INSPECT_TIMEOUT = 240_000;
const TINY = 'fixture/tiny-gpt2';
const SLOW = 'fixture/slow-gpt2';
const EMBEDDED_LABEL = 'tinycode-4l8h-1k (embedded)';
const INSPECT_KEY = 'Control+Alt+i';
/** Two commands on keys of their own, so that a test can press Inspect and a switch within milliseconds. */
const TO_EMBEDDED_KEY = 'Control+Alt+m';
const TO_TINY_KEY = 'Control+Alt+t';

let wb: Workbench | undefined;
let hub: HubServer | undefined;

before(async () => {
  const files = makeTinyGpt2Files();
  hub = await startHubServer({
    [TINY]: { files },
    // The weights stall after 20 kB once: the window is reloaded while that download waits.
    [SLOW]: { files, faults: { stall: { file: 'model.safetensors', afterBytes: 20_000, times: 1 } } },
  });
  wb = await Workbench.start('rapid', {
    settings: { 'attentionInspector.modelMirror': hub.baseUrl },
    keybindings: [
      { key: 'ctrl+alt+m', command: 'attentionInspector.setActiveModel', args: 'embedded', when: 'editorTextFocus' },
      { key: 'ctrl+alt+t', command: 'attentionInspector.setActiveModel', args: 'tiny-gpt2', when: 'editorTextFocus' },
    ],
    browserArgs: ['--js-flags=--expose-gc', '--enable-precise-memory-info'],
  });
});
after(async () => {
  await wb?.close();
  await hub?.close();
});

async function panelFrame(): Promise<FrameLocator> {
  return wb!.webview('Attention Inspector');
}

async function waitForInspection(n: number): Promise<FrameLocator> {
  const panel = await panelFrame();
  await panel.locator(`body[data-inspected="${n}"]`).waitFor({ timeout: INSPECT_TIMEOUT });
  await panel.locator('.head-grid canvas.thumb').first().waitFor();
  return panel;
}

/** The page's own account of what it holds once an inspection's runs are all done. */
async function settled(n: number): Promise<{ sessions: number; heapMB: number }> {
  const log = await wb!.waitForLog(new RegExp(`inspection ${n} settled: `), INSPECT_TIMEOUT);
  const m = new RegExp(`inspection ${n} settled: (\\d+) onnxruntime sessions alive, JS heap ([\\d.]+) MB`).exec(log);
  assert.ok(m, `inspection ${n} did not report its sessions and heap`);
  return { sessions: Number(m[1]), heapMB: Number(m[2]) };
}

/** The extension's log lines about inspection `n`, in order. */
function linesOf(log: string, n: number): string[] {
  return log.split('\n').filter((l) => new RegExp(`inspection ${n}[:( ]`).test(l));
}

/** Error notifications shown by the extension (toasts), as their text. */
async function errorToasts(): Promise<string[]> {
  const toasts = wb!.page.locator('.notifications-toasts .notification-toast', { has: wb!.page.locator('.codicon-error') });
  return toasts.allInnerTexts();
}

async function selectSoftmax(): Promise<void> {
  await wb!.quickOpen('attention.ts');
  await wb!.selectLines(4, 9);
}

function modelsPane() {
  return modelsPaneOf(wb!);
}

function modelRow(name: string) {
  return modelRowOf(wb!, name);
}

/**
 * Shows the extension's side bar (Benchmark and Models views). The Benchmark view's page may take the
 * focus as it loads, which would close a palette opened meanwhile: so it is waited for, and the focus
 * taken back to the workbench.
 */
async function showSideBar(): Promise<void> {
  const models = modelsPane();
  if (!(await models.isVisible())) {
    await wb!.page.locator('.activitybar .action-item a[aria-label^="Attention Inspector"]').click();
    await models.waitFor();
  }
  await (await wb!.webview('Benchmark')).locator('#run').waitFor();
  await wb!.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
}

/** Download Model… → Other repository… → `repo`, as a user types it. */
async function startDownload(repo: string): Promise<void> {
  await openDownloadPick(wb!);
  await pickOtherRepo(wb!, repo);
}

function storeRoot(): string {
  return join(wb!.server.dataDir, 'user', 'User', 'globalStorage', 'attention-inspector.attention-inspector', 'model-store');
}

/** Models of the store's manifest whose folder does not load, or is missing: lost or corrupted. */
async function brokenModels(): Promise<number> {
  const manifest = JSON.parse(readFileSync(join(storeRoot(), 'manifest.json'), 'utf8')) as { models: { id: string; folder: string }[] };
  let broken = 0;
  for (const m of manifest.models) await validateModelFolder(join(storeRoot(), m.folder)).catch(() => broken++);
  return broken;
}

/** Closes the panel's editor tab as a user may, with a middle click on it. */
async function closePanel(): Promise<void> {
  const tab = wb!.page.locator('.tabs-container .tab', { hasText: 'Attention Inspector' });
  await tab.click({ button: 'middle' });
  await tab.waitFor({ state: 'detached' });
}

async function dismissToasts(): Promise<void> {
  await wb!.page.evaluate(() => {
    for (const b of document.querySelectorAll<HTMLElement>('.notifications-toasts .codicon-notifications-clear, .notifications-toasts .codicon-close')) b.click();
  });
}

e2eTest('Inspect pressed 20 times in a row: the last one is shown, the others are cancelled, nothing leaks', () => wb, async (t) => {
  await selectSoftmax();
  await wb!.runCommand('Inspect Attention');
  await waitForInspection(1);
  const first = await settled(1);
  // The panel keeps the editor's focus (preserveFocus), so the shortcut goes on reaching the command.
  await selectSoftmax();
  for (let i = 0; i < 20; i++) await wb!.page.keyboard.press(INSPECT_KEY);
  const panel = await waitForInspection(21);
  const last = await settled(21);
  const log = wb!.extensionLogs();
  const fates = { ran: 0, cancelledInPanel: 0, supersededInHost: 0 };
  for (let n = 2; n <= 20; n++) {
    const lines = linesOf(log, n).join('\n');
    if (/cancelled in the panel/.test(lines)) fates.cancelledInPanel++;
    else if (/superseded by \d+ before it reached the panel/.test(lines)) fates.supersededInHost++;
    else if (/: ran /.test(lines)) fates.ran++;
    else assert.fail(`inspection ${n} neither ran nor was said to be cancelled:\n${lines}`);
  }
  t.diagnostic(`inspections 2–20: ${JSON.stringify(fates)}; onnxruntime sessions after inspection 1: ${first.sessions}, after 21: ${last.sessions}; JS heap ${first.heapMB} MB → ${last.heapMB} MB`);
  assert.ok(fates.cancelledInPanel + fates.supersededInHost > 0, 'no inspection was cancelled: the presses did not overlap');
  // Nothing stale after the last: no result of an earlier inspection is logged after 21's.
  const ranAt = (n: number) => log.lastIndexOf(`inspection ${n}: ran `);
  for (let n = 2; n <= 20; n++) assert.ok(ranAt(n) < ranAt(21), `inspection ${n}'s result came after 21's`);
  assert.equal(await panel.locator('body').getAttribute('data-inspected'), '21');
  assert.match((await panel.locator('.subtitle').innerText()).trim(), /attention\.ts · lines 4–9/);
  assert.equal(last.sessions, first.sessions, 'onnxruntime sessions were left alive by the cancelled inspections');
  // Measured after a full collection; a leak of the maps of each inspection that ran (4 × 8 × 86² floats, 0.9 MB) would add several MB.
  assert.ok(last.heapMB - first.heapMB < 4, `the JS heap grew from ${first.heapMB} to ${last.heapMB} MB`);
  assert.deepEqual(await errorToasts(), []);
  await wb!.screenshot('rapid-inspect-20');
  observe('interrupted use: Inspect pressed 20 times', 'handled', undefined, JSON.stringify(fates));
});

e2eTest('the active model switched while an inspection runs: the result is labelled with the model that made it', () => wb, async (t) => {
  await showSideBar();
  await startDownload(TINY);
  await modelRow(TINY).filter({ hasText: /downloaded/ }).waitFor({ timeout: 120_000 });
  await dismissToasts();
  await selectSoftmax();
  await wb!.page.keyboard.press(TO_TINY_KEY);
  await modelRow(TINY).filter({ hasText: /active/ }).waitFor();
  // Inspect with the tiny model (a cold start in the page: its weights and sessions are new), and at once back to the embedded one.
  await wb!.page.keyboard.press(INSPECT_KEY);
  await wb!.page.keyboard.press(TO_EMBEDDED_KEY);
  const panel = await waitForInspection(22);
  const notice = panel.locator('.model-notice');
  await notice.filter({ hasText: `the active model is now ${EMBEDDED_LABEL}` }).waitFor();
  const log = wb!.extensionLogs();
  const switched = log.lastIndexOf(`active model: ${EMBEDDED_LABEL}`);
  const ran = log.indexOf('inspection 22: ran ');
  t.diagnostic(`notice: ${await notice.innerText()}`);
  assert.ok(switched >= 0 && switched < ran, 'the switch did not happen while inspection 22 ran');
  assert.match(log.slice(ran).split('\n')[0]!, /inspection 22: ran fixture\/tiny-gpt2 /, 'the result names the model that produced it');
  assert.match(await panel.locator('header.topbar .badges').innerText(), /fixture\/tiny-gpt2/);
  // 2 layers × (2 heads + their average): the tiny model's maps, not the embedded one's.
  assert.equal(await panel.locator('.head-grid canvas.thumb').count(), 2 * 3);
  assert.match(await notice.innerText(), /These heatmaps are from fixture\/tiny-gpt2; the active model is now tinycode-4l8h-1k \(embedded\)\. Run Inspect Attention/);
  await wb!.screenshot('rapid-model-switched');
  await wb!.page.keyboard.press(INSPECT_KEY);
  await waitForInspection(23);
  assert.equal(await panel.locator('.head-grid canvas.thumb').count(), 4 * 9);
  assert.ok(await notice.isHidden(), 'the notice stays after an inspection with the active model');
  assert.match(linesOf(wb!.extensionLogs(), 23).join('\n'), /inspection 23: ran tinycode-4l8h-1k \(embedded\) /);
  observe('interrupted use: active model switched mid-run', 'handled');
});

e2eTest('a model removed while the panel shows it: the panel says so, the next Inspect uses the active model', () => wb, async (t) => {
  await selectSoftmax();
  await wb!.page.keyboard.press(TO_TINY_KEY);
  await modelRow(TINY).filter({ hasText: /active/ }).waitFor();
  await wb!.page.keyboard.press(INSPECT_KEY);
  const panel = await waitForInspection(24);
  assert.equal(await panel.locator('.head-grid canvas.thumb').count(), 2 * 3);
  const row = modelRow(TINY);
  await row.hover();
  await row.locator('.action-label[aria-label="Remove Model"]').click();
  await wb!.page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Remove' }).click();
  await modelRow(TINY).waitFor({ state: 'detached' });
  const notice = panel.locator('.model-notice', { hasText: 'fixture/tiny-gpt2 was removed from the model store' });
  await notice.waitFor();
  t.diagnostic(`notice: ${await notice.innerText()}`);
  assert.match(await notice.innerText(), /The heatmaps below are from it, kept so that you can still read or export them\. Run Inspect Attention to inspect with tinycode-4l8h-1k \(embedded\)\./);
  // Still there, still labelled with the removed model.
  assert.equal(await panel.locator('.head-grid canvas.thumb').count(), 2 * 3);
  await wb!.screenshot('rapid-model-removed');
  await selectSoftmax();
  await wb!.page.keyboard.press(INSPECT_KEY);
  await waitForInspection(25);
  assert.equal(await panel.locator('.head-grid canvas.thumb').count(), 4 * 9);
  assert.ok(await panel.locator('.model-notice').isHidden());
  assert.deepEqual(await errorToasts(), []);
  observe('interrupted use: model removed while shown', 'handled', await brokenModels());
});

e2eTest('the panel closed mid-run: no error, nothing pending, the next Inspect works', () => wb, async () => {
  await closePanel();
  await selectSoftmax();
  // A new panel starts its engine cold: seconds during which its progress shows.
  await wb!.page.keyboard.press(INSPECT_KEY);
  const panel = await panelFrame();
  await panel.locator('div.progress:not([hidden])').waitFor({ timeout: INSPECT_TIMEOUT });
  await closePanel();
  await wb!.waitForLog(/inspection 26: the panel was closed before its result/);
  await selectSoftmax();
  await wb!.page.keyboard.press(INSPECT_KEY);
  await waitForInspection(27);
  const log = wb!.extensionLogs();
  assert.doesNotMatch(linesOf(log, 26).join('\n'), /failed|error/i);
  assert.deepEqual(await errorToasts(), []);
  await wb!.screenshot('rapid-panel-closed');
  observe('interrupted use: panel closed mid-run', 'handled');
});

e2eTest('the Benchmark view cancelled mid-grid: rows run stay, the rest say cancelled, a new run works', () => wb, async (t) => {
  await showSideBar();
  const view = await wb!.webview('Benchmark');
  await view.locator('#run').waitFor();
  // A grid that takes minutes on wasm (no WebGPU here), so the cancel lands with most of it still to run.
  await view.locator('input[name="seqLens"]').fill('32,256,512,1024');
  await view.locator('input[name="heads"]').fill('2,8');
  await view.locator('input[name="queriesPerKv"]').fill('1');
  await view.locator('input[name="budgetMs"]').fill('300');
  await view.locator('#run').click();
  await view.locator('#results tbody tr.status-ok').first().waitFor({ timeout: INSPECT_TIMEOUT });
  await view.locator('#cancel').click();
  await view.locator('#status', { hasText: /^Cancelled: \d+ results kept, \d+ not run\./ }).waitFor({ timeout: INSPECT_TIMEOUT });
  const rows = view.locator('#results tbody tr');
  const classes = await rows.evaluateAll((trs) => trs.map((tr) => tr.className));
  const cancelled = classes.filter((c) => c === 'status-cancelled').length;
  const kept = classes.length - cancelled;
  t.diagnostic(`${await view.locator('#status').innerText()} (${classes.join(', ')})`);
  assert.ok(kept > 0 && cancelled > 0, `kept ${kept}, cancelled ${cancelled}`);
  // The rows that ran come first and keep their results; every later one says it was cancelled.
  assert.deepEqual(classes.slice(kept), Array(cancelled).fill('status-cancelled'));
  assert.equal(await rows.nth(kept).getAttribute('title'), 'cancelled before it ran');
  assert.equal((await rows.nth(kept).locator('td[data-label="median ms"]').innerText()).trim(), 'CANCELLED');
  await wb!.page.mouse.move(800, 500);
  await rows.nth(kept).scrollIntoViewIfNeeded();
  await wb!.screenshot('rapid-benchmark-cancelled');
  await view.locator('input[name="seqLens"]').fill('32');
  await view.locator('input[name="heads"]').fill('2');
  await view.locator('input[name="budgetMs"]').fill('100');
  await view.locator('#run').click();
  await view.locator('#status', { hasText: /^Done: \d+ results\./ }).waitFor({ timeout: INSPECT_TIMEOUT });
  assert.equal(await view.locator('#results tbody tr.status-cancelled').count(), 0);
  observe('interrupted use: benchmark cancelled mid-grid', 'handled');
});

e2eTest('the window reloaded mid-download: the next activation cleans up, says so once, and the download can be run again', () => wb, async (t) => {
  await showSideBar();
  await startDownload(SLOW);
  const staging = join(storeRoot(), '.staging');
  // Mid-download: the stalled weights' partial file holds the 20 kB served so far.
  const partial = await waitFor(() => {
    const dir = (existsSync(staging) ? readdirSync(staging) : []).find((d) => d.startsWith('slow-gpt2-') && !d.endsWith('.json'));
    const f = dir && join(staging, dir, 'model.safetensors.partial');
    return f && existsSync(f) && statSync(f).size >= 20_000 ? f : undefined;
  });
  t.diagnostic(`reloading while ${partial} holds ${statSync(partial).size} bytes`);
  // The harness knows the workbench is back by its explorer, so that is what the side bar shows across the reload.
  await wb!.page.locator('.activitybar .action-item a[aria-label^="Explorer"]').click();
  await wb!.reloadWindow();
  // A toast hides itself after a while (the reload may take longer than that here): the notification centre keeps it.
  await wb!.waitForLog(/The download of fixture\/slow-gpt2 \(fixture\/slow-gpt2\) was interrupted/);
  await wb!.runCommand('Notifications: Show Notifications');
  const toast = wb!.page.locator('.notifications-center .notification-list-item', { hasText: 'The download of fixture/slow-gpt2 was interrupted' });
  await toast.waitFor({ timeout: UI_TIMEOUT });
  t.diagnostic(`notice: ${(await toast.innerText()).split('\n').find((l) => l.includes('interrupted'))}`);
  assert.equal(await wb!.page.locator('.notifications-center .notification-list-item', { hasText: 'was interrupted' }).count(), 1, 'said more than once');
  assert.deepEqual(readdirSync(staging), [], 'the staging folder was not cleaned up');
  await wb!.screenshot('rapid-download-interrupted');
  await toast.locator('.monaco-button', { hasText: 'Download Again' }).click();
  await showSideBar();
  await modelRow(SLOW).filter({ hasText: /downloaded/ }).waitFor({ timeout: 120_000 });
  const log = wb!.extensionLogs();
  assert.equal(log.match(/The download of fixture\/slow-gpt2 \(fixture\/slow-gpt2\) was interrupted/g)?.length, 1, 'said more than once');
  assert.deepEqual(readdirSync(staging), []);
  const lost = await brokenModels();
  assert.equal(lost, 0);
  observe('interrupted use: window reloaded mid-download', 'handled', lost);
});

/** Polls a condition of the file system (no UI to wait on there) until it holds. */
async function waitFor<T>(probe: () => T | undefined, timeoutMs = UI_TIMEOUT): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}
