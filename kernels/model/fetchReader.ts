/**
 * A model folder read over HTTP (a webview URI, or a local test server): 404 means the file is absent,
 * any other failure is an error rather than a silently missing file.
 *
 * Files are read in ranges of `chunkBytes`, one after another, into one buffer of the file's size (never
 * held twice). Why ranges: VS Code's webview service worker answers 408 to a request the window has not
 * begun answering within 30 s, and in code-server every resource shares one connection, so a small file
 * requested while a whole 548 MB file streams waits behind all of it (the user's "could not read
 * merges.txt (HTTP 408)"). A range request is answered as soon as it is asked, and anything else
 * requested meanwhile waits behind at most one chunk. A server that ignores `Range` (200) is read whole.
 */
import { checkFileSize, LoadCancelled, ModelFileError } from './errors.js';
import { fileSizeLimit } from './fileLimits.js';
import type { ModelFileReader } from './types.js';

export interface FetchReaderOptions {
  /** Aborting it stops the read in flight; the reader then rejects with LoadCancelled. */
  signal?: AbortSignal;
  /** As a file's bytes arrive: how many so far, of its size. */
  onProgress?(name: string, loaded: number, total: number): void;
  /** Bytes per range request (default 32 MiB). */
  chunkBytes?: number;
}

export const DEFAULT_CHUNK_BYTES = 32 * 1024 * 1024;

/** "212 of 548 MB read" (bytes for a small file). */
function howFar(at: number, total: number): string {
  if (total < 10e6) return `${at.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} bytes read`;
  return `${Math.floor(at / 1e6)} of ${Math.round(total / 1e6)} MB read`;
}

export function fetchFolderReader(baseUri: string, options: FetchReaderOptions = {}): ModelFileReader {
  const { signal, onProgress, chunkBytes = DEFAULT_CHUNK_BYTES } = options;
  const get = async (name: string, from: number) => {
    return cancellable(name, signal, fetch(baseUri + name, { headers: { Range: `bytes=${from}-${from + chunkBytes - 1}` }, signal }));
  };
  return async (name) => {
    const first = await get(name, 0);
    if (first.status === 404) return undefined;
    if (first.status === 200) return whole(name, first, signal);
    if (first.status !== 206) throw new Error(`could not read ${name} from the model folder (HTTP ${first.status})`);
    const total = rangeOf(name, first).total;
    if (total > fileSizeLimit(name)) void first.body?.cancel();
    checkFileSize(name, total);
    const bytes = new Uint8Array(total);
    const progress = (loaded: number) => onProgress?.(name, loaded, total);
    let at = await readInto(name, first, bytes, 0, signal, progress);
    while (at < total) {
      const r = await get(name, at);
      if (r.status === 404) throw new ModelFileError('unreadable-file', name, `the model folder was deleted while loading (${howFar(at, total)})`);
      const range = r.status === 206 ? rangeOf(name, r) : undefined;
      if (!range || range.total !== total || range.start !== at) {
        void r.body?.cancel();
        throw new ModelFileError('unreadable-file', name, `changed while loading (${howFar(at, total)}; HTTP ${r.status}${range ? `, now ${range.total} bytes` : ''})`);
      }
      const n = (await readInto(name, r, bytes, at, signal, progress)) - at;
      if (n === 0) throw new ModelFileError('unreadable-file', name, `ended early while loading (${howFar(at, total)})`);
      at += n;
    }
    return bytes;
  };
}

/** `Content-Range: bytes START-END/TOTAL` (an empty file: `bytes 0--1/0`). */
function rangeOf(name: string, r: Response): { start: number; total: number } {
  const m = /^bytes (\d+)-(-?\d+)\/(\d+)$/.exec(r.headers.get('content-range') ?? '');
  if (!m) throw new Error(`could not read ${name} from the model folder (a partial answer without a usable Content-Range)`);
  return { start: Number(m[1]), total: Number(m[3]) };
}

/** Streams `r`'s body into `into` from `at`; returns where it ended. Never writes past the buffer. */
async function readInto(name: string, r: Response, into: Uint8Array, at: number, signal: AbortSignal | undefined, progress: (loaded: number) => void): Promise<number> {
  const reader = r.body?.getReader();
  if (!reader) return at;
  for (;;) {
    const { done, value } = await cancellable(name, signal, reader.read());
    if (done || !value) return at;
    if (at + value.length > into.length) {
      void reader.cancel();
      throw new ModelFileError('unreadable-file', name, `changed while loading (more bytes than its ${into.length} arrived)`);
    }
    into.set(value, at);
    at += value.length;
    progress(at);
  }
}

/** A server without ranges: one answer, its stated length checked before the body is read. */
async function whole(name: string, r: Response, signal: AbortSignal | undefined): Promise<Uint8Array> {
  const stated = Number(r.headers.get('content-length') ?? 0);
  if (stated > fileSizeLimit(name)) void r.body?.cancel();
  checkFileSize(name, stated);
  return new Uint8Array(await cancellable(name, signal, r.arrayBuffer()));
}

/** `p`, its rejection after an abort said as LoadCancelled (fetch's own is a DOMException named AbortError). */
async function cancellable<T>(name: string, signal: AbortSignal | undefined, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (signal?.aborted) throw new LoadCancelled(`loading ${name} was cancelled`);
    throw e;
  }
}
