/** Wires the model store into VS Code: the store under global storage, the Models view, its commands, the active model. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ActiveModelProvider, ActiveModelSwitch } from '../activeModel.js';
import { ModelCommands } from './modelCommands.js';
import { ModelsView } from './modelsView.js';
import { CATALOG } from './catalog.js';
import { ModelStore, type InterruptedDownload } from './modelStore.js';
import { StoreModelProvider } from './storeModelProvider.js';
import { validateModelFolder } from './validateModel.js';

/**
 * `folderSetting` answers when the `attentionInspector.model` setting holds a folder path rather than a store id.
 * Returns once the store is open (stale temporary files removed).
 */
export async function registerModels(
  context: vscode.ExtensionContext,
  activeModel: ActiveModelSwitch,
  folderSetting: ActiveModelProvider,
  log: vscode.LogOutputChannel,
): Promise<ModelStore> {
  const store = new ModelStore(path.join(context.globalStorageUri.fsPath, 'model-store'), validateModelFolder, (line) => log.info(line));
  await store.open();
  log.info(`model store at ${store.root}: ${store.list().length} model(s)`);
  for (const d of store.interruptedDownloads) void offerInterruptedDownload(d);
  const provider = new StoreModelProvider(context.extensionUri, store, folderSetting);
  const view = new ModelsView(context.extensionUri, store, provider);
  const commands = new ModelCommands(store, view, provider, log, context.secrets);
  context.subscriptions.push(
    provider,
    view,
    activeModel.use(provider),
    provider.onDidChange(() => view.refresh()),
    vscode.window.createTreeView('attentionInspector.models', { treeDataProvider: view, showCollapseAll: false }),
    vscode.commands.registerCommand('attentionInspector.downloadModel', (id?: unknown) => commands.download(id)),
    vscode.commands.registerCommand('attentionInspector.importModel', (folder?: unknown, fp16?: unknown) => commands.import(folder, fp16)),
    vscode.commands.registerCommand('attentionInspector.setActiveModel', (target?: unknown) => commands.setActive(target)),
    vscode.commands.registerCommand('attentionInspector.revealModel', (item?: Parameters<ModelCommands['reveal']>[0]) => commands.reveal(item)),
    vscode.commands.registerCommand('attentionInspector.removeModel', (item?: Parameters<ModelCommands['remove']>[0]) => commands.remove(item)),
    vscode.commands.registerCommand('attentionInspector.setHubToken', (token?: unknown) => commands.setToken(token)),
    vscode.commands.registerCommand('attentionInspector.clearHubToken', () => commands.clearToken()),
  );
  return store;
}

/**
 * Said once, by the activation that swept the leftovers (the window was closed or reloaded while it ran);
 * "Download Again" starts it anew, as the Download Model… command would.
 */
async function offerInterruptedDownload(d: InterruptedDownload): Promise<void> {
  const again = 'Download Again';
  const answer = await vscode.window.showWarningMessage(
    `The download of ${d.label} was interrupted (the window was closed or reloaded while it ran); its partial files were removed.`,
    again,
  );
  if (answer !== again) return;
  const arg = CATALOG.some((m) => m.id === d.id) ? d.id : { repo: d.repo, label: d.label };
  await vscode.commands.executeCommand('attentionInspector.downloadModel', arg);
}
