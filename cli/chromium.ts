/// <reference path="../webview/benchmark/standalone.d.ts" />
/**
 * Node only (never imported by webview code): serves the CLI's pages (the benchmark page, the headless
 * inspect page) from dist/ on 127.0.0.1 and drives them in headless Chromium with WebGPU on (SwiftShader
 * without a GPU). Used by the CLI (`bench --runtime chromium`, `inspect --backend webgpu`) and the browser tests.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { BenchReport, BenchSettings } from '../kernels/bench/types.js';
import { benchmarkHtml } from '../src/benchmarkHtml.js';

export const CHROMIUM_WEBGPU_ARGS = [
  '--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader', '--use-angle=swiftshader', '--disable-vulkan-surface', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
];

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.json': 'application/json', '.map': 'application/json' };

export class ChromiumBenchError extends Error {
  override name = 'ChromiumBenchError';
}

/**
 * Serves `page` at `/` and, under each URL prefix of `folders`, the files of that folder (single names
 * only: no sub-folders, nothing outside it) on 127.0.0.1.
 */
export async function servePage(page: (origin: string) => string, folders: Record<string, string>): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(page(`http://${req.headers.host}`));
      return;
    }
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const prefix = Object.keys(folders).find((p) => path.startsWith(p));
    const name = prefix && path.slice(prefix.length);
    const file = name && /^[\w.-]+$/.test(name) && !/^\.+$/.test(name) ? join(folders[prefix], name) : undefined;
    if (!file || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** The benchmark page with `/webview/*` and `/ort/*` from dist/ and its stylesheet from media/. */
export async function serveBenchmarkPage(root: string): Promise<{ server: Server; origin: string }> {
  const dist = join(root, 'dist');
  if (!existsSync(join(dist, 'webview', 'benchmark.js'))) throw new ChromiumBenchError(`${dist}/webview/benchmark.js is missing: run npm run build first`);
  const page = (origin: string) =>
    benchmarkHtml({ cspSource: origin, nonce: randomBytes(16).toString('base64'), scriptUri: '/webview/benchmark.js', styleUri: '/media/benchmark.css', ortBase: '/ort/' });
  return servePage(page, { '/webview/': join(dist, 'webview'), '/ort/': join(dist, 'ort'), '/media/': join(root, 'media') });
}

export async function launchWebGpuChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_WEBGPU_ARGS, headless: true });
}

/** Opens the page with `?autorun=<settings>` and waits for its report, passing status lines to `log`. */
export async function runPageBenchmark(page: Page, origin: string, settings: BenchSettings, log: (line: string) => void, timeoutMs = 600_000): Promise<BenchReport> {
  let last = '';
  await page.goto(`${origin}/?autorun=${encodeURIComponent(JSON.stringify(settings))}`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await page.evaluate(() => ({ report: window.benchReport, error: window.benchError, status: document.querySelector('#status')?.textContent ?? '' }));
    if (state.error) throw new ChromiumBenchError(state.error);
    if (state.report) return state.report;
    if (state.status !== last) log((last = state.status));
    if (Date.now() > deadline) throw new ChromiumBenchError(`no report after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function runInChromium(root: string, settings: BenchSettings, log: (line: string) => void): Promise<BenchReport> {
  const { server, origin } = await serveBenchmarkPage(root);
  const browser = await launchWebGpuChromium();
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => log(`page error: ${e.message}`));
    return await runPageBenchmark(page, origin, settings, log);
  } finally {
    await browser.close();
    server.close();
  }
}
