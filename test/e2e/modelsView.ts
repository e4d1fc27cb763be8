/** The Models view and the Download Model… command as the e2e tests drive them (wb: a started Workbench). */
import type { Locator } from 'playwright-core';
import type { Workbench } from './harness.js';

export function modelsPane(wb: Workbench): Locator {
  return wb.page.locator('.pane', { has: wb.page.locator('.pane-header', { hasText: /Models/ }) });
}

export function modelRow(wb: Workbench, name: string | RegExp): Locator {
  return modelsPane(wb).locator('.monaco-list-row', { hasText: name });
}

/**
 * Download Model… from the palette, up to its catalog pick. Not wb.runCommand: that waits for the quick
 * input to close, and this command opens its own pick.
 */
export async function openDownloadPick(wb: Workbench): Promise<void> {
  const page = wb.page;
  await page.keyboard.press('F1');
  await page.locator('.quick-input-widget input').fill('>Attention Inspector: Download Model');
  await page.locator('.quick-input-list .monaco-list-row[aria-label*="Download Model"]').first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'GPT-2 small' }).waitFor();
}

/** In the open catalog pick: Other GPT-2 repository…, then `repo` typed as a user types it. */
export async function pickOtherRepo(wb: Workbench, repo: string): Promise<void> {
  const page = wb.page;
  const input = page.locator('.quick-input-widget input');
  await input.fill('Other');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Other GPT-2 repository' }).first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget input[placeholder="owner/name"]').waitFor();
  await input.fill(repo);
  await page.keyboard.press('Enter');
}
