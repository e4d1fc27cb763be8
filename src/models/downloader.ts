/**
 * Downloads one file over HTTP(S) the way the Hugging Face hub serves it: redirects followed (bounded),
 * interrupted transfers resumed with Range, 5xx and network errors retried with exponential backoff,
 * size and sha256 verified against the hub's linked ETag / size (or the caller's expectation),
 * written to a temporary file and renamed into place only once verified. Node only, no `vscode`.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';

export type DownloadErrorKind =
  | 'not-found' | 'unauthorized' | 'forbidden' | 'http' | 'network' | 'stalled' | 'redirects' | 'size' | 'checksum' | 'cancelled';

export class DownloadError extends Error {
  constructor(readonly kind: DownloadErrorKind, message: string, readonly retryable = false) {
    super(message);
    this.name = 'DownloadError';
  }
}

/** What the server says the file is: sha256 and size from the hub's LFS headers, the ETag for resume checks. */
export interface RemoteFacts {
  sha256?: string;
  size?: number;
  etag?: string;
}

export interface DownloadProgress {
  /** Bytes of this file on disk so far (including a resumed prefix). */
  received: number;
  total?: number;
  bytesPerSecond: number;
  etaSeconds?: number;
}

export interface DownloadOptions {
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  /** Verified in preference to what the server says (a catalog's pinned values). */
  expected?: { size?: number; sha256?: string };
  maxRedirects?: number;
  maxAttempts?: number;
  /** First backoff delay; doubles after each failed attempt. */
  backoffMs?: number;
  /** No response or no bytes for this long counts as a network failure (then retried). */
  stallTimeoutMs?: number;
  userAgent?: string;
  /** An access token, sent as `Authorization: Bearer …` only to requests whose origin is `origin` (the configured mirror), never along a redirect elsewhere. */
  authorization?: HubAuthorization;
  /** Refuse (not retried) a file the server says is larger than this, before reading its body. */
  maxSize?: { bytes: number; why: string };
}

export interface HubAuthorization {
  token: string;
  origin: string;
}

/** The request headers for `url`: the token only when the URL is on the mirror's origin. */
export function headersFor(url: URL, base: Record<string, string>, auth: HubAuthorization | undefined): Record<string, string> {
  return auth && url.origin === auth.origin ? { ...base, authorization: `Bearer ${auth.token}` } : base;
}

export interface DownloadResult {
  size: number;
  sha256: string;
  /** Attempts made (1 when nothing failed). */
  attempts: number;
  /** How many attempts continued from a partial file with a Range request. */
  resumes: number;
}

const DEFAULTS = { maxRedirects: 8, maxAttempts: 5, backoffMs: 500, stallTimeoutMs: 30_000 };

const SHA256_HEX = /^[0-9a-f]{64}$/;

function unquoteEtag(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s?.replace(/^W\//, '').replace(/^"|"$/g, '') || undefined;
}

/** Reads the hub's LFS facts (X-Linked-Etag is the sha256 of an LFS object; a plain ETag of a git blob is not). */
export function factsFromHeaders(h: http.IncomingHttpHeaders): RemoteFacts {
  const linked = unquoteEtag(h['x-linked-etag']);
  const etag = linked ?? unquoteEtag(h.etag);
  const sizeText = h['x-linked-size'];
  const size = typeof sizeText === 'string' && /^\d+$/.test(sizeText) ? Number(sizeText) : undefined;
  const sha256 = linked && SHA256_HEX.test(linked) ? linked : undefined;
  return { sha256, size, etag };
}

function cancelled(): DownloadError {
  return new DownloadError('cancelled', 'The download was cancelled.');
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled());
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); reject(cancelled()); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A timer that destroys the request when neither headers nor bytes arrive for `ms`. */
class StallWatch {
  private timer: NodeJS.Timeout | undefined;
  stalled = false;
  constructor(private readonly ms: number, private readonly onStall: () => void) {
    this.kick();
  }
  kick(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.stalled = true; this.onStall(); }, this.ms);
  }
  stop(): void {
    clearTimeout(this.timer);
  }
}

interface Opened {
  res: http.IncomingMessage;
  facts: RemoteFacts;
  watch: StallWatch;
  req: http.ClientRequest;
}

function request(url: URL, headers: Record<string, string>, signal: AbortSignal | undefined, stallMs: number): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
    if (!lib) return reject(new DownloadError('http', `Unsupported URL scheme ${url.protocol} in ${url.href}.`));
    const req = lib.get(url, { headers, signal });
    const watch = new StallWatch(stallMs, () => req.destroy(new DownloadError('stalled', `No data from ${url.host} for ${Math.round(stallMs / 1000)} s.`, true)));
    req.on('response', (res) => resolve({ res, facts: factsFromHeaders(res.headers), watch, req }));
    req.on('error', (e) => { watch.stop(); reject(e); });
  });
}

