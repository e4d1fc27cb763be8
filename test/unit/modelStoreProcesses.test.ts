// Several windows, one store: three processes (test/support/storeWorker.ts) download the same and their own
// ids from the hub stand-in, import, remove and reopen the store for many seeded rounds; one of them ends
// by dying while it holds the lock. Afterwards the manifest is valid JSON and lists exactly the folders
// present, every listed model loads with the served bytes, and no completed operation was lost: an id added
// after every removal of it had finished is present, an id removed after every addition had finished is not.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ModelStore, type DownloadSpec } from '../../src/models/modelStore.js';
import { validateModelFolder } from '../../src/models/validateModel.js';
import { makeTinyGpt2Files, startHubServer, type HubRepo } from '../fixtures/hubServer.js';
import { observe } from '../support/reliability.js';
import type { OpKind, WorkerConfig, WorkerLine } from '../support/storeWorker.js';

const WORKER = path.join(import.meta.dirname, '../support/storeWorker.ts');
const WORKERS = 3;
const ROUNDS = 25;
const FILES = makeTinyGpt2Files();
/** Store log lines that would mean one window undid, or tidied away, another's work. */
const TROUBLE = /Removed unregistered|Removed leftover|Dropped model|unreadable|taken over while/;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const spec = (id: string): DownloadSpec => ({
  id, label: id, repo: `fixture/${id}`, files: ['config.json', 'model.safetensors', 'vocab.json', 'merges.txt'], optionalFiles: ['tokenizer.json'],
  sizeBytes: [...FILES.values()].reduce((n, b) => n + b.length, 0),
});

type Op = Extract<WorkerLine, { op: OpKind }>;

function runWorker(cfg: WorkerConfig): Promise<{ lines: WorkerLine[]; code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ lines: stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as WorkerLine), code, stderr }));
  });
}

