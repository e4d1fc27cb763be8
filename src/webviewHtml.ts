/**
 * What every webview page of the extension shares: its Content Security Policy, attribute escaping and
 * nonces. No vscode import: the browser tests and the CLI build the same pages outside VS Code.
 *
 * The policy loads nothing from the network; scripts run by nonce; 'wasm-unsafe-eval' is there only
 * because onnxruntime compiles WebAssembly; fetches (model files, ORT's wasm) stay on the webview's origin.
 * Styles also accept the nonce so the toolkit (FAST) can add its probing <style> element.
 */

export function webviewCsp(cspSource: string, nonce: string): string {
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
