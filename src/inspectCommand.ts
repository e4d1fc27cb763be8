/**
 * The `attentionInspector.inspect` command: picks the text (selection rules in inspectSelection.ts),
 * tokenizes it in the host (offsets → editor ranges), records it for hovers and hands it to the panel,
 * which runs the model. A new inspection supersedes the one in flight.
 * The host is shared by every extension of the window, so a huge selection is read in slices and only
 * as much of it is tokenized as will be inspected (kernels/tokenizer/tokenizePrefix.ts): a few ms.
 */
import * as vscode from 'vscode';
import type { ActiveModel, ActiveModelProvider } from './activeModel.js';
import type { InspectionHovers } from './hovers.js';
import { folderWebviewUri, InspectorPanel, weightsTransportSetting, type PanelEvents } from './inspectorPanel.js';
import { chooseRange, isBlank, toTokenInfos, tokenLimit, truncateTokens, type OffsetRange } from './inspectSelection.js';
import type { TextSource } from '../kernels/tokenizer/tokenizePrefix.js';
import type { HostModelCache } from './hostModel.js';
import type { BackendChoice, ColorScale, EngineRef, InspectorState, InspectRequest, ModelName, RunFacts } from '../protocol/inspector.js';
import { idCounter } from '../protocol/messenger.js';
import { checkPanelBudget, defaultMaxTokens } from './memoryBudget.js';

interface Pending {
  started: number;
  model: string;
  tokens: number;
}

