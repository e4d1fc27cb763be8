/**
 * The inspector panel: one webview panel reused by every inspection, restored after a window reload
 * (serializer), talking the protocol of protocol/inspector.ts. Messages wait until the page says `ready`.
 */
import * as vscode from 'vscode';
import { inspectorHtml } from './inspectorHtml.js';
import { makeNonce } from './webviewHtml.js';
import {
  inspectorProtocol,
  type HostMessage,
  type HoverSummary,
  type InspectorHostVocabulary,
  type InspectorPageVocabulary,
  type InspectRequest,
  type InspectorState,
  type RunFacts,
  type WeightsLoad,
  type WeightsTransport,
} from '../protocol/inspector.js';
import type { Messenger } from '../protocol/messenger.js';
import { readModelFileRange } from './modelFileRanges.js';
import { ModelFileServer } from './modelFileServer.js';
import { saveExport, SaveStreams } from './saveExport.js';
import { webviewMessenger } from './webviewChannel.js';

export const INSPECTOR_VIEW_TYPE = 'attentionInspector.inspector';

export interface PanelEvents {
  onResult(requestId: number, facts: RunFacts): void;
  onHoverSummary(requestId: number, summary: HoverSummary): void;
  onError(requestId: number | undefined, message: string): void;
  /** The page dropped an inspection before showing it. */
  onCancelled(requestId: number, reason: string): void;
  /** The panel went away (closed by the user, or replaced); what ran in it went with its page. */
  onClosed(): void;
  /** After a reload: the request the page had shown, to run again with fresh URIs. */
  onRestore(state: InspectorState, panel: InspectorPanel): void;
}

const MB = (n: number) => `${(n / 1e6).toFixed(0)} MB`;

/** The setting attentionInspector.weightsTransport. */
export function weightsTransportSetting(): WeightsTransport {
  return vscode.workspace.getConfiguration('attentionInspector').get<WeightsTransport>('weightsTransport', 'server');
}

/** A folder's webview URI for this page, ending in '/'. */
export function folderWebviewUri(webview: vscode.Webview, folder: vscode.Uri): string {
  const s = webview.asWebviewUri(folder).toString();
  return s.endsWith('/') ? s : `${s}/`;
}

/** Where the page reads a model's files, and how (EngineRef's `model.baseUri` and `weights`). */
export interface ModelSource {
  baseUri: string;
  weights: WeightsTransport;
}

const WAY: Record<WeightsTransport, string> = { server: "from the host's model file server", resources: 'by webview URI', messages: 'in messages from the host' };

/** `weights of gpt2 loaded: 548 MB in 12.3 s (44.6 MB/s) from the host's model file server`, for the log (the bench reads it). */
function weightsLine(w: WeightsLoad): string {
  const took = `${(w.ms / 1000).toFixed(1)} s`;
  const way = WAY[w.via ?? 'resources'];
  if (w.state === 'loaded') return `weights of ${w.modelId} loaded: ${MB(w.totalBytes)} in ${took} (${(w.totalBytes / 1e3 / Math.max(w.ms, 1)).toFixed(1)} MB/s) ${way}`;
  return `weights of ${w.modelId}: ${MB(w.loadedBytes)} / ${MB(w.totalBytes)} ${w.state === 'cancelled' ? 'when the load was cancelled' : 'loaded'} after ${took} ${way}`;
}

