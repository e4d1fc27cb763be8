/**
 * The side-bar Benchmark view (`attentionInspector.benchmark`): a webview running the kernel benchmark
 * (webview/benchmark) with ORT's wasm from dist/ort; exports go through a save dialog.
 */
import * as vscode from 'vscode';
import { benchmarkHtml } from './benchmarkHtml.js';
import { makeNonce } from './webviewHtml.js';
import { isWebviewToHost, type HostToWebview, type WebviewToHost } from './protocol.js';

export const BENCHMARK_VIEW_ID = 'attentionInspector.benchmark';

class BenchmarkViewProvider implements vscode.WebviewViewProvider {
  private view?: vscode.WebviewView;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const w = view.webview;
    w.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist'), vscode.Uri.joinPath(this.extensionUri, 'media')] };
    const asUri = (...p: string[]) => w.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, ...p)).toString();
    w.html = benchmarkHtml({
      cspSource: w.cspSource,
      nonce: makeNonce(),
      scriptUri: asUri('dist', 'webview', 'benchmark.js'),
      styleUri: asUri('media', 'benchmark.css'),
      ortBase: asUri('dist', 'ort') + '/',
    });
    w.onDidReceiveMessage((m: unknown) => {
      if (isWebviewToHost(m)) void this.handle(m);
    });
  }

  private post(m: HostToWebview): void {
    void this.view?.webview.postMessage(m);
  }

  private async handle(m: WebviewToHost): Promise<void> {
    if (m.type === 'log') this.log[m.level](`benchmark: ${m.message}`);
    if (m.type !== 'save') return;
    const base = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({ defaultUri: base ? vscode.Uri.joinPath(base, m.fileName) : undefined, saveLabel: 'Export' });
    if (!target) return this.post({ type: 'saved', replyTo: m.id, error: 'cancelled' });
    try {
      await vscode.workspace.fs.writeFile(target, Buffer.from(m.base64, 'base64'));
      this.log.info(`benchmark exported to ${target.fsPath}`);
      this.post({ type: 'saved', replyTo: m.id, path: target.fsPath });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.log.error(`benchmark export to ${target.fsPath} failed: ${message}`);
      this.post({ type: 'saved', replyTo: m.id, error: message });
    }
  }
}

/** Registers the Benchmark view's provider; the view keeps its state while hidden (a run continues). */
export function registerBenchmarkView(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): vscode.Disposable {
  return vscode.window.registerWebviewViewProvider(BENCHMARK_VIEW_ID, new BenchmarkViewProvider(context.extensionUri, log), {
    webviewOptions: { retainContextWhenHidden: true },
  });
}
