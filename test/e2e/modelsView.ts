// The Models view as a user drives it: Download Model… of a repository from the hub stand-in (the
// modelMirror setting points at it), and Set Active Model from its row. Shared by the e2e tests and
// bench:inspect.
import { join } from 'node:path';
import type { Workbench } from './harness.js';

/** Where the extension's model store keeps downloaded folders (its global storage). */
export function storeModelsDir(wb: Workbench): string {
  return join(wb.server.dataDir, 'user', 'User', 'globalStorage', 'attention-inspector.attention-inspector', 'model-store', 'models');
}

export function modelsPane(wb: Workbench) {
  return wb.page.locator('.pane', { has: wb.page.locator('.pane-header', { hasText: /Models/ }) });
}

export function modelRow(wb: Workbench, name: string | RegExp) {
  return modelsPane(wb).locator('.monaco-list-row', { hasText: name });
}

/** Download Model… → Other repository → `repo`; resolves once its row says it is downloaded. */
export async function downloadModel(wb: Workbench, repo: string, timeoutMs = 120_000, onCatalog?: () => Promise<void>): Promise<void> {
  await openDownloadPick(wb);
  await onCatalog?.();
  await pickOtherRepo(wb, repo);
  await modelRow(wb, repo).filter({ hasText: /downloaded/ }).waitFor({ timeout: timeoutMs });
}

/**
 * Download Model… from the palette, up to its catalog pick. Not wb.runCommand: that waits for the quick
 * input to close, and this command opens its own pick.
 */
export async function openDownloadPick(wb: Workbench): Promise<void> {
  const page = wb.page;
  // The view's container is there once the extension is registered; its commands are in the palette then,
  // but run before activation has registered them they are "not found" (seen once under load).
  await openModelsView(wb);
  await wb.waitForLog(/activated in \d+ ms/);
  // The Benchmark view beside it is a webview: once its page is there, it no longer takes the keyboard.
  await wb.webview('Benchmark');
  const input = page.locator('.quick-input-widget input');
  for (let tries = 1; ; tries++) {
    await wb.focusWorkbench();
    await page.keyboard.press('F1');
    const opened = await input.waitFor({ state: 'visible', timeout: 10_000 }).then(() => true, () => false);
    if (opened || tries === 3) break;
  }
  await input.fill('>Attention Inspector: Download Model');
  await page.locator('.quick-input-list .monaco-list-row[aria-label*="Download Model"]').first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'GPT-2 small' }).waitFor();
}

/** In the open catalog pick: Other repository…, then `repo` typed as a user types it. */
export async function pickOtherRepo(wb: Workbench, repo: string): Promise<void> {
  const page = wb.page;
  const input = page.locator('.quick-input-widget input');
  await input.fill('Other');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Other repository' }).first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget input[placeholder="owner/name"]').waitFor();
  await input.fill(repo);
  await page.keyboard.press('Enter');
}

export async function openModelsView(wb: Workbench): Promise<void> {
  if (await modelsPane(wb).isVisible()) return;
  await wb.page.locator('.activitybar .action-item a[aria-label^="Attention Inspector"]').click();
  await modelsPane(wb).waitFor();
}

/**
 * Set Active Model on `repo`'s row; resolves once the row is marked active. A click that lands while the
 * tree re-renders the row (the store refreshing after a download) is lost, as it would be for a user
 * (seen once in CI under load), so it clicks again, as a user would; setting it active twice is harmless.
 */
export async function setActiveModel(wb: Workbench, repo: string): Promise<void> {
  const row = modelRow(wb, repo);
  const active = row.filter({ hasText: /active/ });
  for (let tries = 1; ; tries++) {
    await row.hover();
    await row.locator('.action-label[aria-label="Set Active Model"]').click();
    const done = await active.waitFor({ timeout: 15_000 }).then(() => true, () => false);
    if (done) return;
    if (tries === 4) throw new Error(`${repo}'s row never said it was active after ${tries} clicks on Set Active Model`);
  }
}
