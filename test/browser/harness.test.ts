// The browser-test harness itself: wasm is served with its MIME type (streaming compilation needs it),
// pages can be given as functions of the origin, paths outside the root are refused, and the `wasm`
// Chromium has no WebGPU adapter.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { startStaticServer, type StaticServer } from '../support/staticServer.js';
import { launchChromium, openPage } from './harness.js';

let server: StaticServer;
let browser: Browser;

before(async () => {
  server = await startStaticServer({ pages: { '/': (origin) => `<!doctype html><title>${origin}</title>` } });
  browser = await launchChromium('wasm');
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('serves pages and repository files with their MIME types, refuses paths outside the root', async () => {
  const page = await fetch(server.url('/'));
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(await page.text(), `<!doctype html><title>${server.origin}</title>`);
  const pkg = await fetch(server.url('/package.json'));
  assert.equal(pkg.headers.get('content-type'), 'application/json');
  assert.equal(((await pkg.json()) as { name: string }).name, 'attention-inspector');
  assert.equal((await fetch(`${server.origin}/%2e%2e/%2e%2e/etc/passwd`)).status, 404);
});

test('wasm Chromium compiles a streamed ORT binary and has no WebGPU adapter', async () => {
  const page = await openPage(browser, server.url('/'));
  const facts = await page.evaluate(async () => {
    const module = await WebAssembly.compileStreaming(fetch('/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm'));
    const adapter = 'gpu' in navigator ? await navigator.gpu.requestAdapter() : null;
    return { exports: WebAssembly.Module.exports(module).length, adapter: adapter !== null };
  });
  assert.ok(facts.exports > 0);
  assert.equal(facts.adapter, false);
  assert.deepEqual(page.errors, []);
});
