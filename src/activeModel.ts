/**
 * Which model folder inspections use. The embedded model unless the `attentionInspector.model` setting
 * names a folder, or the model store (Models view) installs its own provider through `ActiveModelSwitch.use`.
 */
import * as vscode from 'vscode';

export interface ActiveModel {
  /** Stable id: `embedded:tinycode-4l8h-1k`, `folder:/abs/path`, or the model store's id. */
  id: string;
  label: string;
  folderUri: vscode.Uri;
}

/** Implemented by the model store; the default is `SettingsModelProvider`. */
export interface ActiveModelProvider {
  getActive(): ActiveModel;
  readonly onDidChange: vscode.Event<ActiveModel>;
  /** A model deleted from where it was kept (the model store); a panel may still show it. */
  readonly onDidRemove?: vscode.Event<ActiveModel>;
}

export const EMBEDDED_MODEL_NAME = 'tinycode-4l8h-1k';

export function embeddedModel(extensionUri: vscode.Uri): ActiveModel {
  return { id: `embedded:${EMBEDDED_MODEL_NAME}`, label: `${EMBEDDED_MODEL_NAME} (embedded)`, folderUri: vscode.Uri.joinPath(extensionUri, 'media', 'models', EMBEDDED_MODEL_NAME) };
}

/** The embedded model, or the folder the `attentionInspector.model` setting names (absolute, or relative to the first workspace folder). */
export class SettingsModelProvider implements ActiveModelProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<ActiveModel>();
  readonly onDidChange = this.emitter.event;
  private readonly listener: vscode.Disposable;

  constructor(private readonly extensionUri: vscode.Uri) {
    this.listener = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('attentionInspector.model')) this.emitter.fire(this.getActive());
    });
  }

  getActive(): ActiveModel {
    const setting = vscode.workspace.getConfiguration('attentionInspector').get<string>('model', '').trim();
    if (!setting) return embeddedModel(this.extensionUri);
    const ws = vscode.workspace.workspaceFolders?.[0]?.uri;
    const folderUri = setting.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(setting) || !ws ? vscode.Uri.file(setting) : vscode.Uri.joinPath(ws, setting);
    return { id: `folder:${folderUri.fsPath}`, label: folderUri.path.split('/').filter(Boolean).pop() ?? setting, folderUri };
  }

  dispose(): void {
    this.listener.dispose();
    this.emitter.dispose();
  }
}

/** The provider in use; the model store swaps itself in with `use` (and the previous one comes back when it is disposed). */
export class ActiveModelSwitch implements ActiveModelProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<ActiveModel>();
  readonly onDidChange = this.emitter.event;
  private readonly removals = new vscode.EventEmitter<ActiveModel>();
  readonly onDidRemove = this.removals.event;
  private current: ActiveModelProvider;
  private subscription: vscode.Disposable;

  constructor(private readonly fallback: ActiveModelProvider) {
    this.current = fallback;
    this.subscription = this.follow(fallback);
  }

  private follow(provider: ActiveModelProvider): vscode.Disposable {
    const changes = provider.onDidChange((m) => this.emitter.fire(m));
    const removals = provider.onDidRemove?.((m) => this.removals.fire(m));
    return vscode.Disposable.from(changes, ...(removals ? [removals] : []));
  }

  getActive(): ActiveModel {
    return this.current.getActive();
  }

  use(provider: ActiveModelProvider): vscode.Disposable {
    this.switchTo(provider);
    return new vscode.Disposable(() => {
      if (this.current === provider) this.switchTo(this.fallback);
    });
  }

  private switchTo(provider: ActiveModelProvider): void {
    this.subscription.dispose();
    this.current = provider;
    this.subscription = this.follow(provider);
    this.emitter.fire(provider.getActive());
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
    this.removals.dispose();
  }
}
