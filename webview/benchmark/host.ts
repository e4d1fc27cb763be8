/**
 * Talking to whoever hosts the page: the VS Code extension (save dialogs for exports) or, standalone in
 * a browser (CLI, tests), downloads and a global the driver reads.
 */
import type { BenchmarkToHost } from '../../kernels/bench/viewMessages.js';

interface VsCodeApi {
  postMessage(message: BenchmarkToHost): void;
}
declare const acquireVsCodeApi: (() => VsCodeApi) | undefined;

const vscode: VsCodeApi | undefined = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : undefined;

export const inVsCode = vscode !== undefined;

export function post(message: BenchmarkToHost): void {
  vscode?.postMessage(message);
}

/** Exports go through the extension's save dialog; standalone they download. */
export function save(format: 'csv' | 'json' | 'png', fileName: string, data: string, base64: boolean): void {
  if (vscode) {
    vscode.postMessage({ type: 'save', format, fileName, data, base64 });
    return;
  }
  const a = document.createElement('a');
  a.href = base64 ? `data:image/png;base64,${data}` : URL.createObjectURL(new Blob([data], { type: format === 'csv' ? 'text/csv' : 'application/json' }));
  a.download = fileName;
  a.click();
}
