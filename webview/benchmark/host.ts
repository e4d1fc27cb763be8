/**
 * Talking to whoever hosts the page: the VS Code extension (src/protocol.ts messages; exports through
 * its save dialog) or, standalone in a browser (CLI, tests), downloads.
 */
import { idCounter, isHostToWebview, PROTOCOL_VERSION, type WebviewToHost } from '../../src/protocol.js';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
}
declare const acquireVsCodeApi: (() => VsCodeApi) | undefined;

const vscode: VsCodeApi | undefined = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : undefined;
const nextId = idCounter();
const pendingSaves = new Map<number, (outcome: string) => void>();

export const inVsCode = vscode !== undefined;

export function post(message: WebviewToHost): void {
  vscode?.postMessage(message);
}

export function announceReady(): void {
  post({ type: 'ready', version: PROTOCOL_VERSION });
}

function base64Of(text: string): string {
  let bin = '';
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** Exports through the extension's save dialog (resolves with what happened); standalone it downloads. */
export function save(fileName: string, mime: string, data: string, isBase64: boolean): Promise<string> {
  if (vscode) {
    const id = nextId();
    vscode.postMessage({ type: 'save', id, fileName, mime, base64: isBase64 ? data : base64Of(data) });
    return new Promise((resolve) => pendingSaves.set(id, resolve));
  }
  const a = document.createElement('a');
  a.href = isBase64 ? `data:${mime};base64,${data}` : URL.createObjectURL(new Blob([data], { type: mime }));
  a.download = fileName;
  a.click();
  return Promise.resolve(`Downloaded ${fileName}`);
}

window.addEventListener('message', (e: MessageEvent<unknown>) => {
  const m = e.data;
  if (!isHostToWebview(m) || m.type !== 'saved') return;
  pendingSaves.get(m.replyTo)?.(m.path ? `Saved ${m.path}` : `Not saved: ${m.error ?? 'unknown reason'}`);
  pendingSaves.delete(m.replyTo);
});
