/** Handlers of the Models view's commands; errors reach the user as one message, details go to the log. */
import * as vscode from 'vscode';
import { CATALOG, customRepo, DEFAULT_MIRROR, termsText, type CatalogModel } from './catalog.js';
import { formatBytes } from './downloader.js';
import { HUB_TOKEN_SECRET, HubAccessError } from './hubAccess.js';
import type { ModelStore } from './modelStore.js';
import type { ModelItem, ModelsView } from './modelsView.js';
import { describeProgress } from './progressText.js';
import type { StoreModelProvider } from './storeModelProvider.js';

export class ModelCommands {
  constructor(
    private readonly store: ModelStore,
    private readonly view: ModelsView,
    private readonly active: StoreModelProvider,
    private readonly log: vscode.LogOutputChannel,
    private readonly secrets: vscode.SecretStorage,
  ) {}

  private fail(what: string, e: unknown): void {
    const message = e instanceof Error ? e.message : String(e);
    this.log.error(`${what}: ${message}`);
    void vscode.window.showErrorMessage(`${what}: ${message}`);
  }

  private changed(): void {
    this.view.refresh();
    this.active.changed();
  }

  /**
   * Offers the catalog (or takes a catalog id, or `{ repo }` for another repository of any family, as argument),
   * asks before large downloads, downloads with progress and cancel.
   */
  async download(arg?: unknown): Promise<void> {
    const model = await this.chooseModel(arg);
    if (!model) return;
    const config = vscode.workspace.getConfiguration('attentionInspector');
    const mirror = config.get<string>('modelMirror', DEFAULT_MIRROR).trim() || DEFAULT_MIRROR;
    const confirmAbove = config.get<number>('confirmDownloadAboveMB', 200) * 1e6;
    const token = await this.secrets.get(HUB_TOKEN_SECRET);
    if (model.gated && !token && !this.store.get(model.id)) {
      const setToken = 'Set Access Token…';
      const answer = await vscode.window.showWarningMessage(
        `${model.label} is gated on the hub (${model.licence}): accept its licence at ${mirror.replace(/\/+$/, '')}/${model.repo}, then set a Hugging Face access token.`,
        setToken, 'Download Anyway',
      );
      if (answer === setToken) return void (await this.setToken());
      if (answer !== 'Download Anyway') return;
    }
    if (!this.store.get(model.id) && model.sizeBytes > confirmAbove) {
      const go = 'Download';
      const answer = await vscode.window.showWarningMessage(
        `Download ${model.label} (${formatBytes(model.sizeBytes)}, ${model.licence} licence${model.gated ? ', gated' : ''}) from ${mirror}?`,
        { modal: true, detail: `The files are verified (size and sha256) and stored in the extension's storage.` },
        go,
      );
      if (answer !== go) return;
    }
    this.log.info(`downloading ${model.id} from ${mirror}${token ? ' with the stored access token' : ''}`);
    try {
      const entry = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Downloading ${model.label}`, cancellable: true },
        async (progress, cancel) => {
          const ac = new AbortController();
          const sub = cancel.onCancellationRequested(() => ac.abort());
          let reported = 0;
          try {
            const run = this.store.download(model, mirror, {
              signal: ac.signal,
              token,
              onProgress: (file, p, done) => {
                const increment = model.sizeBytes > 0 ? Math.max(0, ((done - reported) / model.sizeBytes) * 100) : undefined;
                reported = done;
                progress.report({ message: describeProgress(file, p), increment });
              },
            });
            this.view.refresh();
            return await run;
          } finally {
            sub.dispose();
          }
        },
      );
      this.changed();
      this.log.info(`downloaded ${entry.id}: ${entry.size} bytes in ${entry.folder}`);
      const setActive = 'Set Active';
      if ((await vscode.window.showInformationMessage(`Downloaded ${entry.label}.`, setActive)) === setActive) await this.setActive(entry.id);
    } catch (e) {
      this.view.refresh();
      if (e instanceof Error && e.name === 'DownloadError' && /cancelled/.test(e.message)) {
        this.log.info(`download of ${model.id} cancelled`);
        return;
      }
      if (e instanceof HubAccessError) {
        this.log.error(`Could not download ${model.label}: ${e.message}`);
        const setToken = 'Set Access Token…';
        if ((await vscode.window.showErrorMessage(`Could not download ${model.label}: ${e.message}`, setToken)) === setToken) await this.setToken();
        return;
      }
      this.fail(`Could not download ${model.label}`, e);
    }
  }

  private async chooseModel(arg: unknown): Promise<CatalogModel | undefined> {
    if (typeof arg === 'string') {
      const found = CATALOG.find((m) => m.id === arg);
      if (!found) void vscode.window.showErrorMessage(`No model "${arg}" in the catalog (${CATALOG.map((m) => m.id).join(', ')}).`);
      return found;
    }
    if (arg && typeof (arg as { repo?: unknown }).repo === 'string') return customRepo((arg as { repo: string }).repo, (arg as { label?: string }).label);
    const other = { label: 'Other repository…', description: 'owner/name on the hub or the mirror', model: undefined };
    const picked = await vscode.window.showQuickPick(
      [
        ...CATALOG.map((m) => ({
          label: m.label,
          description: `${m.parameters} parameters · ${formatBytes(m.sizeBytes)} · ${termsText(m)}${this.store.get(m.id) ? ' · downloaded' : ''}`,
          detail: m.repo,
          model: m as CatalogModel | undefined,
        })),
        other,
      ],
      { title: 'Download Model', placeHolder: 'A GPT-2 or Llama-family model (safetensors, verified)' },
    );
    if (picked !== other) return picked?.model;
    const repo = await vscode.window.showInputBox({
      title: 'Download Model', prompt: 'Repository of a GPT-2 or Llama-family model with model.safetensors (or its shards)', placeHolder: 'owner/name',
      validateInput: (v) => (/^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/.test(v.trim()) ? undefined : 'owner/name, letters, digits, ".", "_" and "-"'),
    });
    return repo ? customRepo(repo.trim()) : undefined;
  }

  /**
   * Stores a Hugging Face access token (for gated repositories) in VS Code's SecretStorage; it is sent only
   * to the configured mirror. A string argument is taken as the token (for tests and scripts).
   */
  async setToken(arg?: unknown): Promise<void> {
    const token = typeof arg === 'string' ? arg : await vscode.window.showInputBox({
      title: 'Hugging Face Access Token',
      prompt: 'A read token from your Hugging Face account settings; kept in VS Code\'s secret storage and sent only to the configured mirror (attentionInspector.modelMirror).',
      placeHolder: 'hf_…',
      password: true,
      ignoreFocusOut: true,
      validateInput: (v) => (/^\S{8,}$/.test(v.trim()) ? undefined : 'A token has no spaces and at least 8 characters'),
    });
    if (!token?.trim()) return;
    await this.secrets.store(HUB_TOKEN_SECRET, token.trim());
    this.log.info('stored a Hugging Face access token');
    void vscode.window.showInformationMessage('Hugging Face access token stored; downloads of gated models will use it.');
  }

  async clearToken(): Promise<void> {
    const had = (await this.secrets.get(HUB_TOKEN_SECRET)) !== undefined;
    await this.secrets.delete(HUB_TOKEN_SECRET);
    this.log.info(had ? 'cleared the Hugging Face access token' : 'no Hugging Face access token to clear');
    void vscode.window.showInformationMessage(had ? 'Hugging Face access token removed.' : 'No Hugging Face access token was stored.');
  }

  /** Takes a folder (dialog, or a Uri argument), offers the fp16 rewrite, imports after validation. */
  async import(folderArg?: unknown, fp16Arg?: unknown): Promise<void> {
    const folder = folderArg instanceof vscode.Uri ? folderArg : (await vscode.window.showOpenDialog({
      canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Import Model Folder',
      title: 'A Hugging Face GPT-2 folder (config.json, model.safetensors, vocab.json + merges.txt or tokenizer.json)',
    }))?.[0];
    if (!folder) return;
    let toFp16 = fp16Arg === true;
    if (fp16Arg === undefined) {
      const choice = await vscode.window.showQuickPick(
        [{ label: 'Keep the weights as they are', fp16: false }, { label: 'Store fp32 weights as fp16', description: 'half the size; tiny rounding differences', fp16: true }],
        { title: 'Import Model Folder' },
      );
      if (!choice) return;
      toFp16 = choice.fp16;
    }
    try {
      const entry = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Importing ${folder.fsPath}` },
        () => this.store.importFolder(folder.fsPath, { toFp16 }),
      );
      this.changed();
      this.log.info(`imported ${folder.fsPath} as ${entry.id} (${entry.dtype})`);
      void vscode.window.showInformationMessage(`Imported ${entry.label} (${formatBytes(entry.size)}, ${entry.dtype}).`);
    } catch (e) {
      this.fail(`Could not import ${folder.fsPath}`, e);
    }
  }

  /** Accepts a tree item, a store id, or 'embedded'. */
  async setActive(target?: unknown): Promise<void> {
    const id = typeof target === 'string' ? target : (target as ModelItem | undefined)?.storeId;
    if (id && id !== 'embedded' && !this.store.get(id)) return void vscode.window.showErrorMessage(`No model "${id}" in the store.`);
    await this.active.setActive(id === 'embedded' ? undefined : id);
    this.changed();
  }

  async reveal(item?: ModelItem): Promise<void> {
    const folder = item?.folder ?? this.active.getActive().folderUri;
    try {
      await vscode.commands.executeCommand('revealFileInOS', folder);
    } catch {
      void vscode.window.showInformationMessage(`The model's files are in ${folder.fsPath}`);
    }
  }

  async remove(item?: ModelItem): Promise<void> {
    const entry = item?.storeId ? this.store.get(item.storeId) : undefined;
    if (!entry) return;
    const answer = await vscode.window.showWarningMessage(`Remove ${entry.label} and delete its files (${formatBytes(entry.size)})?`, { modal: true }, 'Remove');
    if (answer !== 'Remove') return;
    try {
      if (this.active.activeStoreId() === entry.id) await this.active.setActive(undefined);
      await this.store.remove(entry.id);
      this.changed();
      this.active.removed(entry);
      this.log.info(`removed ${entry.id}`);
    } catch (e) {
      this.fail(`Could not remove ${entry.label}`, e);
    }
  }
}