/** Follows redirects (bounded), keeping the LFS facts from the first response that carries them (the hub's 302). */
async function openFollowing(start: string, headers: Record<string, string>, o: Required<Pick<DownloadOptions, 'maxRedirects' | 'stallTimeoutMs'>> & DownloadOptions): Promise<Opened> {
  let url = new URL(start);
  let facts: RemoteFacts = {};
  for (let hop = 0; hop <= o.maxRedirects; hop++) {
    const opened = await request(url, headersFor(url, headers, o.authorization), o.signal, o.stallTimeoutMs);
    const { res } = opened;
    facts = {
      sha256: facts.sha256 ?? opened.facts.sha256,
      size: facts.size ?? opened.facts.size,
      etag: facts.etag ?? opened.facts.etag,
    };
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      opened.watch.stop();
      res.resume();
      url = new URL(res.headers.location, url);
      continue;
    }
    return { ...opened, facts };
  }
  throw new DownloadError('redirects', `More than ${o.maxRedirects} redirects from ${start}.`);
}

async function fileSize(p: string): Promise<number> {
  try {
    return (await fsp.stat(p)).size;
  } catch {
    return 0;
  }
}

export async function sha256OfFile(p: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(p)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function toDownloadError(e: unknown, url: string, signal?: AbortSignal): DownloadError {
  if (signal?.aborted) return cancelled();
  if (e instanceof DownloadError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new DownloadError('network', `Network error while downloading ${url}: ${msg}.`, true);
}

/** Rate over a sliding window of recent samples, so speed and time left follow the current transfer. */
class RateMeter {
  private samples: Array<[number, number]> = [];
  add(bytes: number): number {
    const now = Date.now();
    this.samples.push([now, bytes]);
    while (this.samples.length > 2 && now - this.samples[0][0] > 3000) this.samples.shift();
    const [t0, b0] = this.samples[0];
    return now > t0 ? ((bytes - b0) * 1000) / (now - t0) : 0;
  }
}

/**
 * One attempt: continues from whatever `tempPath` holds when the server honours Range for the same ETag,
 * otherwise starts over. Returns the server's facts for the final checks.
 */
async function attempt(url: string, tempPath: string, o: typeof DEFAULTS & DownloadOptions, known: RemoteFacts, meter: RateMeter): Promise<{ facts: RemoteFacts; resumed: boolean }> {
  const have = known.etag ? await fileSize(tempPath) : 0;
  const headers: Record<string, string> = { 'user-agent': o.userAgent ?? 'attention-inspector' };
  if (have > 0) headers.range = `bytes=${have}-`;
  const { res, facts, watch } = await openFollowing(url, headers, o);
  try {
    const status = res.statusCode ?? 0;
    if (status === 404) throw new DownloadError('not-found', `Not found (404): ${url}.`);
    if (status === 401) throw new DownloadError('unauthorized', `Not authorized (401): ${url}.`);
    if (status === 403) throw new DownloadError('forbidden', `Access refused (403): ${url}.`);
    if (status >= 500) throw new DownloadError('http', `Server error ${status} for ${url}.`, true);
    if (status === 416) {
      await fsp.rm(tempPath, { force: true });
      throw new DownloadError('http', `Range not satisfiable for ${url}; starting over.`, true);
    }
    if (status !== 200 && status !== 206) throw new DownloadError('http', `Unexpected HTTP ${status} for ${url}.`);
    let start = 0;
    if (status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
      const sameFile = !known.etag || !facts.etag || known.etag === facts.etag;
      if (!m || Number(m[1]) !== have || !sameFile) {
        await fsp.rm(tempPath, { force: true });
        throw new DownloadError('http', `The server's partial response for ${url} does not continue the file on disk; starting over.`, true);
      }
      start = have;
    }
    Object.assign(known, facts);
    const total = facts.size ?? (res.headers['content-length'] ? start + Number(res.headers['content-length']) : undefined);
    if (o.maxSize && total !== undefined) refuseAboveSize(url, total, o.maxSize);
    const received = await writeBody(res, tempPath, start, (n) => {
      watch.kick();
      const bytesPerSecond = meter.add(n);
      const etaSeconds = total !== undefined && bytesPerSecond > 0 ? (total - n) / bytesPerSecond : undefined;
      return { received: n, total, bytesPerSecond, etaSeconds };
    }, o.onProgress).catch((e) => {
      throw watch.stalled ? new DownloadError('stalled', `No data from ${new URL(url).host} for ${Math.round(o.stallTimeoutMs / 1000)} s.`, true) : e;
    });
    if (!res.complete) throw new DownloadError('network', `The connection closed before ${url} was complete.`, true);
    o.onProgress?.({ received, total, bytesPerSecond: meter.add(received), etaSeconds: 0 });
    return { facts: known, resumed: start > 0 };
  } finally {
    watch.stop();
    res.destroy();
  }
}

/**
 * Appends (or writes) the body to `file` with events rather than async iteration, so every byte that
 * arrived before a dropped connection reaches the disk and the next attempt can resume after it.
 */
function writeBody(res: http.IncomingMessage, file: string, start: number, measure: (received: number) => DownloadProgress, onProgress?: (p: DownloadProgress) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(file, { flags: start > 0 ? 'a' : 'w' });
    let received = start;
    let lastReport = 0;
    let failure: Error | undefined;
    res.on('data', (chunk: Buffer) => {
      received += chunk.length;
      const p = measure(received);
      const now = Date.now();
      if (onProgress && now - lastReport >= 100) { lastReport = now; onProgress(p); }
      if (!out.write(chunk)) res.pause();
    });
    out.on('drain', () => res.resume());
    res.on('end', () => out.end());
    res.on('error', (e) => { failure ??= e; out.end(); });
    res.on('close', () => { if (!res.complete) { failure ??= new Error('connection closed early'); out.end(); } });
    out.on('error', reject);
    out.on('finish', () => (failure ? reject(failure) : resolve(received)));
  });
}

