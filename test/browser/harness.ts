/**
 * Browser-test harness for the webview pages outside VS Code (headless Debian Chromium, no display).
 *
 *   const server = await startStaticServer({ pages: { '/': (origin) => myHtml(origin) } });
 *   const browser = await launchChromium('webgpu');          // or 'wasm' (GPU off)
 *   const page = await openPage(browser, server.url('/'));   // page.errors collects page errors
 *   ...
 *   await saveScreenshot(page, 'inspector-wasm');            // test-results/browser/inspector-wasm.png
 *   await browser.close(); await server.close();
 *
 * - `startStaticServer` (test/support/staticServer.ts) serves the repository root with pages given as
 *   strings or functions of the origin.
 * - `launchChromium('webgpu')` turns on WebGPU on SwiftShader (correctness only, never speed);
 *   `launchChromium('wasm')` runs with `--disable-gpu`, so `navigator.gpu` has no adapter.
 *   Set CHROMIUM_PATH to use another binary than /usr/bin/chromium.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_WEBGPU_ARGS } from '../../cli/chromium.js';
import { REPO_ROOT } from '../support/paths.js';


export const CHROMIUM_WASM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-breakpad', '--disable-crash-reporter',
];

export type ChromiumMode = 'webgpu' | 'wasm';

export async function launchChromium(mode: ChromiumMode): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: mode === 'webgpu' ? CHROMIUM_WEBGPU_ARGS : CHROMIUM_WASM_ARGS,
  });
}

export type CollectingPage = Page & { errors: string[] };

/** A new page at `url` whose uncaught errors and console errors are collected in `page.errors`. */
export async function openPage(browser: Browser, url: string, viewport = { width: 1280, height: 900 }): Promise<CollectingPage> {
  const page = Object.assign(await browser.newPage({ viewport }), { errors: [] as string[] });
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && page.errors.push(m.text()));
  await page.goto(url);
  return page;
}

/** Saves a full-page screenshot to test-results/browser/NAME.png and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  const dir = join(REPO_ROOT, 'test-results', 'browser');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
