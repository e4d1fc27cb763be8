// The Benchmark view in the Attention Inspector side bar, in a real VS Code with WebGPU on SwiftShader:
// it renders, a small run completes, and every result carries its agreement with the reference.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { e2eTest, Workbench } from './harness.js';

let wb: Workbench | undefined;

before(async () => {
  wb = await Workbench.start('benchmark', { webgpu: true });
});
after(async () => {
  await wb?.close();
});

e2eTest('the Benchmark view runs a small grid and checks every result', () => wb, async () => {
  await wb!.page.locator('.activitybar .action-item a[aria-label^="Attention Inspector"]').click();
  const view = await wb!.webview('Benchmark');
  await view.locator('#run').waitFor();
  await view.locator('input[name="seqLens"]').fill('32');
  await view.locator('input[name="heads"]').fill('2');
  await view.locator('input[name="budgetMs"]').fill('100');
  await wb!.page.mouse.move(800, 500); // off the activity bar, whose tooltip would cover the form
  await wb!.screenshot('benchmark-form');
  await view.locator('#run').click();
  await view.locator('#status', { hasText: /^Done: \d+ results/ }).waitFor({ timeout: 240_000 });

  const rows = view.locator('#results tbody tr');
  const count = await rows.count();
  assert.ok(count >= 2, `only ${count} result rows`);
  for (let i = 0; i < count; i++) {
    const row = rows.nth(i);
    const cls = (await row.getAttribute('class')) ?? '';
    // A row that did not run says why; one that ran is ok or failed, never fast-and-wrong.
    if (!/status-(ok|failed)/.test(cls)) assert.ok(await row.getAttribute('title'), `row ${i} (${cls}) gives no reason`);
  }
  assert.ok((await view.locator('#results tbody tr.status-ok').count()) > 0, 'no kernel agreed with the reference');
  const adapter = (await view.locator('#adapter').textContent()) ?? '';
  if (/swiftshader/i.test(adapter)) {
    const ours = view.locator('#results tbody tr', { hasText: 'ours' });
    assert.ok((await ours.count()) > 0, 'ours did not run on the WebGPU adapter');
    assert.equal(await view.locator('#results tbody tr.status-failed', { hasText: 'ours' }).count(), 0, 'ours disagreed with the reference');
  }
  // At side-bar width every result is a card with all its cells readable (no table cut at the T column).
  const time = await view.locator('#results tbody tr.status-ok td[data-label="median ms"]').first().boundingBox();
  const app = await view.locator('#app').boundingBox();
  assert.ok(time && app && time.width > 0 && time.x + time.width <= app.x + app.width + 1, `a result's time lies outside the view: ${JSON.stringify({ time, app })}`);
  await view.locator('#results tbody tr').first().scrollIntoViewIfNeeded();
  await wb!.screenshot('benchmark-view');
  await view.locator('#plot').scrollIntoViewIfNeeded();
  await wb!.screenshot('benchmark-plot');
});
