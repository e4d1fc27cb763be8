/**
 * The inspector panel: one webview panel reused by every inspection, restored after a window reload
 * (serializer), talking the protocol of src/protocol.ts. Messages wait until the page says `ready`.
 */
import * as vscode from 'vscode';
import { inspectorHtml } from './inspectorHtml.js';
import { makeNonce } from './webviewHtml.js';
import { isWebviewToHost, PROTOCOL_VERSION, type HostToWebview, type HoverSummary, type InspectRequest, type InspectorState, type RunFacts } from './protocol.js';

export const INSPECTOR_VIEW_TYPE = 'attentionInspector.inspector';

export interface PanelEvents {
  onResult(requestId: number, facts: RunFacts): void;
  onHoverSummary(requestId: number, summary: HoverSummary): void;
  onError(requestId: number | undefined, message: string): void;
  /** After a reload: the request the page had shown, to run again with fresh URIs. */
  onRestore(state: InspectorState, panel: InspectorPanel): void;
}

export class InspectorPanel implements vscode.Disposable {
  private static current: InspectorPanel | undefined;
  private ready = false;
  private queue: HostToWebview[] = [];
  private readonly disposables: vscode.Disposable[] = [];
  private lastRequestId: number | undefined;

  /** The open panel, revealed, or a new one. */
  static show(extensionUri: vscode.Uri, roots: vscode.Uri[], log: vscode.LogOutputChannel, events: PanelEvents): InspectorPanel {
    const existing = InspectorPanel.current;
    if (existing) {
      existing.setRoots(extensionUri, roots);
      existing.panel.reveal(existing.panel.viewColumn ?? vscode.ViewColumn.Beside, true);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(INSPECTOR_VIEW_TYPE, 'Attention Inspector', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [extensionUri, ...roots.filter((r) => !r.toString().startsWith(`${extensionUri.toString()}/`))],
    });
    return new InspectorPanel(panel, extensionUri, log, events);
  }

  /** Serializer for restore after reload. */
  static serializer(extensionUri: vscode.Uri, log: vscode.LogOutputChannel, events: PanelEvents): vscode.WebviewPanelSerializer<InspectorState> {
    return {
      async deserializeWebviewPanel(panel, state) {
        panel.webview.options = { enableScripts: true, localResourceRoots: [extensionUri] };
        const p = new InspectorPanel(panel, extensionUri, log, events);
        if (state?.request) events.onRestore(state, p);
      },
    };
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    private readonly events: PanelEvents,
  ) {
    InspectorPanel.current?.dispose();
    InspectorPanel.current = this;
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.svg');
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m) => this.receive(m)),
    );
    this.render();
  }

  get webview(): vscode.Webview {
    return this.panel.webview;
  }

  /**
   * Makes sure the page may load from `roots` (a model folder outside the extension). Changing the roots
   * reloads the page, so messages wait for its next `ready`.
   */
  setRoots(extensionUri: vscode.Uri, roots: vscode.Uri[]): void {
    const have = this.panel.webview.options.localResourceRoots ?? [];
    const covered = (u: vscode.Uri) => have.some((r) => u.toString() === r.toString() || u.toString().startsWith(`${r.toString()}/`));
    if (roots.every(covered)) return;
    this.panel.webview.options = { ...this.panel.webview.options, localResourceRoots: [extensionUri, ...roots] };
    this.render();
  }

  private render(): void {
    this.ready = false;
    const w = this.panel.webview;
    const asUri = (...p: string[]) => w.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, ...p)).toString();
    w.html = inspectorHtml({ cspSource: w.cspSource, nonce: makeNonce(), scriptUri: asUri('dist', 'webview', 'inspector.js'), styleUri: asUri('media', 'inspector.css') });
  }

  /** Starts an inspection, cancelling the one in flight. */
  inspect(request: InspectRequest): void {
    if (this.lastRequestId !== undefined) this.post({ type: 'cancel', requestId: this.lastRequestId });
    this.lastRequestId = request.requestId;
    this.post(request);
  }

  post(message: HostToWebview): void {
    if (!this.ready) {
      this.queue.push(message);
      return;
    }
    void this.panel.webview.postMessage(message);
  }

  private receive(m: unknown): void {
    if (!isWebviewToHost(m)) {
      this.log.warn('inspector: ignored a malformed message from the panel');
      return;
    }
    switch (m.type) {
      case 'ready': {
        if (m.version !== PROTOCOL_VERSION) this.log.warn(`inspector: panel speaks protocol ${m.version}, host ${PROTOCOL_VERSION}`);
        this.ready = true;
        const queued = this.queue;
        this.queue = [];
        for (const q of queued) void this.panel.webview.postMessage(q);
        return;
      }
      case 'progress':
        this.log.debug(`inspection ${m.requestId}: ${m.stage}`);
        return;
      case 'result':
        this.events.onResult(m.requestId, m.facts);
        return;
      case 'hoverSummary':
        this.events.onHoverSummary(m.requestId, m.summary);
        return;
      case 'error':
        this.events.onError(m.requestId, m.message);
        return;
      case 'log':
        this.log[m.level](`panel: ${m.message}`);
        return;
      case 'save':
        void this.save(m.id, m.fileName, m.base64);
        return;
    }
  }

  private async save(id: number, fileName: string, base64: string): Promise<void> {
    const base = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({ defaultUri: base ? vscode.Uri.joinPath(base, fileName) : undefined, saveLabel: 'Export' });
    if (!target) {
      this.post({ type: 'saved', replyTo: id, error: 'cancelled' });
      return;
    }
    try {
      await vscode.workspace.fs.writeFile(target, Buffer.from(base64, 'base64'));
      this.log.info(`exported ${target.fsPath}`);
      this.post({ type: 'saved', replyTo: id, path: target.fsPath });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.log.error(`export to ${target.fsPath} failed: ${message}`);
      this.post({ type: 'saved', replyTo: id, error: message });
    }
  }

  private disposed = false;

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (InspectorPanel.current === this) InspectorPanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }

  static currentPanel(): InspectorPanel | undefined {
    return InspectorPanel.current;
  }

  static disposeCurrent(): void {
    InspectorPanel.current?.dispose();
  }
}
