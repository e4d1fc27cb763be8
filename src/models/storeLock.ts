/**
 * An exclusive lock between the processes sharing one model store (VS Code windows share the extension's
 * global storage). The lock is a file created with O_EXCL holding `{ pid, host, token, at }`, held only around
 * short critical sections (a manifest read-modify-write, a rename together with its manifest entry), never
 * across a download.
 *
 * A holder that died leaves its file behind. The file is stale when its pid is gone (same host), or when it is
 * older than `staleMs`: no critical section lasts that long, so its holder died, its pid was reused, or it is
 * on a host we cannot ask. Taking over happens under a second, short-lived lock (`<file>.break`), so two
 * waiters that saw the same stale file cannot both delete it — the second would delete the first's fresh lock.
 * No `vscode` here.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';

export interface LockHolder {
  pid: number;
  host: string;
  token: string;
  /** Epoch milliseconds when it was taken. */
  at: number;
}

export interface LockOptions {
  /** A lock older than this is taken over even when its pid answers. */
  staleMs?: number;
  /** Waiting longer than this for a live holder fails with a StoreLockTimeoutError. */
  timeoutMs?: number;
  /** Called once per acquisition that finds the lock held (undefined: a lock file still being written). */
  onWait?: (holder: LockHolder | undefined) => void;
  log?: (line: string) => void;
}

export class StoreLockTimeoutError extends Error {
  constructor(file: string, holder: LockHolder | undefined, waitedMs: number) {
    super(`The model store is busy: ${file} has been held${holder ? ` by process ${holder.pid} on ${holder.host}` : ''} for the last ${Math.round(waitedMs / 1000)} s.`);
    this.name = 'StoreLockTimeoutError';
  }
}

const DEFAULTS = { staleMs: 120_000, timeoutMs: 180_000 };
/** The break lock is held for one read and one unlink; older than this, its holder died. */
const BREAK_STALE_MS = 10_000;
const FIRST_RETRY_MS = 2;
const MAX_RETRY_MS = 100;

/** What is in the lock file now; `holder` is undefined while its creator has not written it yet. */
interface Seen {
  holder?: LockHolder;
  mtimeMs: number;
}

export class StoreLock {
  /** Calls through one instance run one after another: a process never waits on its own lock file. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly staleMs: number;
  private readonly timeoutMs: number;

  constructor(readonly file: string, private readonly options: LockOptions = {}) {
    this.staleMs = options.staleMs ?? DEFAULTS.staleMs;
    this.timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  }

  /** Runs `fn` holding the lock and releases it however `fn` ends. */
  withLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = async () => {
      const token = await this.acquire();
      try {
        return await fn();
      } finally {
        await this.release(token);
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async acquire(): Promise<string> {
    const me: LockHolder = { pid: process.pid, host: hostname(), token: randomBytes(8).toString('hex'), at: 0 };
    const started = Date.now();
    let retryMs = FIRST_RETRY_MS;
    let waited = false;
    for (;;) {
      me.at = Date.now();
      if (await this.tryCreate(me)) return me.token;
      const seen = await readLock(this.file);
      if (!seen) continue;
      const stale = this.staleReason(seen);
      if (stale && (await this.takeOver(seen, stale))) continue;
      if (!waited) this.options.onWait?.(seen.holder);
      waited = true;
      if (Date.now() - started > this.timeoutMs) throw new StoreLockTimeoutError(this.file, seen.holder, Date.now() - started);
      await delay(retryMs * (0.5 + Math.random()));
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    }
  }

  private async tryCreate(me: LockHolder): Promise<boolean> {
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(this.file, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
    try {
      await handle.writeFile(JSON.stringify(me));
      await handle.close();
      return true;
    } catch (e) {
      await handle.close().catch(() => undefined);
      await fsp.rm(this.file, { force: true });
      throw e;
    }
  }

  private staleReason({ holder, mtimeMs }: Seen): string | undefined {
    if (holder && holder.host === hostname() && !processAlive(holder.pid)) return `its process ${holder.pid} is gone`;
    const age = Date.now() - (holder?.at ?? mtimeMs);
    return age > this.staleMs ? `it was taken ${Math.round(age / 1000)} s ago` : undefined;
  }

  /** Deletes the stale lock file if it is still the one judged stale; true when the caller should retry at once. */
  private async takeOver(seen: Seen, reason: string): Promise<boolean> {
    const breaker = `${this.file}.break`;
    try {
      await (await fsp.open(breaker, 'wx')).close();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const st = await fsp.stat(breaker).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > BREAK_STALE_MS) await fsp.rm(breaker, { force: true });
      return false;
    }
    try {
      const now = await readLock(this.file);
      if (!now || !sameLock(now, seen)) return true;
      await fsp.rm(this.file, { force: true });
      this.options.log?.(`Took over the model store lock${seen.holder ? ` of process ${seen.holder.pid} on ${seen.holder.host}` : ''}: ${reason}.`);
      return true;
    } finally {
      await fsp.rm(breaker, { force: true });
    }
  }

  private async release(token: string): Promise<void> {
    const seen = await readLock(this.file);
    if (seen?.holder?.token === token) await fsp.rm(this.file, { force: true });
    else this.options.log?.(`The model store lock was taken over while this process held it (held longer than ${this.staleMs / 1000} s).`);
  }
}

/** The lock file's content and age, or undefined when there is none. */
async function readLock(file: string): Promise<Seen | undefined> {
  try {
    const [text, st] = await Promise.all([fsp.readFile(file, 'utf8'), fsp.stat(file)]);
    return { holder: parseHolder(text), mtimeMs: st.mtimeMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const h = JSON.parse(text) as LockHolder;
    return typeof h.pid === 'number' && typeof h.token === 'string' && typeof h.at === 'number' ? h : undefined;
  } catch {
    return undefined;
  }
}

function sameLock(a: Seen, b: Seen): boolean {
  return a.holder && b.holder ? a.holder.token === b.holder.token : !a.holder && !b.holder && a.mtimeMs === b.mtimeMs;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
