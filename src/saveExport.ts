/** Exports of the webviews (PNG, .npy, JSON, CSV): written where the user chooses in VS Code's save dialog. */
import * as vscode from 'vscode';
import type { SaveFile, SaveOutcome } from '../protocol/shared.js';

/** Says where the file went, or why not (`cancelled`: the dialog was closed); logs as `name: …`. */
export async function saveExport(file: SaveFile, log: vscode.LogOutputChannel, name: string): Promise<SaveOutcome> {
  const base = vscode.workspace.workspaceFolders?.[0]?.uri;
  const target = await vscode.window.showSaveDialog({ defaultUri: base ? vscode.Uri.joinPath(base, file.fileName) : undefined, saveLabel: 'Export' });
  if (!target) return { error: 'cancelled' };
  try {
    await vscode.workspace.fs.writeFile(target, Buffer.from(file.base64, 'base64'));
    log.info(`${name}: exported to ${target.fsPath}`);
    return { path: target.fsPath };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    log.error(`${name}: export to ${target.fsPath} failed: ${message}`);
    return { error: message };
  }
}
