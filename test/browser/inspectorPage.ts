/**
 * The inspector panel's page outside VS Code, for browser tests: the real HTML (src/inspectorHtml.ts)
 * and bundle, a stub of the VS Code webview API that records what the page posts, VS Code's Dark Modern
 * colours, and requests built from text with the real tokenizer (offsets → positions as the host does).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ByteLevelBpeTokenizer } from '../../kernels/tokenizer/byteLevelBpe.js';
import { inspectorHtml } from '../../src/inspectorHtml.js';
import { LineIndex, toTokenInfos } from '../../src/inspectSelection.js';
import type { HostToWebview, InspectRequest, WebviewToHost } from '../../src/protocol.js';
import { REPO_ROOT } from '../support/paths.js';

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
  postMessage: (m) => window.__posted.push(JSON.parse(JSON.stringify(m))),
  getState: () => window.__state,
  setState: (s) => { window.__state = s; },
});`;

export function inspectorTestPage(origin: string): string {
  const html = inspectorHtml({ cspSource: origin, nonce: NONCE, scriptUri: `${origin}/dist/webview/inspector.js`, styleUri: `${origin}/media/inspector.css` });
  return html
    .replace('</head>', `<style nonce="${NONCE}">${DARK_MODERN}</style>\n</head>`)
    .replace('<script type="module"', `<script nonce="${NONCE}">${STUB}</script>\n<script type="module"`);
}

let tokenizer: ByteLevelBpeTokenizer | undefined;

export function embeddedTokenizer(): ByteLevelBpeTokenizer {
  const dir = join(REPO_ROOT, EMBEDDED_MODEL);
  tokenizer ??= ByteLevelBpeTokenizer.fromVocabAndMerges(readFileSync(join(dir, 'vocab.json'), 'utf8'), readFileSync(join(dir, 'merges.txt'), 'utf8'));
  return tokenizer;
}

export function requestFor(origin: string, text: string, requestId: number, extra: Partial<InspectRequest> = {}): InspectRequest {
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

export async function send(page: Page, m: HostToWebview): Promise<void> {
  await page.evaluate((msg) => window.postMessage(msg, '*'), m);
}

export async function posted(page: Page): Promise<WebviewToHost[]> {
  return page.evaluate(() => (window as unknown as { __posted: WebviewToHost[] }).__posted);
}

/** Waits until the page posted a message matching `pred`, and returns it. */
export async function waitForPost<T extends WebviewToHost>(page: Page, pred: (m: WebviewToHost) => m is T, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const hit = (await posted(page)).find(pred);
    if (hit) return hit;
    if (Date.now() > end) throw new Error(`timed out; the page posted: ${JSON.stringify((await posted(page)).map((m) => m.type))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Pixels of a canvas in the page, RGBA. */
export async function canvasPixels(page: Page, selector: string): Promise<{ width: number; height: number; data: number[] }> {
  return page.evaluate((sel) => {
    const c = document.querySelector<HTMLCanvasElement>(sel)!;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
    return { width: c.width, height: c.height, data: Array.from(d.data) };
  }, selector);
}
