/**
 * The inspector panel's page outside VS Code, for browser tests: the real HTML (src/inspectorHtml.ts)
 * and bundle, a stub of the VS Code webview API that records what the page posts (protocol/messenger.ts envelopes), VS Code's Dark Modern
 * colours, and requests built from text with the real tokenizer (offsets → positions as the host does).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ByteLevelBpeTokenizer } from '../../kernels/tokenizer/byteLevelBpe.js';
import { inspectorHtml } from '../../src/inspectorHtml.js';
import { LineIndex, toTokenInfos } from '../../src/inspectSelection.js';
import type { HostMessage, InspectRequest, PanelMessage } from '../../protocol/inspector.js';
import type { Envelope } from '../../protocol/messenger.js';
import { REPO_ROOT } from '../support/paths.js';
import { startStaticServer, type StaticServer } from '../support/staticServer.js';
import { launchChromium, openPage, type ChromiumMode, type CollectingPage } from './harness.js';

export const EMBEDDED_MODEL = 'media/models/tinycode-4l8h-1k';
const NONCE = 'testnonce0123456789';

/** A few of VS Code's Dark Modern theme variables, so screenshots look like the real panel. */
const DARK_MODERN = `
body { --vscode-foreground:#cccccc; --vscode-editor-background:#1f1f1f; --vscode-sideBar-background:#181818;
  --vscode-descriptionForeground:#9d9d9d; --vscode-panel-border:#2b2b2b; --vscode-focusBorder:#0078d4;
  --vscode-badge-background:#616161; --vscode-badge-foreground:#f8f8f8; --vscode-charts-blue:#3794ff;
  --vscode-charts-yellow:#cca700; --vscode-charts-green:#89d185; --vscode-charts-orange:#d18616; --vscode-charts-red:#f14c4c;
  --vscode-charts-purple:#b180d7; --vscode-textBlockQuote-background:#2b2b2b; --vscode-textLink-foreground:#4daafc;
  --vscode-editorWarning-foreground:#cca700; --vscode-editor-selectionBackground:#264f78; --vscode-editor-inactiveSelectionBackground:#3a3d41;
  --vscode-list-inactiveSelectionBackground:#37373d; --vscode-font-family:system-ui, sans-serif; --vscode-font-size:13px;
  --vscode-editor-font-family:'DejaVu Sans Mono', monospace; }`;

const STUB = `
window.__posted = [];
window.__state = undefined;
window.acquireVsCodeApi = () => ({
  // A test that answers requests (window.__answerRequest, exposed from Node) gets them; only their type is recorded.
  postMessage: (m) => {
    if (m.kind === 'request' && window.__answerRequest) {
      window.__posted.push({ kind: 'request', id: m.id, type: m.type });
      window.__answerRequest(m).then((reply) => window.postMessage(reply, '*'));
      return;
    }
    window.__posted.push(JSON.parse(JSON.stringify(m)));
  },
  getState: () => window.__state,
  setState: (s) => { window.__state = s; },
});`;

export function inspectorTestPage(origin: string): string {
  const html = inspectorHtml({ cspSource: origin, nonce: NONCE, scriptUri: `${origin}/dist/webview/inspector.js`, styleUri: `${origin}/media/inspector.css` });
  return html
    .replace('</head>', `<style nonce="${NONCE}">${DARK_MODERN}</style>\n</head>`)
    .replace('<script type="module"', `<script nonce="${NONCE}">${STUB}</script>\n<script type="module"`);
}

/** The inspector page served from the repository, open in Chromium, its ready message received. */
export interface OpenInspectorPage {
  server: StaticServer;
  browser: Browser;
  page: CollectingPage;
  close(): Promise<void>;
}

export async function openInspectorPage(mode: ChromiumMode, viewport?: { width: number; height: number }): Promise<OpenInspectorPage> {
  const server = await startStaticServer({ pages: { '/inspector.html': inspectorTestPage } });
  const browser = await launchChromium(mode);
  const close = async (): Promise<void> => {
    await browser.close();
    await server.close();
  };
  try {
    const page = await openPage(browser, server.url('/inspector.html'), viewport);
    await waitForReady(page, 30_000);
    return { server, browser, page, close };
  } catch (e) {
    await close();
    throw e;
  }
}

let tokenizer: ByteLevelBpeTokenizer | undefined;

export function embeddedTokenizer(): ByteLevelBpeTokenizer {
  const dir = join(REPO_ROOT, EMBEDDED_MODEL);
  tokenizer ??= ByteLevelBpeTokenizer.fromVocabAndMerges(readFileSync(join(dir, 'vocab.json'), 'utf8'), readFileSync(join(dir, 'merges.txt'), 'utf8'));
  return tokenizer;
}

export function requestFor(origin: string, text: string, requestId: number, extra: Partial<InspectRequest> = {}): InspectRequest & { type: 'inspect' } {
  const lines = new LineIndex(text);
  const tokens = toTokenInfos(embeddedTokenizer().encode(text), 0, lines);
  return {
    type: 'inspect',
    requestId,
    model: { id: 'embedded:tinycode-4l8h-1k', label: 'tinycode-4l8h-1k (embedded)', baseUri: `${origin}/${EMBEDDED_MODEL}/` },
    ortBase: `${origin}/dist/ort/`,
    backend: 'auto',
    colorScale: 'linear',
    topK: 5,
    tokens,
    notices: [],
    source: { fileName: 'sample.py', languageId: 'python', startLine: 0, endLine: lines.positionAt(text.length).line },
    commandEpochMs: Date.now(),
    ...extra,
  };
}

/** Posts host notifications to the page in one task, as the host would post them back to back. */
export async function sendAll(page: Page, messages: HostMessage[]): Promise<void> {
  const envelopes: Envelope[] = messages.map((message) => ({ kind: 'notification', message }));
  await page.evaluate((es) => es.forEach((e) => window.postMessage(e, '*')), envelopes);
}

export async function send(page: Page, m: HostMessage): Promise<void> {
  await sendAll(page, [m]);
}

async function envelopes(page: Page): Promise<Envelope[]> {
  return page.evaluate(() => (window as unknown as { __posted: Envelope[] }).__posted);
}

/** The notifications the page posted so far. */
export async function posted(page: Page): Promise<PanelMessage[]> {
  return (await envelopes(page)).flatMap((e) => (e.kind === 'notification' ? [e.message as PanelMessage] : []));
}

async function waitFor<T>(page: Page, find: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const hit = await find();
    if (hit !== undefined) return hit;
    if (Date.now() > end) throw new Error(`timed out; the page posted: ${JSON.stringify((await envelopes(page)).map((e) => (e.kind === 'notification' ? e.message.type : e.kind)))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the page posted a notification matching `pred`, and returns it. */
export async function waitForPost<T extends PanelMessage>(page: Page, pred: (m: PanelMessage) => m is T, timeoutMs = 120_000): Promise<T> {
  return waitFor(page, async () => (await posted(page)).find(pred), timeoutMs);
}

/** Waits until the page said `ready` (its handlers are in place). */
export async function waitForReady(page: Page, timeoutMs: number): Promise<void> {
  await waitFor(page, async () => (await envelopes(page)).find((e) => e.kind === 'ready'), timeoutMs);
}

/** Pixels of a canvas in the page, RGBA. */
export async function canvasPixels(page: Page, selector: string): Promise<{ width: number; height: number; data: number[] }> {
  return page.evaluate((sel) => {
    const c = document.querySelector<HTMLCanvasElement>(sel)!;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
    return { width: c.width, height: c.height, data: Array.from(d.data) };
  }, selector);
}
