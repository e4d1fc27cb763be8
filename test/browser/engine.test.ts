// The browser engine (webview/engine/) through the headless page, in Chromium with WebGPU on SwiftShader
// and with the GPU off (wasm fallback): provider reported, attention equal to ORT-web wasm in Node.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as ort from 'onnxruntime-web';
import { loadModelFolderFromDisk } from '../../node/folderReader.js';
import { DecoderInspector } from '../../kernels/runtime/decoderInspector.js';
import type { HeadlessRequest, HeadlessResult } from '../../webview/headless/main.js';
import { float32FromBase64 } from '../../cli/float32Base64.js';
import { REPO_ROOT } from '../support/paths.js';
import { startStaticServer, type StaticServer } from '../support/staticServer.js';
import { type ChromiumMode, launchChromium, openPage } from './harness.js';
import { join } from 'node:path';

const PAGE = `<!doctype html><html><head><meta charset="utf-8"></head><body><script type="module" src="/dist/webview/headless.js"></script></body></html>`;
const IDS = [464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13, 464, 2068, 7586, 21831].map((i) => i % 4096);

let server: StaticServer;
let expected: Float32Array[];
let expectedLoss: Float32Array;

before(async () => {
  server = await startStaticServer({ pages: { '/headless.html': PAGE } });
  ort.env.wasm.numThreads = 1;
  const model = await loadModelFolderFromDisk(join(REPO_ROOT, 'media/models/tinycode-4l8h-1k'));
  const inspector = await DecoderInspector.create({ model, ort, executionProvider: 'wasm' });
  const r = await inspector.inspect(IDS);
  expected = r.attention;
  expectedLoss = r.loss;
  await inspector.release();
});
after(() => server?.close());

for (const mode of ['webgpu', 'wasm'] as ChromiumMode[]) {
  test(`engine in Chromium (${mode}) reports its provider and matches wasm in Node`, { timeout: 240_000 }, async () => {
    const browser = await launchChromium(mode);
    try {
      const page = await openPage(browser, server.url('/headless.html'));
      await page.waitForFunction(() => 'inspectHeadless' in globalThis);
      const req: HeadlessRequest = { modelBase: '/media/models/tinycode-4l8h-1k/', ortBase: '/dist/ort/', ids: IDS };
      const r = await page.evaluate((q) => (globalThis as unknown as { inspectHeadless: (q: HeadlessRequest) => Promise<HeadlessResult> }).inspectHeadless(q), req);
      assert.equal(r.engine.name, mode);
      assert.equal(r.provider.name, mode);
      if (mode === 'webgpu') assert.match(r.engine.adapter ?? '', /swiftshader/i);
      else assert.match(r.engine.fallbackReason ?? '', /WebGPU/);
      assert.equal(r.attention.length, 4);
      let worst = 0;
      r.attention.forEach((a, l) => float32FromBase64(a).forEach((x, i) => (worst = Math.max(worst, Math.abs(x - expected[l][i])))));
      assert.ok(worst < 1e-4, `max abs diff ${worst}`);
      // Fused attention: probed against manual on this provider first, then used (or refused).
      const f = await page.evaluate((q) => (globalThis as unknown as { inspectHeadless: (q: HeadlessRequest) => Promise<HeadlessResult> }).inspectHeadless(q), { ...req, attention: 'fused' as const, attentionLayers: [] });
      assert.equal(f.provider.fusedChecked, true, f.provider.fusedProbe);
      assert.equal(f.provider.attention, 'fused');
      let lossDiff = 0;
      f.loss.slice(0, -1).forEach((x, i) => (lossDiff = Math.max(lossDiff, Math.abs(x - expectedLoss[i]))));
      assert.ok(lossDiff < 1e-3, `fused loss vs wasm manual: ${lossDiff}`);
      assert.deepEqual(page.errors, []);
    } finally {
      await browser.close();
    }
  });
}
