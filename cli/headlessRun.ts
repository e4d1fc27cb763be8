/**
 * The CLI's webgpu backend: serves the headless page (dist/webview/headless.js, the same engine bundle
 * the panel uses), ORT's files (dist/ort/) and the model folder on 127.0.0.1, and runs the inspection
 * in headless Chromium with WebGPU (SwiftShader without a GPU: correct but slow).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { launchWebGpuChromium } from './chromium.js';
import type { HeadlessRequest, HeadlessResult } from '../webview/headless/main.js';
import { UsageError } from './errors.js';

const PAGE = '<!doctype html><html><head><meta charset="utf-8"><title>headless</title></head><body><script type="module" src="/dist/webview/headless.js"></script></body></html>';
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
const MODEL_FILES = /^\/model\/[\w.-]+$/;
const DIST_FILES = /^\/dist\/(webview|ort)\/[\w.-]+$/;

export async function inspectInChromium(modelDir: string, ids: number[], log: (line: string) => void) {
  const dist = join(__dirname, '..', 'dist');
  if (!existsSync(join(dist, 'webview', 'headless.js'))) throw new UsageError(`${join(dist, 'webview', 'headless.js')} is missing: run npm run build first`);
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      return;
    }
    const file = MODEL_FILES.test(path) ? join(modelDir, path.slice('/model/'.length)) : DIST_FILES.test(path) ? join(dist, path.slice('/dist/'.length)) : undefined;
    if (!file || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await launchWebGpuChromium();
  try {
    const page = await browser.newPage();
    page.on('console', (m) => {
      // 404s are the model loader probing optional files (tokenizer.json, pickle checkpoints).
      if ((m.type() === 'warning' || m.type() === 'error') && !m.text().startsWith('Failed to load resource')) log(`browser: ${m.text()}`);
    });
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => 'inspectHeadless' in globalThis, undefined, { timeout: 60_000 });
    const req: HeadlessRequest = { modelBase: '/model/', ortBase: '/dist/ort/', ids, prefer: 'webgpu' };
    const r = await page.evaluate((q) => (globalThis as unknown as { inspectHeadless: (q: HeadlessRequest) => Promise<HeadlessResult> }).inspectHeadless(q), req);
    if (r.engine.fallbackReason) log(`note: ${r.engine.fallbackReason}; ran on wasm in Chromium`);
    const attention = r.attention.map((b64) => {
      const bytes = Buffer.from(b64, 'base64');
      return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    });
    const provider = r.engine.name === 'webgpu' ? `${r.engine.description}, adapter ${r.engine.adapter}` : r.engine.description;
    return { provider, backend: r.engine.name, attention, loss: r.loss.map((x) => x ?? NaN), top: r.top };
  } finally {
    await browser.close();
    server.close();
  }
}
