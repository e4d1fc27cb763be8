/**
 * A model folder read over HTTP (a webview URI, or a local test server) in range requests
 * (rangedReader.ts says why): 404 means the file is absent, any other failure is an error rather than a
 * silently missing file; 416 with the file's size means it shrank since the last range. A server that
 * ignores `Range` (200) is read in one answer, its stated
 * Content-Length checked against the file's size limit before the body is read.
 */
import { checkWholeFileSize } from './errors.js';
import { fileSizeLimit, MAX_WHOLE_FILE_BYTES } from './fileLimits.js';
import { rangedFolderReader, type RangedReaderOptions, type RangePart } from './rangedReader.js';
import type { ModelFileReader } from './types.js';

export function fetchFolderReader(baseUri: string, options: RangedReaderOptions = {}): ModelFileReader {
  const { signal } = options;
  return rangedFolderReader(async (name, start, length): Promise<RangePart | undefined> => {
    const r = await fetch(baseUri + name, { headers: { Range: `bytes=${start}-${start + length - 1}` }, signal });
    if (r.status === 404) return undefined;
    // Asked past the end (`bytes */TOTAL`): the file shrank since the last range, which the ranged reader says.
    const past = r.status === 416 ? /^bytes \*\/(\d+)$/.exec(r.headers.get('content-range') ?? '') : null;
    if (past) return { total: Number(past[1]), start, pieces: [], cancel: () => void r.body?.cancel().catch(() => undefined) };
    const { pieces, cancel } = body(r);
    if (r.status === 200) {
      const stated = Number(r.headers.get('content-length') ?? 0);
      if (stated > Math.min(fileSizeLimit(name), MAX_WHOLE_FILE_BYTES)) cancel();
      checkWholeFileSize(name, stated);
      const whole = new Uint8Array(await r.arrayBuffer());
      return { total: whole.length, start: 0, pieces: [], cancel, whole };
    }
    if (r.status !== 206) throw new Error(`could not read ${name} from the model folder (HTTP ${r.status})`);
    // `bytes START-END/TOTAL` (an empty file: `bytes 0--1/0`).
    const m = /^bytes (\d+)-(-?\d+)\/(\d+)$/.exec(r.headers.get('content-range') ?? '');
    if (!m) throw new Error(`could not read ${name} from the model folder (a partial answer without a usable Content-Range)`);
    return { total: Number(m[3]), start: Number(m[1]), pieces, cancel };
  }, options);
}

/**
 * The body's bytes as they arrive, and a cancel that works before reading began, while it goes on (through
 * the reader that locked the stream) and after a whole read (a consumed body has nothing left to cancel).
 */
function body(r: Response): { pieces: AsyncIterable<Uint8Array>; cancel(): void } {
  let reader: ReturnType<NonNullable<Response['body']>['getReader']> | undefined;
  async function* pieces(): AsyncIterable<Uint8Array> {
    reader = r.body?.getReader();
    if (!reader) return;
    for (;;) {
      const { done, value } = await reader.read();
      if (done || !value) return;
      yield value;
    }
  }
  return {
    pieces: pieces(),
    cancel: () => {
      // Cancelling only lets the stream go: its failure (the connection already closed) changes nothing.
      if (reader) void reader.cancel().catch(() => undefined);
      else if (r.body && !r.bodyUsed) void r.body.cancel().catch(() => undefined);
    },
  };
}
