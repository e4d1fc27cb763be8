// The Benchmark view in the Attention Inspector side bar, in a real VS Code with WebGPU on SwiftShader:
// it renders, a small run completes, every row that ran agrees with the reference (the rows that ran,
// and why the others did not, are stated in the test's diagnostics).
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

e2eTest('the Benchmark view runs a small grid and checks every result', () => wb, async (t) => {
  await wb!.page.locator('.activitybar .action-item a[aria-label^="Attention Inspector"]').click();
  const view = await wb!.webview('Benchmark');
  await view.locator('#run').waitFor();
  await view.locator('input[name="seqLens"]').fill('32');
  await view.locator('input[name="heads"]').fill('2');
  await view.locator('input[name="queriesPerKv"]').fill('1,2'); // multi-head, and both heads sharing one K/V head
  await view.locator('input[name="budgetMs"]').fill('100');
  await wb!.page.mouse.move(800, 500); // off the activity bar, whose tooltip would cover the form
  await wb!.screenshot('benchmark-form');
  await view.locator('#run').click();
  await view.locator('#status', { hasText: /^Done: \d+ results/ }).waitFor({ timeout: 240_000 });

  const rows = view.locator('#results tbody tr');
  const count = await rows.count();
  assert.ok(count >= 2, `only ${count} result rows`);
  const ran: string[] = [];
  const notRun: string[] = [];
  for (let i = 0; i < count; i++) {
    const row = rows.nth(i);
    const cls = (await row.getAttribute('class')) ?? '';
    const cell = async (label: string) => (await row.locator(`td[data-label="${label}"]`).textContent()) ?? '';
    const what = `${await cell('kernel')}/${await cell('backend')} H${await cell('H')} KV${await cell('KV')} T${await cell('T')}`;
    if (/status-(ok|failed)/.test(cls)) {
      ran.push(`${what} (max |ΔO| ${await cell('max |ΔO|')})`);
      // Every row that ran agrees with the reference: a failed row is a kernel that is fast and wrong.
      assert.ok(!cls.includes('status-failed'), `${what} disagreed with the reference: ${await row.getAttribute('title')}`);
    } else {
      // A row that did not run says why.
      const reason = await row.getAttribute('title');
      assert.ok(reason, `row ${i} (${what}, ${cls}) gives no reason`);
      notRun.push(`${what}: ${reason}`);
    }
  }
  t.diagnostic(`ran: ${ran.join('; ')}`);
  t.diagnostic(`did not run: ${notRun.join('; ') || 'none'}`);
  assert.ok(ran.length > 0, 'no kernel ran');
  assert.ok(ran.some((r) => / H2 KV1 /.test(r)), `no grouped-query row ran: ${ran.join('; ')}`);
  const adapter = (await view.locator('#adapter').textContent()) ?? '';
  if (!/not available/.test(adapter)) assert.ok(ran.some((r) => r.startsWith('ours/')), `ours did not run on the WebGPU adapter (${adapter})`);
  // At side-bar width every result is a card with all its cells readable (no table cut at the T column).
  const time = await view.locator('#results tbody tr.status-ok td[data-label="median ms"]').first().boundingBox();
  const app = await view.locator('#app').boundingBox();
  assert.ok(time && app && time.width > 0 && time.x + time.width <= app.x + app.width + 1, `a result's time lies outside the view: ${JSON.stringify({ time, app })}`);
  // The card's shape line names each of its cells by the cell's own column (B, H, KV, T), not by position alone.
  for (const label of ['B', 'H', 'KV', 'T']) {
    const shown = await view.locator(`#results tbody tr.status-ok td[data-label="${label}"]`).first().evaluate((td) => getComputedStyle(td, '::before').content);
    assert.equal(shown, `"${label}"`, `the ${label} cell of a result card is labelled ${shown}`);
  }
  await view.locator('#results tbody tr').first().scrollIntoViewIfNeeded();
  await wb!.screenshot('benchmark-view');
  await view.locator('#plot').scrollIntoViewIfNeeded();
  await wb!.screenshot('benchmark-plot');
});
