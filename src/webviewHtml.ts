/**
 * What every webview page of the extension shares: its Content Security Policy, attribute escaping and
 * nonces. No vscode import: the browser tests and the CLI build the same pages outside VS Code.
 *
 * The policy loads nothing from the network; scripts run by nonce; 'wasm-unsafe-eval' is there only
 * because onnxruntime compiles WebAssembly; fetches (model files, ORT's wasm) stay on the webview's origin,
 * or go to the extension host's own model file server (src/modelFileServer.ts) where one is given.
 * Styles also accept the nonce so the toolkit (FAST) can add its probing <style> element.
 */

export function webviewCsp(cspSource: string, nonce: string, fetchFrom: readonly string[] = []): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}' 'wasm-unsafe-eval' ${cspSource}`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `img-src ${cspSource} data: blob:`,
    `font-src ${cspSource}`,
    `connect-src ${[cspSource, ...fetchFrom].join(' ')}`,
    `worker-src ${cspSource} blob:`,
  ].join('; ');
}

export function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/** A random nonce for one page load. */
export function makeNonce(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < 32; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}

/** The page files and security values a webview page is built from. */
export interface WebviewPageOptions {
  /** Origin(s) allowed for scripts, styles, images and fetches (VS Code: `webview.cspSource`). */
  cspSource: string;
  nonce: string;
  scriptUri: string;
  styleUri: string;
  /** Further URL prefixes the page may fetch from (the host's model file server), nothing else. */
  fetchFrom?: readonly string[];
}

/** A whole page: CSP, the `csp-nonce` meta the toolkit reads, the stylesheet, `body`, the module script. */
export function webviewPage(o: WebviewPageOptions & { title: string; bodyAttributes?: Record<string, string>; body: string }): string {
  const attrs = Object.entries(o.bodyAttributes ?? {}).map(([k, v]) => ` ${k}="${escapeAttr(v)}"`).join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(webviewCsp(o.cspSource, o.nonce, o.fetchFrom))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta property="csp-nonce" content="${escapeAttr(o.nonce)}">
<link rel="stylesheet" href="${escapeAttr(o.styleUri)}">
<title>${o.title}</title>
</head>
<body${attrs}>
${o.body}
<script type="module" nonce="${escapeAttr(o.nonce)}" src="${escapeAttr(o.scriptUri)}"></script>
</body>
</html>
`;
}
