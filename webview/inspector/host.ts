/** The VS Code side of the page: typed posting, incoming messages, and the state kept across reloads. */
import { isHostToWebview, type HostToWebview, type InspectorState, type WebviewToHost } from '../../src/protocol.js';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): InspectorState | undefined;
  setState(state: InspectorState): void;
}
declare const acquireVsCodeApi: () => VsCodeApi;

const api = acquireVsCodeApi();

export function post(message: WebviewToHost): void {
  api.postMessage(message);
}

export function onHostMessage(handler: (m: HostToWebview) => void): void {
  window.addEventListener('message', (e: MessageEvent) => {
    if (isHostToWebview(e.data)) handler(e.data);
  });
}

export function getState(): InspectorState {
  return api.getState() ?? {};
}

export function setState(s: InspectorState): void {
  api.setState(s);
}

let saveId = 0;
const pendingSaves = new Map<number, (r: { path?: string; error?: string }) => void>();

/** Asks the host to save a file (save dialog); resolves with where it went, or why not. */
export function save(fileName: string, mime: string, bytes: Uint8Array): Promise<{ path?: string; error?: string }> {
  const id = ++saveId;
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  post({ type: 'save', id, fileName, mime, base64: btoa(binary) });
  return new Promise((resolve) => pendingSaves.set(id, resolve));
}

export function settleSave(replyTo: number, r: { path?: string; error?: string }): void {
  pendingSaves.get(replyTo)?.(r);
  pendingSaves.delete(replyTo);
}
