/**
 * Talking to whoever hosts the page: the VS Code extension (protocol/benchmark.ts; exports through its
 * save dialog) or, standalone in a browser (CLI, tests), downloads.
 */
import { benchmarkProtocol, type BenchmarkPageMessage } from '../../protocol/benchmark.js';
import { pageMessenger } from '../../protocol/messenger.js';
import { vsCodeTransport, type PostsToHost } from '../hostTransport.js';

declare const acquireVsCodeApi: (() => PostsToHost) | undefined;

const vscode = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : undefined;
// A malformed message from the host is refused and said in the host's log.
const messenger = vscode && pageMessenger(benchmarkProtocol, vsCodeTransport(vscode), (text) => post({ type: 'log', level: 'warn', message: text }));

export const inVsCode = vscode !== undefined;

export function post(message: BenchmarkPageMessage): void {
  messenger?.notify(message);
}

export function announceReady(): void {
  messenger?.announceReady();
}

function base64Of(text: string): string {
  let bin = '';
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** Exports through the extension's save dialog (resolves with what happened); standalone it downloads. */
export function save(fileName: string, mime: string, data: string, isBase64: boolean): Promise<string> {
  if (messenger) {
    return messenger.request('save', { fileName, mime, base64: isBase64 ? data : base64Of(data) }).then(
      (r) => (r.path ? `Saved ${r.path}` : `Not saved: ${r.error ?? 'unknown reason'}`),
      (e: unknown) => `Not saved: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const a = document.createElement('a');
  a.href = isBase64 ? `data:${mime};base64,${data}` : URL.createObjectURL(new Blob([data], { type: mime }));
  a.download = fileName;
  a.click();
  return Promise.resolve(`Downloaded ${fileName}`);
}