export class InspectCommand implements vscode.Disposable {
  private readonly nextId = idCounter();
  private latest = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly models: ActiveModelProvider,
    private readonly hostModels: HostModelCache,
    private readonly hovers: InspectionHovers,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.push(
      vscode.commands.registerCommand('attentionInspector.inspect', () => this.run()),
      vscode.window.registerWebviewPanelSerializer('attentionInspector.inspector', InspectorPanel.serializer(context.extensionUri, log, this.events)),
      // The panel labels what it shows with its model, and says when that is no longer the active one.
      models.onDidChange((m) => InspectorPanel.currentPanel()?.post({ type: 'activeModel', model: modelName(m) })),
      ...(models.onDidRemove ? [models.onDidRemove((m) => this.modelRemoved(m))] : []),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('attentionInspector.colorScale') || e.affectsConfiguration('attentionInspector.topK')) {
          const s = settings();
          InspectorPanel.currentPanel()?.post({ type: 'settings', colorScale: s.colorScale, topK: s.topK });
        }
      }),
    );
  }

  private readonly events: PanelEvents = {
    onResult: (id, facts) => this.logResult(id, facts),
    onHoverSummary: (id, summary) => this.hovers.setSummary(id, summary),
    onError: (id, message) => {
      this.log.error(`inspection ${id ?? '?'} failed: ${message}`);
      if (id === undefined || id === this.latest) void vscode.window.showErrorMessage(`Attention Inspector: ${message}`);
    },
    onCancelled: (id, reason) => {
      this.pending.delete(id);
      this.log.info(`inspection ${id}: cancelled in the panel (${reason})`);
    },
    onClosed: () => {
      for (const id of this.pending.keys()) this.log.info(`inspection ${id}: the panel was closed before its result`);
      this.pending.clear();
    },
    onRestore: (state, panel) => void this.restore(state, panel),
  };

  private modelRemoved(m: ActiveModel): void {
    this.log.info(`model ${m.label} removed; the panel is told`);
    InspectorPanel.currentPanel()?.post({ type: 'modelRemoved', model: modelName(m), active: modelName(this.models.getActive()) });
  }

  async run(): Promise<void> {
    const commandEpochMs = Date.now();
    const requestId = this.nextId();
    this.latest = requestId;
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('Attention Inspector: open a file and select some text to inspect.');
      return;
    }
    const doc = editor.document;
    const chosen = chooseRange(
      editor.selections.map((s) => ({ start: doc.offsetAt(s.anchor), end: doc.offsetAt(s.active) })),
      (o) => {
        const line = doc.lineAt(doc.positionAt(o).line);
        return { line: line.lineNumber, start: doc.offsetAt(line.range.start), end: doc.offsetAt(line.range.end) };
      },
    );
    const text = documentSlices(doc, chosen.range);
    const model = this.models.getActive();
    const s = settings();
    // Before the panel loads anything: a model whose weights alone are over the budget never reaches it.
    const facts = await this.hostModels.memoryFacts(model.folderUri).catch((e: unknown) => {
      this.log.warn(`inspection ${requestId}: no memory estimate for ${model.label} (${(e as Error).message}); the budget is not checked`);
      return undefined;
    });
    if (this.superseded(requestId)) return;
    const oneToken = facts ? checkPanelBudget(facts, model.label, s.backend, 1, s.memoryBudgetMB) : { fits: true as const };
    if (!oneToken.fits) {
      this.log.warn(`inspection ${requestId}: ${oneToken.message}`);
      void this.offerSettings(vscode.window.showWarningMessage(`Attention Inspector: ${oneToken.message}`, OPEN_SETTINGS));
      return;
    }
    // maxTokens as the user set it, or what the model's context and the budget allow (without facts: the context).
    const maxTokens = s.maxTokens ?? (facts ? defaultMaxTokens(facts, s.backend, s.memoryBudgetMB) : Number.MAX_SAFE_INTEGER);
    const maxTokensIs = s.maxTokens === undefined ? 'memoryBudget' : 'maxTokens';
    const panel = InspectorPanel.show(this.context.extensionUri, [model.folderUri], this.log, this.events);
    const engine = await this.engineRef(panel, model, s.backend);
    if (this.superseded(requestId)) return;
    if (isBlank(text)) {
      const where = chosen.notices.some((n) => n.kind === 'currentLine') ? 'The current line is empty' : 'The selection holds only whitespace';
      panel.post({ type: 'message', requestId, kind: 'empty', text: `${where}: nothing to inspect. Select some text and run Inspect Attention again.` });
      return;
    }
    panel.post({ type: 'prepare', ...engine });
    try {
      const hostModel = await this.hostModels.get(model.folderUri);
      if (this.superseded(requestId)) return;
      if (panel.closed) return void this.log.info(`inspection ${requestId}: the panel was closed before it ran`);
      const hostStart = performance.now();
      const prefix = hostModel.encodePrefix(text, tokenLimit(maxTokens, hostModel.context));
      let { kept, notice } = truncateTokens(prefix, maxTokens, hostModel.context, maxTokensIs);
      const check = facts ? checkPanelBudget(facts, model.label, s.backend, kept.length, s.memoryBudgetMB) : { fits: true as const };
      if (!check.fits) {
        this.log.warn(`inspection ${requestId}: ${check.message}`);
        const first = `Inspect the first ${check.longest.toLocaleString('en-US')} tokens`;
        const choice = await this.offerSettings(vscode.window.showWarningMessage(`Attention Inspector: ${check.message}`, first, OPEN_SETTINGS));
        if (this.superseded(requestId)) return;
        if (choice !== first) {
          panel.post({ type: 'message', requestId, kind: 'empty', text: `Not inspected: ${check.message}` });
          return;
        }
        ({ kept, notice } = truncateTokens(prefix, check.longest, hostModel.context, 'memoryBudget'));
      }
      const tokens = toTokenInfos(kept, chosen.range.start, doc);
      const end = chosen.range.start + (kept.at(-1)?.end ?? 0);
      this.hovers.record(doc, requestId, chosen.range.start, end, tokens, model.label);
      const startPos = doc.positionAt(chosen.range.start);
      const request: InspectRequest = {
        requestId,
        ...engine,
        colorScale: s.colorScale,
        topK: s.topK,
        tokens,
        notices: notice ? [...chosen.notices, notice] : chosen.notices,
        source: {
          fileName: vscode.workspace.asRelativePath(doc.uri),
          languageId: doc.languageId,
          startLine: startPos.line,
          endLine: doc.positionAt(end).line,
          uri: doc.uri.toString(),
          startOffset: chosen.range.start,
        },
        commandEpochMs,
      };
      // Only the latest inspection can still report a result: the panel drops the others.
      this.pending.clear();
      this.pending.set(requestId, { started: commandEpochMs, model: model.label, tokens: tokens.length });
      const cut = notice?.kind === 'truncated' ? ` (the first ${notice.inspectedChars} of ${notice.totalChars} characters)` : '';
      this.log.info(
        `inspection ${requestId}: ${request.source.fileName} lines ${request.source.startLine + 1}–${request.source.endLine + 1}, ${tokens.length} tokens${cut}, ` +
          `model ${model.label}, backend ${s.backend}; host tokenizing ${(performance.now() - hostStart).toFixed(1)} ms`,
      );
      panel.inspect(request);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.log.error(`inspection ${requestId}: ${message}`);
      panel.post({ type: 'message', requestId, kind: 'error', text: message });
    }
  }

  /** True, and logged, when a newer inspection has started since `requestId` did: it goes no further. */
  private superseded(requestId: number): boolean {
    if (requestId === this.latest) return false;
    this.log.info(`inspection ${requestId}: superseded by ${this.latest} before it reached the panel`);
    return true;
  }

  /** Opens the budget setting when the user chose that button; passes the choice on. */
  private async offerSettings(choice: Thenable<string | undefined>): Promise<string | undefined> {
    const c = await choice;
    if (c === OPEN_SETTINGS) void vscode.commands.executeCommand('workbench.action.openSettings', 'attentionInspector.memoryBudgetMB');
    return c;
  }

  /** After a window reload: run the restored request again with this session's URIs. */
  private async restore(state: InspectorState, panel: InspectorPanel): Promise<void> {
    const r = state.request;
    if (!r) return;
    const model = this.models.getActive();
    if (model.id !== r.modelId) {
      panel.post({ type: 'message', kind: 'error', text: `The restored inspection used ${r.modelId}; the active model is now ${model.label}. Run Inspect Attention again.` });
      return;
    }
    const requestId = this.nextId();
    this.latest = requestId;
    panel.setRoots(this.context.extensionUri, [model.folderUri]);
    const { modelId, ...rest } = r;
    this.log.debug(`restoring an inspection of ${modelId}`);
    const engine = await this.engineRef(panel, model, rest.backend);
    if (requestId !== this.latest) return;
    panel.post({ type: 'prepare', ...engine });
    // Hovers first, so that they are there when the panel posts its summary for them.
    await this.restoreHovers(rest, requestId, model).catch((e: unknown) => this.log.warn(`inspection ${requestId}: hovers not restored: ${(e as Error).message}`));
    if (requestId !== this.latest) return;
    panel.inspect({ ...rest, requestId, ...engine, commandEpochMs: Date.now() });
    this.log.info(`inspection ${requestId}: restored from the previous window (${r.tokens.length} tokens)`);
  }

  /**
   * Hovers come back with a restored panel only where the document still holds the same tokens at the
   * same place; otherwise they would show numbers of another text. The text tokenized again is the one
   * inspected: a truncated selection's first tokens, read as a prefix of the whole selection.
   */
  private async restoreHovers(r: Pick<InspectRequest, 'source' | 'tokens' | 'notices'>, requestId: number, model: ActiveModel): Promise<void> {
    const { uri, startOffset } = r.source;
    if (uri === undefined || startOffset === undefined || r.tokens.length === 0) return;
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
    const end = startOffset + r.tokens.at(-1)!.end;
    const truncated = r.notices.find((n) => n.kind === 'truncated');
    const selection = { start: startOffset, end: Math.min(doc.offsetAt(doc.lineAt(doc.lineCount - 1).range.end), truncated ? startOffset + truncated.totalChars : end) };
    const tokens = (await this.hostModels.get(model.folderUri)).encodePrefix(documentSlices(doc, selection), r.tokens.length).tokens;
    const ids = (truncated ? tokens.slice(0, r.tokens.length) : tokens).map((t) => t.id);
    if (ids.length !== r.tokens.length || ids.some((id, i) => id !== r.tokens[i]!.id)) {
      this.log.info(`inspection ${requestId}: ${r.source.fileName} changed since it was inspected; hovers not restored`);
      return;
    }
    this.hovers.record(doc, requestId, startOffset, end, r.tokens, model.label);
    this.log.debug(`inspection ${requestId}: hovers restored in ${r.source.fileName}`);
  }

  /** Where the panel finds this model (the way attentionInspector.weightsTransport says) and onnxruntime-web. */
  private async engineRef(panel: InspectorPanel, model: ActiveModel, backend: BackendChoice): Promise<EngineRef> {
    const { baseUri, weights } = await panel.serveModel(model.id, model.folderUri, weightsTransportSetting());
    return {
      model: { id: model.id, label: model.label, baseUri },
      ortBase: folderWebviewUri(panel.webview, vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'ort')),
      backend,
      weights,
    };
  }

  private logResult(id: number, facts: RunFacts): void {
    const p = this.pending.get(id);
    this.pending.delete(id);
    // From the page: numbers are checked before they are formatted.
    const timings = Object.entries(facts.timings)
      .filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]))
      .map(([k, v]) => `${k} ${v.toFixed(0)} ms`)
      .join(', ');
    const first = typeof facts.firstHeatmapMs === 'number' ? `, command → first heatmap ${facts.firstHeatmapMs.toFixed(0)} ms` : '';
    const r = facts.resources;
    const held = r ? `; ${r.liveSessions} onnxruntime sessions alive${typeof r.jsHeapBytes === 'number' ? `, JS heap ${(r.jsHeapBytes / 1e6).toFixed(1)} MB` : ''}` : '';
    this.log.info(`inspection ${id}: ran ${facts.model?.label ?? p?.model ?? ''} on ${facts.provider} (${facts.adapter}), T = ${facts.tokens}; ${timings}${first}${held}`);
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
    InspectorPanel.disposeCurrent();
  }
}

