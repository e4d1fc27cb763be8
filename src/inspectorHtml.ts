/**
 * The inspector panel's HTML, shared by the VS Code panel and the standalone page the browser tests
 * serve. Strict CSP: nothing from the network; scripts by nonce; 'wasm-unsafe-eval' only because
 * onnxruntime compiles WebAssembly; fetches (model files, ORT's wasm) only from the webview's own origin.
 * No vscode import: the tests build the same page. The `csp-nonce` meta lets the toolkit (FAST) give
 * its probing <style> element the nonce instead of tripping the CSP.
 */

export interface InspectorHtmlOptions {
  /** Origin(s) allowed for styles, images and fetches (VS Code: `webview.cspSource`). */
  cspSource: string;
  nonce: string;
  scriptUri: string;
  styleUri: string;
}

function attr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

export function inspectorCsp(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}' 'wasm-unsafe-eval' ${cspSource}`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `img-src ${cspSource} data: blob:`,
    `font-src ${cspSource}`,
    `connect-src ${cspSource}`,
    `worker-src ${cspSource} blob:`,
  ].join('; ');
}

export function inspectorHtml(o: InspectorHtmlOptions): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${attr(inspectorCsp(o.cspSource, o.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta property="csp-nonce" content="${attr(o.nonce)}">
<link rel="stylesheet" href="${attr(o.styleUri)}">
<title>Attention Inspector</title>
</head>
<body>
<main id="app" aria-label="Attention Inspector" data-nonce="${attr(o.nonce)}">
  <p class="placeholder">Select text in an editor and run <strong>Inspect Attention</strong>.</p>
</main>
<script type="module" nonce="${attr(o.nonce)}" src="${attr(o.scriptUri)}"></script>
</body>
</html>
`;
}

/** A random nonce for one page load. */
export function makeNonce(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < 32; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}
