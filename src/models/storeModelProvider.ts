/**
 * The active model when the store is in use: the `attentionInspector.model` setting holds a store id
 * (empty = the embedded model); anything else in it is a folder path, handled by the settings provider.
 */
import * as vscode from 'vscode';
import { embeddedModel, type ActiveModel, type ActiveModelProvider } from '../activeModel.js';
import type { ModelEntry, ModelStore } from './modelStore.js';

const SECTION = 'attentionInspector';
const KEY = 'model';

export class StoreModelProvider implements ActiveModelProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<ActiveModel>();
  readonly onDidChange = this.emitter.event;
  private readonly removals = new vscode.EventEmitter<ActiveModel>();
  readonly onDidRemove = this.removals.event;
  private readonly listener: vscode.Disposable;

  constructor(private readonly extensionUri: vscode.Uri, private readonly store: ModelStore, private readonly folderSetting: ActiveModelProvider) {
    this.listener = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`${SECTION}.${KEY}`)) this.changed();
    });
  }

  private setting(): string {
    return vscode.workspace.getConfiguration(SECTION).get<string>(KEY, '').trim();
  }

  /** The store id in the setting, when it names one. */
  activeStoreId(): string | undefined {
    const s = this.setting();
    return this.store.get(s) ? s : undefined;
  }

  isEmbeddedActive(): boolean {
    return this.setting() === '';
  }

  getActive(): ActiveModel {
    const id = this.activeStoreId();
    if (id) return toActiveModel(this.store.get(id)!);
    if (this.isEmbeddedActive()) return embeddedModel(this.extensionUri);
    return this.folderSetting.getActive();
  }

  /** `undefined` selects the embedded model. */
  async setActive(id: string | undefined): Promise<void> {
    await vscode.workspace.getConfiguration(SECTION).update(KEY, id ?? '', vscode.ConfigurationTarget.Global);
  }

  /** Called when the store's contents change (a removal can change what is active). */
  changed(): void {
    this.emitter.fire(this.getActive());
  }

  /** Called after `e` was deleted from the store. */
  removed(e: ModelEntry): void {
    this.removals.fire(toActiveModel(e));
  }

  dispose(): void {
    this.listener.dispose();
    this.emitter.dispose();
    this.removals.dispose();
  }
}

export function toActiveModel(e: ModelEntry): ActiveModel {
  return { id: e.id, label: e.label, folderUri: vscode.Uri.file(e.folder) };
}
