// Reads a model folder from disk (for the host, the CLI, scripts and tests).
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelFileError } from '../kernels/model/errors.js';
import { loadModelFolder, type LoadedModel } from '../kernels/model/modelFolder.js';
import type { ModelFileReader } from '../kernels/model/types.js';

/** A reader of plain file names in `dir`; names with a path separator or `..` are never followed. */
export function nodeFolderReader(dir: string): ModelFileReader {
  return async (name) => {
    if (name === '' || name === '.' || name.includes('..') || /[\\/]/.test(name) || name.includes('\0')) return undefined;
    try {
      const buf = await readFile(join(dir, name));
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
      throw new ModelFileError('unreadable-file', name, `could not be read (${code ?? (e as Error).message})`);
    }
  };
}

/** Loads the model folder at `dir` (its listing is used to name a pickle checkpoint without reading it). */
export async function loadModelFolderFromDisk(dir: string): Promise<LoadedModel> {
  let listing: string[] | undefined;
  try {
    listing = await readdir(dir);
  } catch {
    listing = undefined;
  }
  return loadModelFolder(nodeFolderReader(dir), { listing });
}
