// The Models view in a real VS Code: the embedded model listed as active; a download from a local hub
// stand-in (the modelMirror setting points at it; the connection is dropped once mid-file, so the
// download resumes) adds the model; setting it active moves the mark; the panel inspects with it, its
// files reaching the page each way the weightsTransport setting offers.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { makeTinyGpt2Files, startHubServer, type HubServer } from '../fixtures/hubServer.js';
import { e2eTest, Workbench } from './harness.js';
import { downloadModel, modelRow as rowOf, setActiveModel } from './modelsView.js';

let wb: Workbench | undefined;
let hub: HubServer | undefined;
const REPO = 'fixture/tiny-gpt2';

before(async () => {
  hub = await startHubServer({ [REPO]: { files: makeTinyGpt2Files(), faults: { drop: { file: 'model.safetensors', bytes: 50_000, times: 1 } } } });
  wb = await Workbench.start('models', { settings: { 'attentionInspector.modelMirror': hub.baseUrl } });
});
after(async () => {
  await wb?.close();
  await hub?.close();
});

const modelRow = (name: string | RegExp) => rowOf(wb!, name);

e2eTest('the Models view lists the embedded model as active', () => wb, async () => {
  await wb!.page.locator('.activitybar .action-item a[aria-label^="Attention Inspector"]').click();
  const row = modelRow('tinycode-4l8h-1k');
  await row.waitFor();
  await row.filter({ hasText: /active/ }).waitFor();
  await wb!.screenshot('models-embedded-active');
});

e2eTest('Download Model… fetches from the mirror setting, resumes after a drop, and lists the model', () => wb, async () => {
  await downloadModel(wb!, REPO, 120_000, async () => void (await wb!.screenshot('models-download-catalog')));
  await wb!.screenshot('models-downloaded');
  assert.ok(hub!.requests.some((r) => /range=bytes=\d+-/.test(r)), `the dropped transfer resumed with Range:\n${hub!.requests.join('\n')}`);
  assert.match(wb!.extensionLogs(), /resumed 1×/);
});

e2eTest('Set Active Model moves the active mark to the downloaded model', () => wb, async () => {
  await setActiveModel(wb!, REPO);
  await modelRow('tinycode-4l8h-1k').filter({ hasNotText: /active/ }).waitFor();
  await wb!.screenshot('models-set-active');
  assert.match(wb!.extensionLogs(), /active model: fixture\/tiny-gpt2/);
});

e2eTest('the panel inspects with the downloaded model, its files coming each way of weightsTransport', () => wb, async () => {
  await wb!.quickOpen('attention.ts');
  const ways = [
    ['server', "from the host's model file server"],
    ['resources', 'by webview URI'],
    ['messages', 'in messages from the host'],
  ] as const;
  for (const [i, [way, said]] of ways.entries()) {
    if (i > 0) {
      // A new panel: its page loads the model afresh, the new way.
      await wb!.runCommand('View: Close All Editor Groups');
      await wb!.updateSettings({ 'attentionInspector.weightsTransport': way });
      await wb!.quickOpen('attention.ts');
    }
    await wb!.selectText('export function softmax(row: number[]): number[] {');
    await wb!.runCommand('Inspect Attention');
    const panel = await wb!.webview('Attention Inspector');
    await panel.locator(`body[data-inspected="${i + 1}"]`).waitFor({ timeout: 240_000 });
    await panel.locator('.head-grid canvas.thumb').first().waitFor();
    // The fixture GPT-2 has 2 layers × 2 heads, so 2 × (2 heads + their average) thumbnails.
    assert.equal(await panel.locator('.head-grid canvas.thumb').count(), 2 * 3);
    await wb!.waitForLog(new RegExp(`weights of \\S+ loaded: .* ${said}`));
    if (i === 0) await wb!.screenshot('models-inspect-with-downloaded');
  }
}, 600_000);
