/**
 * A model folder read a range at a time from a source that answers ranges — the webview URI over HTTP
 * (`fetchFolderReader`), or the extension host over messages (webview/inspector/hostFiles.ts) — into one
 * buffer of the file's size (never held twice). Why ranges: VS Code's webview service worker answers 408
 * to a request the window has not begun answering within 30 s, and in code-server every resource shares
 * one connection, so a small file requested while a whole 548 MB file streams waits behind all of it (the
 * user's "could not read merges.txt (HTTP 408)"). A range is answered as soon as it is asked, and anything
 * requested meanwhile waits behind at most one chunk.
 */
import { checkFileSize, checkWholeFileSize, LoadCancelled, ModelFileError } from './errors.js';
import { fileSizeLimit, MAX_WHOLE_FILE_BYTES } from './fileLimits.js';
import type { ModelFileReader } from './types.js';

/** One answered range: the file's size, where the range starts, and its bytes as they arrive. */
export interface RangePart {
  total: number;
  start: number;
  pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  /** Stops the bytes not yet read (a file over its size limit is refused unread). */
  cancel(): void;
  /** The whole file, when the source answered with all of it (a server without ranges): used as it is. */
  whole?: Uint8Array;
}

/** Answers `length` bytes of file `name` from `start`; undefined when the file is absent. */
export type RangeSource = (name: string, start: number, length: number) => Promise<RangePart | undefined>;

export interface RangedReaderOptions {
  /** Aborting it stops the read in flight; the reader then rejects with LoadCancelled. */
  signal?: AbortSignal;
  /** As a file's bytes arrive: how many so far, of its size. */
  onProgress?(name: string, loaded: number, total: number): void;
  /** Bytes per range (default 32 MiB). */
  chunkBytes?: number;
}

export const DEFAULT_CHUNK_BYTES = 32 * 1024 * 1024;

/** "212 of 548 MB read" (bytes for a small file). */
function howFar(at: number, total: number): string {
  if (total < 10e6) return `${at.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} bytes read`;
  return `${Math.floor(at / 1e6)} of ${Math.round(total / 1e6)} MB read`;
}

export function rangedFolderReader(source: RangeSource, options: RangedReaderOptions = {}): ModelFileReader {
  const { signal, onProgress, chunkBytes = DEFAULT_CHUNK_BYTES } = options;
  const get = (name: string, from: number, length = chunkBytes) => cancellable(name, signal, source(name, from, length));
  /** Fills `into` with the file's bytes from `from`, a chunk at a time; returns how many came. */
  const fill = async (name: string, total: number, from: number, into: Uint8Array, progress: (loaded: number) => void): Promise<number> => {
    let at = 0;
    while (at < into.length) {
      const part = await get(name, from + at, Math.min(chunkBytes, into.length - at));
      if (!part) throw new ModelFileError('unreadable-file', name, `the model folder was deleted while loading (${howFar(from + at, total)})`);
      if (part.total !== total || part.start !== from + at) {
        part.cancel();
        throw new ModelFileError('unreadable-file', name, `changed while loading (${howFar(from + at, total)}; now ${part.total} bytes)`);
      }
      const n = (await readInto(name, part, into, at, signal, (loaded) => progress(from + loaded))) - at;
      if (n === 0) break;
      at += n;
    }
    return at;
  };
  const read: ModelFileReader = async (name) => {
    const first = await get(name, 0);
    if (!first) return undefined;
    if (first.whole) return first.whole;
    const { total } = first;
    if (total > Math.min(fileSizeLimit(name), MAX_WHOLE_FILE_BYTES)) first.cancel();
    checkWholeFileSize(name, total);
    const bytes = new Uint8Array(total);
    const progress = (loaded: number) => onProgress?.(name, loaded, total);
    let at = await readInto(name, first, bytes, 0, signal, progress);
    while (at < total) {
      const part = await get(name, at);
      if (!part) throw new ModelFileError('unreadable-file', name, `the model folder was deleted while loading (${howFar(at, total)})`);
      if (part.total !== total || part.start !== at) {
        part.cancel();
        throw new ModelFileError('unreadable-file', name, `changed while loading (${howFar(at, total)}; now ${part.total} bytes)`);
      }
      const n = (await readInto(name, part, bytes, at, signal, progress)) - at;
      if (n === 0) throw new ModelFileError('unreadable-file', name, `ended early while loading (${howFar(at, total)})`);
      at += n;
    }
    return bytes;
  };
  // A file too large for one buffer: its size from a one-byte answer, then each range a chunk at a time.
  read.ranges = async (name) => {
    const first = await get(name, 0, 1);
    if (!first) return undefined;
    first.cancel();
    const whole = first.whole;
    const total = whole ? whole.length : first.total;
    checkFileSize(name, total);
    const progress = (loaded: number) => onProgress?.(name, loaded, total);
    return {
      size: total,
      read: async (start, length) => {
        if (whole) return whole.subarray(start, start + length);
        const bytes = new Uint8Array(Math.max(0, Math.min(length, total - start)));
        const n = await fill(name, total, start, bytes, progress);
        return n === bytes.length ? bytes : bytes.subarray(0, n);
      },
    };
  };
  return read;
}

/**
 * Copies `part`'s bytes into `into` from `at`; returns where they ended. Never writes past the buffer. An
 * abort while a piece is awaited (the body's read rejects then) is LoadCancelled too.
 */
function readInto(name: string, part: RangePart, into: Uint8Array, at: number, signal: AbortSignal | undefined, progress: (loaded: number) => void): Promise<number> {
  return cancellable(name, signal, (async () => {
    for await (const value of part.pieces) {
      if (signal?.aborted) throw new LoadCancelled(`loading ${name} was cancelled`);
      if (at + value.length > into.length) {
        part.cancel();
        throw new ModelFileError('unreadable-file', name, `changed while loading (more bytes than its ${into.length} arrived)`);
      }
      into.set(value, at);
      at += value.length;
      progress(at);
    }
    return at;
  })());
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
