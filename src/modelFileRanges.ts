/**
 * The host's end of the panel's `modelFile` request: a range of one file of a model folder, read from
 * disk for the page (the `messages` way of getting weights into the webview; webview/inspector/hostFiles.ts).
 * Only the loader's file names (and weight shards, `*.safetensors` named by the index) are served, only
 * from folders the host handed the page; the `server` way (modelFileServer.ts) serves the same names.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { MODEL_FILE_NAMES } from '../kernels/model/modelFolder.js';
import type { ModelFileBytes } from '../protocol/inspector.js';

const SERVED: readonly string[] = Object.values(MODEL_FILE_NAMES);
const ABSENT: ModelFileBytes = { total: -1, bytes: new Uint8Array(0) };
const SHARD = /^[A-Za-z0-9_-][A-Za-z0-9._-]*\.safetensors$/;

/** Whether the page may read a file of this name: the loader's files and weight shards, nothing with a path. */
export function isServedName(name: string): boolean {
  return SERVED.includes(name) || SHARD.test(name);
}

export async function readModelFileRange(folder: string, name: string, start: number, length: number): Promise<ModelFileBytes> {
  if (!isServedName(name) || start < 0 || length < 0) return ABSENT;
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(path.join(folder, name), 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return ABSENT;
    throw e;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return ABSENT;
    const n = Math.max(0, Math.min(length, stat.size - start));
    // A plain Uint8Array of its own: VS Code sends those as binary, whole underlying buffer (a Buffer goes as JSON).
    const bytes = new Uint8Array(n);
    let read = 0;
    while (read < n) {
      const { bytesRead } = await handle.read(bytes, read, n - read, start + read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return { total: stat.size, bytes: read === n ? bytes : bytes.slice(0, read) };
  } finally {
    await handle.close();
  }
}
