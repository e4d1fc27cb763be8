/** Exports of the webviews (PNG, .npy, JSON, CSV): written where the user chooses in VS Code's save dialog. */
import { type FileHandle, open as fsOpen, rm } from 'node:fs/promises';
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

/**
 * Files saved in parts (protocol/inspector.ts SaveStreamVocabulary): each part is appended as it comes,
 * so the host never holds the whole file; an aborted or failed save removes what was written.
 */
export class SaveStreams {
  private readonly open = new Map<number, { target: vscode.Uri; file: FileHandle }>();
  private nextId = 1;

  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly name: string,
  ) {}

  async start(fileName: string): Promise<{ streamId?: number; error?: string }> {
    const base = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({ defaultUri: base ? vscode.Uri.joinPath(base, fileName) : undefined, saveLabel: 'Export' });
    if (!target) return { error: 'cancelled' };
    if (target.scheme !== 'file') return { error: `a file this large is written in parts, which needs a local path, not ${target.scheme}:` };
    try {
      const streamId = this.nextId++;
      this.open.set(streamId, { target, file: await fsOpen(target.fsPath, 'w') });
      return { streamId };
    } catch (e) {
      return { error: this.failed(target, e) };
    }
  }

  async write(streamId: number, base64: string): Promise<{ error?: string }> {
    const s = this.open.get(streamId);
    if (!s) return { error: `no export ${streamId} is open` };
    try {
      await s.file.write(Buffer.from(base64, 'base64'));
      return {};
    } catch (e) {
      await this.finish(streamId, true);
      return { error: this.failed(s.target, e) };
    }
  }

  async finish(streamId: number, abort: boolean): Promise<SaveOutcome> {
    const s = this.open.get(streamId);
    if (!s) return { error: `no export ${streamId} is open` };
    this.open.delete(streamId);
    try {
      await s.file.close();
      if (abort) {
        await rm(s.target.fsPath, { force: true });
        return { error: 'cancelled' };
      }
      this.log.info(`${this.name}: exported to ${s.target.fsPath}`);
      return { path: s.target.fsPath };
    } catch (e) {
      return { error: this.failed(s.target, e) };
    }
  }

  /** Closes what is still open (the panel went away mid-export), removing the partial files. */
  async dispose(): Promise<void> {
    await Promise.all([...this.open.keys()].map((id) => this.finish(id, true)));
  }

  private failed(target: vscode.Uri, e: unknown): string {
    const message = e instanceof Error ? e.message : String(e);
    this.log.error(`${this.name}: export to ${target.fsPath} failed: ${message}`);
    return message;
  }
}
