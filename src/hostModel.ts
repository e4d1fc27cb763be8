/**
 * What the host needs of a model folder: its tokenizer (offsets → editor ranges; vocab.json + merges.txt or
 * tokenizer.json of any supported kind, with the specials its post-processor adds as tokens without a range)
 * and context length.
 * Reads only config.json and the tokenizer files (the weights are fetched by the webview), with the same
 * parsers as the full loader; cached per folder.
 */
import * as vscode from 'vscode';
import { parseModelConfig } from '../kernels/model/config.js';
import { ModelFileError } from '../kernels/model/errors.js';
import { loadFolderTokenizer, MODEL_FILE_NAMES } from '../kernels/model/modelFolder.js';
import { tokenizePrefix, type PrefixTokens, type TextSource } from '../kernels/tokenizer/tokenizePrefix.js';
import type { RawToken } from './inspectSelection.js';

export interface HostModel {
  /** At least the first `wanted` tokens of a text, tokenizing only a prefix of a long one (kernels/tokenizer/tokenizePrefix.ts). */
  encodePrefix(text: TextSource, wanted: number): PrefixTokens<RawToken>;
  /** The model's context length (`n_positions`). */
  context: number;
}

async function readOptional(folder: vscode.Uri, name: string): Promise<Uint8Array | undefined> {
  try {
    return await vscode.workspace.fs.readFile(vscode.Uri.joinPath(folder, name));
  } catch (e) {
    if (e instanceof vscode.FileSystemError && e.code === 'FileNotFound') return undefined;
    throw e;
  }
}

async function loadHostModel(folder: vscode.Uri): Promise<HostModel> {
  const read = (name: string) => readOptional(folder, name);
  const configBytes = await read(MODEL_FILE_NAMES.config);
  if (!configBytes) throw new ModelFileError('missing-file', MODEL_FILE_NAMES.config, `${folder.fsPath} has no ${MODEL_FILE_NAMES.config}`);
  const config = parseModelConfig(configBytes);
  const { tokenizer } = await loadFolderTokenizer(read);
  return { encodePrefix: (t, wanted) => tokenizePrefix(tokenizer, t, wanted), context: config.nPositions };
}

export class HostModelCache {
  private readonly cache = new Map<string, Promise<HostModel>>();

  get(folder: vscode.Uri): Promise<HostModel> {
    const key = folder.toString();
    let m = this.cache.get(key);
    if (!m) {
      m = loadHostModel(folder);
      m.catch(() => this.cache.delete(key));
      this.cache.set(key, m);
    }
    return m;
  }

  forget(folder: vscode.Uri): void {
    this.cache.delete(folder.toString());
  }
}
