/**
 * The side-bar Benchmark view (`attentionInspector.benchmark`): a webview running the kernel benchmark
 * (webview/benchmark) with ORT's wasm from dist/ort; exports go through a save dialog.
 */
import * as vscode from 'vscode';
import { benchmarkHtml } from './benchmarkHtml.js';
import { makeNonce } from './webviewHtml.js';
import { benchmarkProtocol } from '../protocol/benchmark.js';
import { saveExport } from './saveExport.js';
import { webviewMessenger } from './webviewChannel.js';

export const BENCHMARK_VIEW_ID = 'attentionInspector.benchmark';

class BenchmarkViewProvider implements vscode.WebviewViewProvider {
  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    const w = view.webview;
    w.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist'), vscode.Uri.joinPath(this.extensionUri, 'media')] };
    const messenger = webviewMessenger(benchmarkProtocol, w, this.log, 'benchmark');
    messenger.on('log', (l) => this.log[l.level](`benchmark: ${l.message}`));
    messenger.handle('save', (file) => saveExport(file, this.log, 'benchmark'));
    view.onDidDispose(() => messenger.dispose());
    const asUri = (...p: string[]) => w.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, ...p)).toString();
    w.html = benchmarkHtml({
      cspSource: w.cspSource,
      nonce: makeNonce(),
      scriptUri: asUri('dist', 'webview', 'benchmark.js'),
      styleUri: asUri('media', 'benchmark.css'),
      ortBase: asUri('dist', 'ort') + '/',
    });
  }
}

/** Registers the Benchmark view's provider; the view keeps its state while hidden (a run continues). */
export function registerBenchmarkView(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): vscode.Disposable {
  return vscode.window.registerWebviewViewProvider(BENCHMARK_VIEW_ID, new BenchmarkViewProvider(context.extensionUri, log), {
    webviewOptions: { retainContextWhenHidden: true },
  });
}
