/**
 * What the host needs of a model folder: its tokenizer (offsets → editor ranges; vocab.json + merges.txt or
 * tokenizer.json of any supported kind, with the specials its post-processor adds as tokens without a range)
 * and context length.
 * Reads only config.json and the tokenizer files (the weights are fetched by the webview), with the same
 * parsers as the full loader; cached per folder. `memoryFacts` (config.json and the weights file's size,
 * for the memory estimate) is separate and cheaper, so the budget is checked before the panel loads anything.
 */
import * as vscode from 'vscode';
import { parseModelConfig } from '../kernels/model/config.js';
import { ModelFileError } from '../kernels/model/errors.js';
import { loadFolderTokenizer, MODEL_FILE_NAMES } from '../kernels/model/modelFolder.js';
import { tokenizePrefix, type PrefixTokens, type TextSource } from '../kernels/tokenizer/tokenizePrefix.js';
import type { RawToken } from './inspectSelection.js';
import type { ModelMemoryFacts } from './memoryBudget.js';
import { storedDtypeOfSize } from '../kernels/inspect/memoryEstimate.js';
import { parseSafetensorsIndex } from '../kernels/model/safetensors.js';

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

async function readConfig(folder: vscode.Uri) {
  const configBytes = await readOptional(folder, MODEL_FILE_NAMES.config);
  if (!configBytes) throw new ModelFileError('missing-file', MODEL_FILE_NAMES.config, `${folder.fsPath} has no ${MODEL_FILE_NAMES.config}`);
  return parseModelConfig(configBytes);
}

async function loadMemoryFacts(folder: vscode.Uri): Promise<ModelMemoryFacts> {
  const config = await readConfig(folder);
  const size = async (name: string) => (await vscode.workspace.fs.stat(vscode.Uri.joinPath(folder, name))).size;
  // model.safetensors as the loader prefers it, else the shards its index names (their sizes summed).
  const index = (await size(MODEL_FILE_NAMES.weights).catch(() => undefined)) === undefined ? await readOptional(folder, MODEL_FILE_NAMES.weightsIndex) : undefined;
  const shards = index ? parseSafetensorsIndex(index, MODEL_FILE_NAMES.weightsIndex).shards : [MODEL_FILE_NAMES.weights];
  const bytes = (await Promise.all(shards.map(size))).reduce((a, b) => a + b, 0);
  return { config, stored: storedDtypeOfSize(config, bytes) };
}

async function loadHostModel(folder: vscode.Uri): Promise<HostModel> {
  const config = await readConfig(folder);
  const { tokenizer } = await loadFolderTokenizer((name) => readOptional(folder, name));
  return { encodePrefix: (t, wanted) => tokenizePrefix(tokenizer, t, wanted), context: config.nPositions };
}

/** Promises per folder, a failed one forgotten so that the next call tries again. */
class FolderCache<T> {
  private readonly cache = new Map<string, Promise<T>>();

  constructor(private readonly load: (folder: vscode.Uri) => Promise<T>) {}

  get(folder: vscode.Uri): Promise<T> {
    const key = folder.toString();
    let m = this.cache.get(key);
    if (!m) {
      m = this.load(folder);
      m.catch(() => this.cache.delete(key));
      this.cache.set(key, m);
    }
    return m;
  }

  forget(folder: vscode.Uri): void {
    this.cache.delete(folder.toString());
  }
}

export class HostModelCache {
  private readonly models = new FolderCache(loadHostModel);
  private readonly facts = new FolderCache(loadMemoryFacts);

  get(folder: vscode.Uri): Promise<HostModel> {
    return this.models.get(folder);
  }

  memoryFacts(folder: vscode.Uri): Promise<ModelMemoryFacts> {
    return this.facts.get(folder);
  }

  forget(folder: vscode.Uri): void {
    this.models.forget(folder);
    this.facts.forget(folder);
  }
}
