/**
 * The files of a folder being imported, opened the one safe way: never through a link (it could point
 * anywhere: another user's files, a device), only regular files, each within its size limit
 * (kernels/model/fileLimits.ts), all checked before anything is copied. Copies and reads stop at the size
 * found at open, so a file that grows meanwhile cannot make them write or allocate more.
 */
import { constants, createWriteStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { checkFileSize } from '../../kernels/model/errors.js';
import { readOpenFile } from '../../node/folderReader.js';
import { UnsafeNameError } from './safePath.js';

export interface SourceFile {
  name: string;
  size: number;
  handle: fsp.FileHandle;
}

// O_NOFOLLOW closes the gap between the lstat and the open where it exists (not on Windows); O_NONBLOCK keeps a pipe from blocking the open.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/** Opens `names` in `dir`; throws (closing what it opened) at the first link, non-regular file or file above its limit. */
export async function openSourceFiles(dir: string, names: readonly string[]): Promise<SourceFile[]> {
  const files: SourceFile[] = [];
  try {
    for (const name of names) files.push(await openSourceFile(dir, name));
    return files;
  } catch (e) {
    await closeSourceFiles(files);
    throw e;
  }
}

async function openSourceFile(dir: string, name: string): Promise<SourceFile> {
  const file = path.join(dir, name);
  const link = () => new UnsafeNameError(name, 'it is a link (it could point anywhere)');
  if ((await fsp.lstat(file)).isSymbolicLink()) throw link();
  const handle = await fsp.open(file, OPEN_FLAGS).catch((e: NodeJS.ErrnoException) => {
    throw e.code === 'ELOOP' ? link() : e;
  });
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new UnsafeNameError(name, 'it is not a regular file');
    checkFileSize(name, stat.size);
    return { name, size: stat.size, handle };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

export async function closeSourceFiles(files: readonly SourceFile[]): Promise<void> {
  await Promise.all(files.map((f) => f.handle.close()));
}

/** Copies the file's bytes as found at open to a new file `target`. */
export async function copySourceFile(f: SourceFile, target: string): Promise<void> {
  if (f.size === 0) return fsp.writeFile(target, new Uint8Array(0), { flag: 'wx' });
  await pipeline(f.handle.createReadStream({ start: 0, end: f.size - 1, autoClose: false }), createWriteStream(target, { flags: 'wx' }));
}

/** The file's bytes as found at open. */
export function readSourceFile(f: SourceFile): Promise<Uint8Array> {
  return readOpenFile(f.handle, f.size);
}
