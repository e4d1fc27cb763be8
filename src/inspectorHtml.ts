/**
 * The inspector panel's HTML, shared by the VS Code panel and the standalone page the browser tests
 * serve (page shell and CSP in webviewHtml.ts).
 */
import { escapeAttr, webviewPage, type WebviewPageOptions } from './webviewHtml.js';

export function inspectorHtml(o: WebviewPageOptions): string {
  return webviewPage({
    ...o,
    title: 'Attention Inspector',
    body: `<main id="app" aria-label="Attention Inspector" data-nonce="${escapeAttr(o.nonce)}">
  <p class="placeholder">Select text in an editor and run <strong>Inspect Attention</strong>.</p>
</main>`,
  });
}