export class InspectorPanel implements vscode.Disposable {
  private static current: InspectorPanel | undefined;
  private readonly messenger: Messenger<InspectorHostVocabulary, InspectorPageVocabulary>;
  private readonly disposables: vscode.Disposable[] = [];
  private lastRequestId: number | undefined;
  /** Model folders the page may read through `modelFile`, by model id: the ones the host sent it. */
  private readonly modelFolders = new Map<string, string>();
  /** Started when the panel first serves a model the `server` way; its base URL is in the page's CSP. */
  private fileServer: ModelFileServer | undefined;
  private renders = 0;
  private disposed = false;

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
    this.messenger = webviewMessenger(inspectorProtocol, panel.webview, log, 'inspector');
    this.listen();
    this.disposables.push(panel.onDidDispose(() => this.dispose()), this.messenger);
    // Started before the first page, so that the page need not be loaded again to allow it.
    if (weightsTransportSetting() === 'server') this.startFileServer();
    this.render();
  }

  /** The user closed it (or a new panel replaced it). */
  get closed(): boolean {
    return this.disposed;
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

  /** Loads the page; only the latest of several renders in flight sets it (each waits for the server's URL). */
  private render(): void {
    this.messenger.awaitReady();
    const w = this.panel.webview;
    const asUri = (...p: string[]) => w.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, ...p)).toString();
    const render = ++this.renders;
    const fetchFrom = this.fileServer?.base().then((b) => [b], () => []) ?? Promise.resolve([]);
    void fetchFrom.then((fetchFrom) => {
      if (this.disposed || render !== this.renders) return;
      // Again: a `ready` of the page being replaced, come meanwhile, must not let messages through to it.
      this.messenger.awaitReady();
      w.html = inspectorHtml({ cspSource: w.cspSource, nonce: makeNonce(), scriptUri: asUri('dist', 'webview', 'inspector.js'), styleUri: asUri('media', 'inspector.css'), fetchFrom });
    });
  }

  private startFileServer(): ModelFileServer {
    this.fileServer = new ModelFileServer(async (local) => (await vscode.env.asExternalUri(vscode.Uri.parse(local))).toString(true));
    return this.fileServer;
  }

  /**
   * Lets the page read model `id`'s files from `folder` (a file: URI) the way asked: from the host's model
   * file server (started, and the page loaded again to allow it, on first use), by webview URI, or by
   * `modelFile` requests. A server that cannot start is logged and the webview URI used.
   */
  async serveModel(id: string, folder: vscode.Uri, via: WeightsTransport): Promise<ModelSource> {
    this.modelFolders.set(id, folder.fsPath);
    if (via === 'server') {
      let server = this.fileServer;
      if (!server) {
        server = this.startFileServer();
        this.render();
      }
      try {
        return { baseUri: await server.folderUrl(folder.fsPath), weights: 'server' };
      } catch (e) {
        this.log.warn(`the model file server did not start (${(e as Error).message}); the panel reads the weights by webview URI`);
      }
    }
    return { baseUri: folderWebviewUri(this.webview, folder), weights: via === 'messages' ? 'messages' : 'resources' };
  }

  /** Starts an inspection, cancelling the one in flight. */
  inspect(request: InspectRequest): void {
    if (this.lastRequestId !== undefined) this.post({ type: 'cancel', requestId: this.lastRequestId });
    this.lastRequestId = request.requestId;
    this.post({ type: 'inspect', ...request });
  }

  /** Dropped once the panel is closed (a run may still be on its way to it). */
  post(message: HostMessage): void {
    if (this.disposed) return;
    this.messenger.notify(message);
  }

  private listen(): void {
    const m = this.messenger;
    m.on('progress', (p) => this.log.debug(`inspection ${p.requestId}: ${p.stage}`));
    m.on('mapsProgress', (p) => this.log.debug(`inspection ${p.requestId}: maps of ${p.layersDone}/${p.layers} layers`));
    m.on('mapsCancelled', (p) => this.log.info(`inspection ${p.requestId}: maps cancelled in the panel after ${p.layersDone}/${p.layers} layers`));
    m.on('weights', (w) => this.log[w.state === 'loading' ? 'debug' : 'info'](weightsLine(w)));
    m.on('result', (r) => this.events.onResult(r.requestId, r.facts));
    m.on('hoverSummary', (h) => this.events.onHoverSummary(h.requestId, h.summary));
    m.on('error', (e) => this.events.onError(e.requestId, e.message));
    m.on('cancelled', (c) => this.events.onCancelled(c.requestId, c.reason));
    m.on('log', (l) => this.log[l.level](`panel: ${l.message}`));
    m.handle('save', (file) => saveExport(file, this.log, 'inspector'));
    const streams = new SaveStreams(this.log, 'inspector');
    this.disposables.push({ dispose: () => void streams.dispose() });
    m.handle('saveStreamOpen', (p) => streams.start(p.fileName));
    m.handle('saveStreamWrite', (p) => streams.write(p.streamId, p.base64));
    m.handle('saveStreamClose', (p) => streams.finish(p.streamId, p.abort));
    m.handle('modelFile', async ({ modelId, name, start, length }) => {
      const folder = this.modelFolders.get(modelId);
      if (folder === undefined) throw new Error(`the panel asked for ${name} of ${modelId}, a model it was not given`);
      return readModelFileRange(folder, name, start, length);
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.events.onClosed();
    if (InspectorPanel.current === this) InspectorPanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.fileServer?.dispose();
    this.panel.dispose();
  }

  static currentPanel(): InspectorPanel | undefined {
    return InspectorPanel.current;
  }

  static disposeCurrent(): void {
    InspectorPanel.current?.dispose();
  }
}
