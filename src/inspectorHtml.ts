/**
 * The inspector panel's HTML, shared by the VS Code panel and the standalone page the browser tests
 * serve (CSP in webviewHtml.ts). The `csp-nonce` meta lets the toolkit (FAST) give its probing <style>
 * element the nonce instead of tripping the CSP.
 */
import { escapeAttr, webviewCsp } from './webviewHtml.js';

export interface InspectorHtmlOptions {
  /** Origin(s) allowed for styles, images and fetches (VS Code: `webview.cspSource`). */
  cspSource: string;
  nonce: string;
  scriptUri: string;
  styleUri: string;
}

export function inspectorHtml(o: InspectorHtmlOptions): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(webviewCsp(o.cspSource, o.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta property="csp-nonce" content="${escapeAttr(o.nonce)}">
<link rel="stylesheet" href="${escapeAttr(o.styleUri)}">
<title>Attention Inspector</title>
</head>
<body>
<main id="app" aria-label="Attention Inspector" data-nonce="${escapeAttr(o.nonce)}">
  <p class="placeholder">Select text in an editor and run <strong>Inspect Attention</strong>.</p>
</main>
<script type="module" nonce="${escapeAttr(o.nonce)}" src="${escapeAttr(o.scriptUri)}"></script>
</body>
</html>
`;
}
