/** The Models tree: the embedded model, then stored ones (downloaded, imported); the active one marked. */
import * as vscode from 'vscode';
import { EMBEDDED_MODEL_NAME, embeddedModel } from '../activeModel.js';
import { formatBytes } from './downloader.js';
import type { ModelEntry, ModelStore } from './modelStore.js';
import type { StoreModelProvider } from './storeModelProvider.js';

export interface ModelItem {
  /** Store id, or undefined for the embedded model. */
  storeId?: string;
  label: string;
  folder: vscode.Uri;
  active: boolean;
  detail: string;
  tooltip: string;
}

const EMBEDDED_SIZE = '8.9 MB';

export class ModelsView implements vscode.TreeDataProvider<ModelItem>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<ModelItem | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;

  constructor(private readonly extensionUri: vscode.Uri, private readonly store: ModelStore, private readonly active: StoreModelProvider) {}

  refresh(): void {
    this.emitter.fire(undefined);
  }

  /** Re-reads the store first: another window may have added or removed models since. */
  async getChildren(element?: ModelItem): Promise<ModelItem[]> {
    if (element) return [];
    await this.store.refresh();
    const embedded = embeddedModel(this.extensionUri);
    const activeId = this.active.activeStoreId();
    return [
      {
        label: EMBEDDED_MODEL_NAME,
        folder: embedded.folderUri,
        active: this.active.isEmbeddedActive(),
        detail: `embedded · ${EMBEDDED_SIZE} · F16`,
        tooltip: `${EMBEDDED_MODEL_NAME}: the model shipped with the extension (4 layers × 8 heads, d 256).`,
      },
      ...this.store.list().map((e) => storedItem(e, e.id === activeId)),
    ];
  }

  getTreeItem(m: ModelItem): vscode.TreeItem {
    const item = new vscode.TreeItem(m.label, vscode.TreeItemCollapsibleState.None);
    item.id = m.storeId ?? 'embedded';
    item.description = m.active ? `active · ${m.detail}` : m.detail;
    item.iconPath = new vscode.ThemeIcon(m.active ? 'pass-filled' : 'circle-large-outline');
    item.tooltip = new vscode.MarkdownString(m.tooltip);
    item.contextValue = `model-${m.storeId ? 'stored' : 'embedded'}${m.active ? '-active' : ''}`;
    return item;
  }

  dispose(): void {
    this.emitter.dispose();
  }
}

function storedItem(e: ModelEntry, active: boolean): ModelItem {
  const source = e.source === 'download' ? 'downloaded' : 'imported';
  const files = Object.entries(e.sha256s).map(([f, h]) => `- \`${f}\` sha256 \`${h.slice(0, 16)}…\``).join('\n');
  return {
    storeId: e.id,
    label: e.label,
    folder: vscode.Uri.file(e.folder),
    active,
    detail: `${source} · ${formatBytes(e.size)} · ${e.dtype}`,
    tooltip: `**${e.label}** (\`${e.id}\`), ${source}${e.origin ? ` from ${e.origin}` : ''}\n\n${files}`,
  };
}
