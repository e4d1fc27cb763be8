/**
 * The CLI's webgpu backend: serves the headless page (dist/webview/headless.js, the same engine bundle
 * the panel uses), ORT's files (dist/ort/) and the model folder on 127.0.0.1, and runs the inspection
 * in headless Chromium with WebGPU (SwiftShader without a GPU: correct but slow).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { launchWebGpuChromium, servePage } from './chromium.js';
import type { HeadlessRequest, HeadlessResult } from '../webview/headless/main.js';
import type { Ablation } from '../kernels/graph/decoderGraph.js';
import { UsageError } from './errors.js';
import { float32FromBase64 } from './float32Base64.js';

const PAGE = '<!doctype html><html><head><meta charset="utf-8"><title>headless</title></head><body><script type="module" src="/dist/webview/headless.js"></script></body></html>';

export async function inspectInChromium(modelDir: string, ids: number[], attentionLayers: number[], ablation: Ablation | undefined, log: (line: string) => void) {
  const dist = join(__dirname, '..', 'dist');
  if (!existsSync(join(dist, 'webview', 'headless.js'))) throw new UsageError(`${join(dist, 'webview', 'headless.js')} is missing: run npm run build first`);
  const { server, origin } = await servePage(() => PAGE, { '/dist/webview/': join(dist, 'webview'), '/dist/ort/': join(dist, 'ort'), '/model/': modelDir });
  const browser = await launchWebGpuChromium();
  try {
    const page = await browser.newPage();
    page.on('console', (m) => {
      // 404s are the model loader probing optional files (tokenizer.json, pickle checkpoints).
      if ((m.type() === 'warning' || m.type() === 'error') && !m.text().startsWith('Failed to load resource')) log(`browser: ${m.text()}`);
    });
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => 'inspectHeadless' in globalThis, undefined, { timeout: 60_000 });
    const req: HeadlessRequest = { modelBase: '/model/', ortBase: '/dist/ort/', ids, prefer: 'webgpu', attentionLayers, ablation };
    const r = await page.evaluate((q) => (globalThis as unknown as { inspectHeadless: (q: HeadlessRequest) => Promise<HeadlessResult> }).inspectHeadless(q), req);
    if (r.engine.fallbackReason) log(`note: ${r.engine.fallbackReason}; ran on wasm in Chromium`);
    const attention = r.attention.map(float32FromBase64);
    const provider = r.engine.name === 'webgpu' ? `${r.engine.description}, adapter ${r.engine.adapter}` : r.engine.description;
    return { provider, backend: r.engine.name, attention, loss: r.loss.map((x) => x ?? NaN), top: r.top };
  } finally {
    await browser.close();
    server.close();
  }
}
