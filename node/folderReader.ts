// Reads a model folder from disk (for the host, the CLI, scripts and tests).
import { constants } from 'node:fs';
import { open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelFileError, checkFileSize, checkWholeFileSize } from '../kernels/model/errors.js';
import { loadModelFolder, type LoadedModel } from '../kernels/model/modelFolder.js';
import type { FileRanges, ModelFileReader } from '../kernels/model/types.js';

/**
 * A reader of plain file names in `dir`; names with a path separator or `..` are never followed. Links are
 * followed (the Hugging Face cache is made of them), but only a regular file within its size limit is read.
 * `ranges` opens a file for reading in ranges (a weights file over 2 GiB is read in parts); each range
 * is read from a fresh open, refused if the file's size changed meanwhile.
 */
export function nodeFolderReader(dir: string): ModelFileReader {
  const withFile = async <T>(name: string, use: (handle: FileHandle, size: number) => Promise<T>, check = checkWholeFileSize): Promise<T | undefined> => {
    if (name === '' || name === '.' || name.includes('..') || /[\\/]/.test(name) || name.includes('\0')) return undefined;
    let handle: FileHandle;
    try {
      // Non-blocking, so that a pipe under a model file's name is refused instead of waited on.
      handle = await open(join(dir, name), constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
      throw new ModelFileError('unreadable-file', name, `could not be read (${code ?? (e as Error).message})`);
    }
    try {
      const stat = await handle.stat();
      if (stat.isDirectory()) return undefined;
      if (!stat.isFile()) throw new ModelFileError('unreadable-file', name, 'is not a regular file (a device or a pipe?), so it is not read');
      check(name, stat.size);
      return await use(handle, stat.size);
    } catch (e) {
      if (e instanceof ModelFileError) throw e;
      throw new ModelFileError('unreadable-file', name, `could not be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    } finally {
      await handle.close();
    }
  };
  const read: ModelFileReader = (name) => withFile(name, readOpenFile);
  read.ranges = (name) =>
    withFile(
      name,
      async (_, size): Promise<FileRanges> => ({
        size,
        read: async (start, length) => {
          const bytes = await withFile(name, async (handle, now) => {
            if (now !== size) throw new ModelFileError('unreadable-file', name, `changed while loading (${size} bytes, now ${now})`);
            return readOpenFile(handle, Math.max(0, Math.min(length, size - start)), start);
          }, checkFileSize);
          if (!bytes) throw new ModelFileError('unreadable-file', name, 'was deleted while loading');
          return bytes;
        },
      }),
      checkFileSize,
    );
  return read;
}

/** Reads at most `size` bytes of an open file from `from` (fewer when it shrank meanwhile; never more when it grew). */
export async function readOpenFile(handle: FileHandle, size: number, from = 0): Promise<Uint8Array> {
  const bytes = new Uint8Array(size);
  let at = 0;
  while (at < size) {
    const { bytesRead } = await handle.read(bytes, at, size - at, from + at);
    if (bytesRead === 0) break;
    at += bytesRead;
  }
  return at === size ? bytes : bytes.subarray(0, at);
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