test('three processes downloading, importing and removing in one store lose nothing and leave it consistent', async () => {
  const began = Date.now();
  const sandbox = await mkdtemp(path.join(tmpdir(), 'ai-procs-'));
  const root = path.join(sandbox, 'store');
  const importSource = path.join(sandbox, 'import-me');
  await mkdir(importSource, { recursive: true });
  for (const [name, bytes] of FILES) await writeFile(path.join(importSource, name), bytes);
  const shared = spec('shared');
  const own = Array.from({ length: WORKERS }, (_, i) => spec(`own-${i}`));
  const repos: Record<string, HubRepo> = Object.fromEntries([shared, ...own].map((s) => [s.repo, { files: FILES }]));
  const hub = await startHubServer(repos);
  try {
    const results = await Promise.all(own.map((ownSpec, index) => runWorker({
      index, root, hub: hub.baseUrl, shared, own: ownSpec, importSource, seed: 1000 + index, rounds: ROUNDS, crashHoldingLock: index === 0,
    })));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const lines = results.flatMap((r) => r.lines);
    const ops = lines.filter((l): l is Op => 'op' in l);
    const logs = lines.filter((l): l is Extract<WorkerLine, { log: string }> => 'log' in l).map((l) => `worker ${l.worker}: ${l.log}`);
    const failed = ops.filter((o) => o.error);
    // In the tally: every operation as it ended; what was lost is counted once the store is read below.
    for (const o of ops) observe('store operation while 2 other processes use the store', o.error ? 'unclear' : 'handled', undefined, `${o.op} ${o.id ?? ''}`);
    assert.deepEqual(failed, [], 'every operation completed');
    assert.equal(ops.length, WORKERS * ROUNDS);
    assert.deepEqual(logs.filter((l) => TROUBLE.test(l)), [], 'nothing was swept, dropped or taken from a live holder');

    // The store as the workers left it (before any open could tidy it).
    const manifest = JSON.parse(await readFile(path.join(root, 'manifest.json'), 'utf8')) as { version: number; models: Array<{ id: string; folder: string; sha256s: Record<string, string> }> };
    assert.equal(manifest.version, 1);
    const listed = manifest.models.map((m) => m.id).sort();
    assert.equal(new Set(listed).size, listed.length, 'no id listed twice');
    assert.deepEqual((await readdir(path.join(root, 'models'))).sort(), listed, 'the manifest lists exactly the folders present');
    // Each model listed, checked whole (counted before the assertions below say which failed).
    for (const m of manifest.models) {
      const ok = await validateModelFolder(path.join(root, m.folder)).then(async () => {
        for (const [name, bytes] of FILES) if (sha256(await readFile(path.join(root, m.folder, name))) !== sha256(bytes)) return false;
        return true;
      }, () => false);
      observe('model listed after 3 processes shared the store', ok ? 'handled' : 'unclear', ok ? 0 : 1, m.id);
    }
    for (const m of manifest.models) {
      assert.equal(m.folder, `models/${m.id}`);
      const folder = path.join(root, m.folder);
      assert.equal((await validateModelFolder(folder)).dtype, 'F32');
      for (const [name, bytes] of FILES) {
        assert.equal(m.sha256s[name], sha256(bytes), `${m.id}/${name} recorded`);
        assert.equal(sha256(await readFile(path.join(folder, name))), sha256(bytes), `${m.id}/${name} on disk`);
      }
    }

    // Lost nothing: judge each id by the operations whose intervals do not overlap.
    const adds = ops.filter((o) => o.op.startsWith('download') || o.op === 'import');
    const removes = ops.filter((o) => o.op === 'remove');
    const ids = new Set(adds.map((o) => o.id!));
    for (const id of listed) assert.ok(ids.has(id), `${id} was added by some worker`);
    const verdicts = { present: 0, absent: 0, overlapping: 0 };
    for (const id of ids) {
      const added = adds.filter((o) => o.id === id);
      const removed = removes.filter((o) => o.id === id);
      const mustBePresent = added.some((a) => removed.every((r) => r.end < a.start));
      const mustBeAbsent = removed.some((r) => added.every((a) => a.end < r.start));
      if (mustBePresent && !listed.includes(id)) {
        observe('model listed after 3 processes shared the store', 'unclear', 1, `${id} lost`);
        assert.fail(`${id} was added after its last removal finished, so it must be there`);
      }
      if (mustBeAbsent) assert.ok(!listed.includes(id), `${id} was removed after its last addition finished, so it must be gone`);
      verdicts[mustBePresent ? 'present' : mustBeAbsent ? 'absent' : 'overlapping']++;
    }

    // A new window now: it takes over the lock the crashed worker left (unless a worker did), and finds nothing to sweep.
    const openLog: string[] = [];
    const last = new ModelStore(root, validateModelFolder, (l) => openLog.push(l));
    await last.open();
    assert.deepEqual(last.list().map((e) => e.id).sort(), listed);
    const takeovers = [...logs, ...openLog].filter((l) => /Took over the model store lock/.test(l)).length;
    assert.equal(takeovers, 1, [...logs, ...openLog].join('\n'));
    assert.deepEqual(openLog.filter((l) => TROUBLE.test(l)), []);
    assert.deepEqual((await readdir(root)).sort(), ['.staging', 'manifest.json', 'models'], 'no lock, break lock or temporary manifest left');
    assert.deepEqual(await readdir(path.join(root, '.staging')), []);

    const perKind: Record<string, number> = {};
    for (const o of ops) perKind[o.op] = (perKind[o.op] ?? 0) + 1;
    const waits = lines.reduce((n, l) => n + ('summary' in l ? l.summary.waits : 0), 0);
    console.log(`store processes: ${WORKERS} workers × ${ROUNDS} rounds; ${JSON.stringify(perKind)}; lock waits ${waits}, takeovers ${takeovers}${openLog.some((l) => /Took over/.test(l)) ? ' (by the last open)' : ''}; ids judged ${JSON.stringify(verdicts)}; ${listed.length} models left; ${hub.requests.filter((r) => r.startsWith('GET /cdn-lfs/')).length} weight downloads; ${((Date.now() - began) / 1000).toFixed(1)} s`);
  } finally {
    await hub.close();
    await rm(sandbox, { recursive: true, force: true });
  }
});
