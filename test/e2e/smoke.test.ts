// The packaged extension installs into a real VS Code (code-server), activates on its command, and
// its commands and views are there for a user.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { e2eTest, Workbench } from './harness.js';

let wb: Workbench | undefined;

before(async () => {
  wb = await Workbench.start('smoke');
});
after(async () => {
  await wb?.close();
});

e2eTest('the Inspect Attention command is in the palette', () => wb, async () => {
  await wb!.quickOpen('attention.ts');
  const entries = await wb!.paletteEntries('Attention Inspector');
  assert.ok(entries.some((e) => e.includes('Attention Inspector: Inspect Attention')), `palette shows: ${entries.join(' | ')}`);
  await wb!.screenshot('smoke-palette');
});

e2eTest('the extension activates and writes to its log channel', () => wb, async () => {
  await wb!.selectLines(4, 9);
  assert.match(await wb!.cursorStatus(), /\(\d+ selected\)/);
  await wb!.runCommand('Inspect Attention');
  await wb!.page.locator('.tabs-container .tab', { hasText: 'Attention Inspector' }).first().waitFor();
  const log = await wb!.waitForLog(/inspection 1: attention\.ts/);
  assert.match(log, /activated/);
  await wb!.screenshot('smoke-activated');
});