/** Downloads `url` to `finalPath` through `tempPath` (same folder, so the final rename is atomic). */
export async function downloadFile(url: string, tempPath: string, finalPath: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  // Options given as `undefined` (passed through by callers) keep their defaults.
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as DownloadOptions;
  const o = { ...DEFAULTS, ...given };
  const known: RemoteFacts = {};
  const meter = new RateMeter();
  let resumes = 0;
  let lastError: DownloadError | undefined;
  try {
    for (let n = 1; n <= o.maxAttempts; n++) {
      if (o.signal?.aborted) throw cancelled();
      try {
        const { facts, resumed } = await attempt(url, tempPath, o, known, meter);
        if (resumed) resumes++;
        const size = await fileSize(tempPath);
        const wantSize = o.expected?.size ?? facts.size;
        if (wantSize !== undefined && size !== wantSize) {
          throw new DownloadError('size', `${url} has ${size} bytes but ${wantSize} were expected; the file is truncated or wrong.`);
        }
        const sha256 = await sha256OfFile(tempPath);
        const wantSha = o.expected?.sha256 ?? facts.sha256;
        if (wantSha !== undefined && sha256 !== wantSha) {
          throw new DownloadError('checksum', `${url} failed its checksum: sha256 ${sha256.slice(0, 12)}… instead of ${wantSha.slice(0, 12)}….`);
        }
        await fsp.rename(tempPath, finalPath);
        return { size, sha256, attempts: n, resumes };
      } catch (e) {
        if (isDiskFull(e)) throw e;
        lastError = toDownloadError(e, url, o.signal);
        if (!lastError.retryable || n === o.maxAttempts) throw lastError;
        await sleep(o.backoffMs * 2 ** (n - 1), o.signal);
      }
    }
    throw lastError ?? new DownloadError('network', `Could not download ${url}.`);
  } catch (e) {
    await fsp.rm(tempPath, { force: true });
    if (isDiskFull(e)) throw await diskFullError(path.dirname(finalPath), known.size ?? o.expected?.size, e);
    throw toDownloadError(e, url, o.signal);
  }
}

/** Too little disk space for a download or an import, found before starting or when a write failed. */
export class DiskSpaceError extends Error {
  constructor(readonly needed: number | undefined, readonly free: number, message: string) {
    super(message);
    this.name = 'DiskSpaceError';
  }
}

async function freeBytes(dir: string): Promise<number> {
  const s = await fsp.statfs(dir);
  return s.bavail * s.bsize;
}

/** Refuses to start when the store's file system has less than `needed` bytes free (plus a margin). */
export async function checkFreeSpace(dir: string, needed: number, margin = 64 * 1024 * 1024): Promise<void> {
  const free = await freeBytes(dir);
  if (free < needed + margin) {
    throw new DiskSpaceError(needed, free, `Not enough free disk space: ${formatBytes(needed)} needed, ${formatBytes(free)} free in ${dir}.`);
  }
}

/** A write failed because the file system is full (ENOSPC) or the user's quota is spent (EDQUOT); a DiskSpaceError counts too. */
export function isDiskFull(e: unknown): boolean {
  if (e instanceof DiskSpaceError) return true;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * The error to report for a write that found the disk full, with the space free now: call it after the
 * partial files are removed, so that `free` is what the user has to work with.
 */
export async function diskFullError(dir: string, needed: number | undefined, cause: unknown): Promise<DiskSpaceError> {
  const free = await freeBytes(dir).catch(() => 0);
  const need = needed === undefined ? 'more space' : formatBytes(needed);
  const error = new DiskSpaceError(needed, free, `The disk is full: ${need} needed, ${formatBytes(free)} free in ${dir}.`);
  error.cause = cause;
  return error;
}

/** Throws the refusal (not retried) of a file whose stated size is above `maxSize`. */
export function refuseAboveSize(url: string, size: number, maxSize: { bytes: number; why: string }): void {
  if (size > maxSize.bytes) throw new DownloadError('size', `${url} is ${formatBytes(size)}, above the ${formatBytes(maxSize.bytes)} allowed: ${maxSize.why}.`);
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