/** A range of a document read in slices: a huge selection is never copied whole. */
function documentSlices(doc: vscode.TextDocument, range: OffsetRange): TextSource {
  return {
    length: range.end - range.start,
    slice: (start, end) => doc.getText(new vscode.Range(doc.positionAt(range.start + start), doc.positionAt(range.start + end))),
  };
}

function modelName(m: ActiveModel): ModelName {
  return { id: m.id, label: m.label };
}

const OPEN_SETTINGS = 'Open Settings';
/** Default of attentionInspector.memoryBudgetMB (package.json; README: why 3,072). */
const DEFAULT_MEMORY_BUDGET_MB = 3072;

function settings(): { backend: BackendChoice; colorScale: ColorScale; topK: number; maxTokens: number | undefined; memoryBudgetMB: number } {
  const c = vscode.workspace.getConfiguration('attentionInspector');
  // A value the user set anywhere is kept; otherwise maxTokens follows the model and the budget.
  const m = c.inspect<number>('maxTokens');
  const userMax = m?.workspaceFolderLanguageValue ?? m?.workspaceLanguageValue ?? m?.globalLanguageValue ?? m?.workspaceFolderValue ?? m?.workspaceValue ?? m?.globalValue;
  return {
    backend: c.get<BackendChoice>('backend', 'auto'),
    colorScale: c.get<ColorScale>('colorScale', 'sqrt'),
    topK: c.get<number>('topK', 5),
    maxTokens: typeof userMax === 'number' ? userMax : undefined,
    memoryBudgetMB: c.get<number>('memoryBudgetMB', DEFAULT_MEMORY_BUDGET_MB),
  };
}
