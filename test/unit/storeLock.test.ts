// The model store's lock between processes: stale locks (dead pid, too old, never written) are taken over
// exactly once, a live holder makes others wait, and the lock is released however the critical section ends.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { StoreLock, type LockHolder } from '../../src/models/storeLock.js';

let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ai-lock-'));
  file = path.join(dir, 'manifest.lock');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  assert.equal(r.status, 0);
  return r.pid;
}

function writeHolder(h: Partial<LockHolder>): Promise<void> {
  return writeFile(file, JSON.stringify({ pid: process.pid, host: hostname(), token: 'theirs', at: Date.now(), ...h }));
}

test('a lock left by a process that is gone is taken over, once, and logged', async () => {
  const pid = deadPid();
  await writeHolder({ pid });
  const lines: string[] = [];
  const lock = new StoreLock(file, { log: (l) => lines.push(l) });
  assert.equal(await lock.withLock(async () => 'ran'), 'ran');
  assert.deepEqual(lines, [`Took over the model store lock of process ${pid} on ${hostname()}: its process ${pid} is gone.`]);
  assert.deepEqual(await readdir(dir), [], 'released, and no break lock left');
});

test('a live holder makes the second wait until it releases', async () => {
  const order: string[] = [];
  let bWaits!: (h: LockHolder | undefined) => void;
  const bIsWaiting = new Promise<LockHolder | undefined>((r) => (bWaits = r));
  const a = new StoreLock(file);
  const b = new StoreLock(file, { onWait: (h) => bWaits(h) });
  let second!: Promise<void>;
  await a.withLock(async () => {
    second = b.withLock(async () => void order.push('b ran'));
    assert.equal((await bIsWaiting)?.pid, process.pid);
    order.push('a released');
  });
  await second;
  assert.deepEqual(order, ['a released', 'b ran']);
});

test('calls through one instance run one after another without waiting on the file', async () => {
  let inside = 0;
  let waits = 0;
  const lock = new StoreLock(file, { onWait: () => waits++ });
  await Promise.all(Array.from({ length: 5 }, () => lock.withLock(async () => {
    assert.equal(inside++, 0);
    await new Promise((r) => setImmediate(r));
    inside--;
  })));
  assert.equal(waits, 0);
});

test('the lock is released when the critical section throws', async () => {
  const lock = new StoreLock(file);
  await assert.rejects(lock.withLock(async () => { throw new Error('boom'); }), /boom/);
  assert.deepEqual(await readdir(dir), []);
  let waited = false;
  await new StoreLock(file, { onWait: () => (waited = true) }).withLock(async () => undefined);
  assert.equal(waited, false);
});

test('a lock older than the bound is taken over even when its pid answers (a reused pid)', async () => {
  await writeHolder({ pid: process.ppid, at: Date.now() - 600_000 });
  const lines: string[] = [];
  await new StoreLock(file, { staleMs: 120_000, log: (l) => lines.push(l) }).withLock(async () => undefined);
  assert.match(lines.join('\n'), /Took over .* it was taken 600 s ago/);
});

test('a lock file not yet written is waited on while fresh and taken over once old', async () => {
  await writeFile(file, '');
  const lines: string[] = [];
  const old = (Date.now() - 600_000) / 1000;
  const lock = new StoreLock(file, { staleMs: 120_000, log: (l) => lines.push(l), onWait: (h) => {
    assert.equal(h, undefined);
    void utimes(file, old, old);
  } });
  await lock.withLock(async () => undefined);
  assert.match(lines.join('\n'), /^Took over the model store lock: it was taken 600 s ago\.$/);
});

test('several waiters on one stale lock: one takes it over, and only one holds it at a time', async () => {
  await writeHolder({ pid: deadPid() });
  const lines: string[] = [];
  let inside = 0;
  let entered = 0;
  const locks = Array.from({ length: 6 }, () => new StoreLock(file, { log: (l) => lines.push(l) }));
  await Promise.all(locks.map((lock) => lock.withLock(async () => {
    assert.equal(inside++, 0, 'two holders at once');
    entered++;
    await new Promise((r) => setImmediate(r));
    inside--;
  })));
  assert.equal(entered, 6);
  assert.equal(lines.filter((l) => l.startsWith('Took over')).length, 1, lines.join('\n'));
  assert.deepEqual(await readdir(dir), []);
});

test('waiting on a live holder gives up after the timeout, naming the holder', async () => {
  await writeHolder({ pid: process.ppid });
  await assert.rejects(new StoreLock(file, { timeoutMs: 30 }).withLock(async () => undefined), (e: Error) =>
    e.name === 'StoreLockTimeoutError' && e.message.includes(`process ${process.ppid} on ${hostname()}`));
});
