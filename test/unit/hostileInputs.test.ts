// Full disks and hostile folders (issue 16, section 4): each hostile input kind is tried against the model
// store (import, download) or the disk loader; every try must end in a clear typed error and leave the store
// exactly as it was (manifest, every file of every model, no staging leftovers). One summary line per kind
// is printed from what was observed. The full-disk kind needs a real small file system: a tmpfs, which only
// root can mount; elsewhere it is reported as not tried.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { ModelFileError } from '../../kernels/model/errors.js';
import { MAX_JSON_DEPTH, fileSizeLimit } from '../../kernels/model/fileLimits.js';
import { loadModelFolderFromDisk } from '../../node/folderReader.js';
import { DiskSpaceError } from '../../src/models/downloader.js';
import { ModelStore, type DownloadSpec } from '../../src/models/modelStore.js';
import { UnsafeNameError } from '../../src/models/safePath.js';
import { validateModelFolder } from '../../src/models/validateModel.js';
import { makeTinyGpt2Files, startHubServer } from '../fixtures/hubServer.js';
import { observe } from '../support/reliability.js';

const FILES = makeTinyGpt2Files();
const GB = 2 ** 30;
const MB = 2 ** 20;
let sandbox: string;

before(async () => {
  sandbox = await mkdtemp(path.join(tmpdir(), 'ai-hostile-'));
});
after(() => rm(sandbox, { recursive: true, force: true }));

// ---- the store, before and after ----

interface ManifestModel {
  id: string;
  sha256s: Record<string, string>;
}

interface StoreState {
  /** Every folder and file under the store root (files by sha256), except the lock, which is there only while held. */
  files: Map<string, string>;
  models: ManifestModel[];
}

async function storeState(root: string): Promise<StoreState> {
  const files = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    for (const d of await readdir(path.join(root, rel), { withFileTypes: true })) {
      const r = path.join(rel, d.name);
      if (d.isDirectory()) {
        files.set(r, 'folder');
        await walk(r);
      } else if (!d.name.startsWith('manifest.lock')) {
        files.set(r, createHash('sha256').update(await readFile(path.join(root, r))).digest('hex'));
      }
    }
  };
  await walk('');
  const models = (JSON.parse(await readFile(path.join(root, 'manifest.json'), 'utf8')) as { models: ManifestModel[] }).models;
  return { files, models };
}

/** Models of the earlier state that are gone from the later one or whose files changed. */
function lostOrCorrupted(before: StoreState, now: StoreState): number {
  const kept = new Set(now.models.map((m) => m.id));
  const changed = (m: ManifestModel) => Object.keys(m.sha256s).some((f) => now.files.get(path.join('models', m.id, f)) !== m.sha256s[f]);
  return before.models.filter((m) => !kept.has(m.id) || changed(m)).length;
}

// ---- the tally ----

interface Kind {
  tried: number;
  clear: number;
  lost: number;
  failures: string[];
}
const tally = new Map<string, Kind>();

interface Expected {
  type: new (...args: never[]) => Error;
  /** The file the message must name. */
  file?: string;
  message: RegExp;
}

/**
 * Tries one hostile input: `attempt` must reject with the expected typed error, in one readable line naming
 * the file, and the store must be unchanged (nothing registered, nothing left in staging, no model lost).
 */
async function tryHostile(kind: string, label: string, root: string, attempt: () => Promise<unknown>, expected: Expected): Promise<void> {
  const k = tally.get(kind) ?? { tried: 0, clear: 0, lost: 0, failures: [] };
  tally.set(kind, k);
  const beforeState = await storeState(root);
  k.tried++;
  let error: unknown;
  try {
    await attempt();
  } catch (e) {
    error = e;
  }
  const afterState = await storeState(root);
  const lost = lostOrCorrupted(beforeState, afterState);
  k.lost += lost;
  const staging = await readdir(path.join(root, '.staging')).catch(() => []);
  const problems: string[] = [];
  if (!(error instanceof expected.type)) problems.push(`threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}, not a ${expected.type.name}`);
  else {
    const m = error.message;
    if (!expected.message.test(m)) problems.push(`message ${JSON.stringify(m)} does not match ${expected.message}`);
    if (expected.file && !m.includes(expected.file)) problems.push(`message ${JSON.stringify(m)} does not name ${expected.file}`);
    if (/\n/.test(m) || m.length > 400) problems.push(`message is not one short line (${m.length} characters)`);
  }
  if (staging.length) problems.push(`staging leftovers: ${staging.join(', ')}`);
  try {
    assert.deepEqual(afterState.files, beforeState.files);
  } catch {
    problems.push('the store changed');
  }
  if (problems.length) k.failures.push(`${label}: ${problems.join('; ')}`);
  else k.clear++;
  observe(`hostile input: ${kind}`, problems.length ? 'unclear' : 'clear error', lost, label);
}

function report(kind: string): void {
  const k = tally.get(kind);
  assert.ok(k && k.tried > 0, `no ${kind} input was tried`);
  console.log(`hostile inputs: ${kind} ${k.tried} tried, ${k.clear} clear errors, ${k.lost} models lost or corrupted`);
  assert.deepEqual(k.failures, []);
  assert.equal(k.clear, k.tried);
  assert.equal(k.lost, 0);
}

// ---- folders ----

let folderCount = 0;
async function writeFolder(files: ReadonlyMap<string, Uint8Array | string>, name = `src-${++folderCount}`): Promise<string> {
  const dir = path.join(sandbox, name);
  await mkdir(dir, { recursive: true });
  for (const [f, bytes] of files) await writeFile(path.join(dir, f), bytes);
  return dir;
}

/** The tiny model's files with some replaced (`undefined` removes one). */
function withFiles(changes: Record<string, Uint8Array | string | undefined>): Map<string, Uint8Array | string> {
  const files = new Map<string, Uint8Array | string>(FILES);
  for (const [f, v] of Object.entries(changes)) {
    if (v === undefined) files.delete(f);
    else files.set(f, v);
  }
  return files;
}

async function storeWithOneModel(root: string): Promise<ModelStore> {
  const store = new ModelStore(root, validateModelFolder);
  await store.open();
  await store.importFolder(await writeFolder(FILES), { label: 'good' });
  return store;
}

function safetensorsWithHeader(header: string | Uint8Array, claimedLength?: bigint): Uint8Array {
  const json = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const out = new Uint8Array(8 + json.length + 16);
  new DataView(out.buffer).setBigUint64(0, claimedLength ?? BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const DEPTH = 1_000_000;
// config.json may have 1 MiB, which a million levels would exceed (the size limit would answer first).
const CONFIG_DEPTH = 400_000;

// ---- the kinds ----

test('links and special files in an imported folder are refused before anything is copied', async () => {
  const root = path.join(sandbox, 'store-link');
  const store = await storeWithOneModel(root);
  const outside = await writeFolder(FILES, 'outside-link');
  const unsafe = (file: string): Expected => ({ type: UnsafeNameError, file, message: /link|not a regular file/ });

  const linked = async (file: string, target: string): Promise<string> => {
    const dir = await writeFolder(withFiles({ [file]: undefined }));
    await symlink(target, path.join(dir, file));
    return dir;
  };
  const cases: Array<[string, string, string]> = [
    ['config.json → a file outside', 'config.json', path.join(outside, 'config.json')],
    ['model.safetensors → a file outside', 'model.safetensors', path.join(outside, 'model.safetensors')],
    ['vocab.json → a folder outside', 'vocab.json', outside],
    ['merges.txt → /dev/zero', 'merges.txt', '/dev/zero'],
    ['vocab.json → a dangling link', 'vocab.json', path.join(sandbox, 'no-such-file')],
  ];
  for (const [label, file, target] of cases) {
    const dir = await linked(file, target);
    await tryHostile('link', label, root, () => store.importFolder(dir), unsafe(file));
  }

  // The chosen folder may itself be a link (the user's choice); its files are checked all the same.
  const inner = await linked('config.json', path.join(outside, 'config.json'));
  const folderLink = path.join(sandbox, 'folder-link');
  await symlink(inner, folderLink);
  await tryHostile('link', 'a linked folder whose config.json is a link', root, () => store.importFolder(folderLink), unsafe('config.json'));

  const fifoDir = await writeFolder(withFiles({ 'vocab.json': undefined }));
  if (spawnSync('mkfifo', [path.join(fifoDir, 'vocab.json')]).status === 0) {
    await tryHostile('link', 'vocab.json is a pipe (import)', root, () => store.importFolder(fifoDir), unsafe('vocab.json'));
    await tryHostile('link', 'vocab.json is a pipe (loader)', root, () => loadModelFolderFromDisk(fifoDir), { type: ModelFileError, file: 'vocab.json', message: /not a regular file/ });
  }
  // The disk loader follows links (the Hugging Face cache is made of them), but reads no device.
  const devDir = await linked('merges.txt', '/dev/zero');
  await tryHostile('link', 'merges.txt → /dev/zero (loader)', root, () => loadModelFolderFromDisk(devDir), { type: ModelFileError, file: 'merges.txt', message: /not a regular file/ });
  report('link');
});

test('a linked folder of regular files is imported from where it points', async () => {
  const root = path.join(sandbox, 'store-folder-link');
  const store = await storeWithOneModel(root);
  const target = await writeFolder(FILES);
  await symlink(target, path.join(sandbox, 'plain-folder-link'));
  const entry = await store.importFolder(path.join(sandbox, 'plain-folder-link'));
  assert.deepEqual((await readdir(entry.folder)).sort(), [...FILES.keys()].sort());
  assert.equal((await stat(path.join(entry.folder, 'config.json'))).isFile(), true);
});

test('files above their size limit are refused before they are read or copied', async () => {
  const root = path.join(sandbox, 'store-size');
  const store = await storeWithOneModel(root);
  const tooLarge = (file: string): Expected => ({ type: ModelFileError, file, message: /bytes, above the .*-byte limit/ });
  const cases: Array<[string, string, number, Record<string, undefined>]> = [
    ['config.json of 1 GB', 'config.json', 1 * GB, {}],
    ['tokenizer.json of 300 MB', 'tokenizer.json', 300 * MB, { 'vocab.json': undefined, 'merges.txt': undefined }],
    ['vocab.json of 100 MB', 'vocab.json', 100 * MB, {}],
    ['model.safetensors of 65 GiB', 'model.safetensors', 65 * 2 ** 30, {}],
  ];
  const arrayBuffersBefore = process.memoryUsage().arrayBuffers;
  for (const [label, file, size, drop] of cases) {
    assert.ok(size > fileSizeLimit(file));
    const dir = await writeFolder(withFiles({ ...drop, [file]: '' }));
    await truncate(path.join(dir, file), size); // sparse: nothing is written
    await tryHostile('oversized file', `${label} (import)`, root, () => store.importFolder(dir), tooLarge(file));
    await tryHostile('oversized file', `${label} (loader)`, root, () => loadModelFolderFromDisk(dir), tooLarge(file));
  }
  const grown = process.memoryUsage().arrayBuffers - arrayBuffersBefore;
  assert.ok(grown < 64 * MB, `buffers grew by ${(grown / MB).toFixed(0)} MB: something was read`);
  report('oversized file');
});

test('safetensors headers that claim more than the file holds are refused without allocating', async () => {
  const root = path.join(sandbox, 'store-header');
  const store = await storeWithOneModel(root);
  const header = (label: string, bytes: Uint8Array, code: string, message: RegExp) => async () => {
    const dir = await writeFolder(withFiles({ 'model.safetensors': bytes }));
    await tryHostile('safetensors header', label, root, () => store.importFolder(dir), { type: ModelFileError, file: 'model.safetensors', message });
    await assert.rejects(loadModelFolderFromDisk(dir), (e) => e instanceof ModelFileError && e.code === code);
  };
  const arrayBuffersBefore = process.memoryUsage().arrayBuffers;
  await header('a header length of 1 TB', safetensorsWithHeader('{}', 2n ** 40n), 'header-too-large', /claims a 1099511627776-byte header/)();
  await header('a header length of 2^64 - 1', safetensorsWithHeader('{}', 2n ** 64n - 1n), 'header-too-large', /claims a \d+-byte header/)();
  const beyond = JSON.stringify({ 'wte.weight': { dtype: 'F32', shape: [250_000_000_000], data_offsets: [0, 1_000_000_000_000] } });
  await header('tensor offsets 1 TB beyond the file', safetensorsWithHeader(beyond), 'out-of-bounds', /data_offsets \[0, 1000000000000\) lie outside/)();
  const grown = process.memoryUsage().arrayBuffers - arrayBuffersBefore;
  assert.ok(grown < 64 * MB, `buffers grew by ${(grown / MB).toFixed(0)} MB`);
  report('safetensors header');
});

test('JSON nested a million levels deep is a ModelFileError naming the file, not a crash', async () => {
  const root = path.join(sandbox, 'store-deep');
  const store = await storeWithOneModel(root);
  const deep = (file: string): Expected => ({ type: ModelFileError, file, message: new RegExp(`more than ${MAX_JSON_DEPTH} levels deep`) });
  const cases: Array<[string, string, Record<string, string | Uint8Array | undefined>]> = [
    ['config.json of nested arrays', 'config.json', { 'config.json': nested(CONFIG_DEPTH) }],
    // A deep value where a number belongs: the message about it used to stringify the value and overflow.
    ['config.json with a nested n_layer', 'config.json', { 'config.json': `{"model_type":"gpt2","n_layer":${nested(CONFIG_DEPTH)}}` }],
    ['vocab.json of nested objects', 'vocab.json', { 'vocab.json': '{"a":'.repeat(DEPTH) + '1' + '}'.repeat(DEPTH) }],
    ['tokenizer.json of nested arrays', 'tokenizer.json', { 'tokenizer.json': nested(DEPTH), 'vocab.json': undefined, 'merges.txt': undefined }],
    ['a safetensors header of nested arrays', 'model.safetensors', { 'model.safetensors': safetensorsWithHeader(nested(DEPTH)) }],
  ];
  for (const [label, file, changes] of cases) {
    const dir = await writeFolder(withFiles(changes));
    await tryHostile('deep JSON', label, root, () => store.importFolder(dir), deep(file));
  }
  report('deep JSON');
});

/** Mounts a tmpfs of `size` at a fresh folder, or says why it cannot. */
function mountTmpfs(size: string): { dir: string; unmount: () => void } | string {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'mounting a tmpfs needs root on Linux';
  const dir = path.join(sandbox, `tmpfs-${size}`);
  spawnSync('mkdir', ['-p', dir]);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) return `mount -t tmpfs failed: ${(r.stderr || r.error?.message || '').trim()}`;
  return { dir, unmount: () => void spawnSync('umount', [dir]) };
}

/** Writes a file until the disk is full (real ENOSPC), leaving less than 4 KB free. */
function fillDisk(file: string): void {
  const fd = openSync(file, 'w');
  try {
    for (const chunk of [Buffer.alloc(MB), Buffer.alloc(4096)]) {
      try {
        for (;;) writeSync(fd, chunk);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
      }
    }
  } finally {
    closeSync(fd);
  }
}

test('a download that fills the disk midway and an import into a full disk say so and register nothing', async (t) => {
  // Room for the store's free-space margin (64 MiB) plus the model, so the download starts; the disk is filled under it.
  const mounted = mountTmpfs('68m');
  if (typeof mounted === 'string') {
    console.log(`hostile inputs: disk full not tried (${mounted})`);
    return t.skip(mounted);
  }
  const hub = await startHubServer({ 'test/tiny': { files: FILES } });
  try {
    const root = path.join(mounted.dir, 'store');
    const store = await storeWithOneModel(root);
    const files = ['config.json', 'vocab.json', 'merges.txt', 'model.safetensors'];
    const spec: DownloadSpec = {
      id: 'tiny-download', label: 'tiny', repo: 'test/tiny', files, optionalFiles: [],
      sizeBytes: files.reduce((n, f) => n + FILES.get(f)!.length, 0),
    };
    let filledAt: string | undefined;
    const download = () => store.download(spec, hub.baseUrl, {
      backoffMs: 1,
      onProgress: (file, p) => {
        if (file !== 'model.safetensors' || filledAt) return;
        filledAt = `${file} at ${p.received} of ${p.total} bytes`;
        fillDisk(path.join(mounted.dir, 'filler'));
      },
    });
    const full = { type: DiskSpaceError, message: /^The disk is full: \d.* needed, \d.* free in / };
    await tryHostile('disk full', 'download fills the disk midway', root, download, full);
    assert.ok(filledAt, 'the disk was filled during the weights');
    assert.equal(hub.requests.filter((r) => r.startsWith('GET /cdn-lfs/')).length, 1, 'a full disk is not retried');

    const source = await writeFolder(FILES);
    await tryHostile('disk full', 'import into a full disk', root, () => store.importFolder(source), { type: DiskSpaceError, message: /^Not enough free disk space: \d.* needed, \d.* free in / });
    report('disk full');

    // Freeing space is possible on a disk full to the last page, and the store works again after it.
    fillDisk(path.join(mounted.dir, 'filler-2'));
    await store.remove('good');
    assert.deepEqual(store.list(), []);
    assert.deepEqual(await readdir(path.join(root, 'models')), []);
    await rm(path.join(mounted.dir, 'filler'));
    await rm(path.join(mounted.dir, 'filler-2'));
    assert.equal((await store.download(spec, hub.baseUrl)).id, 'tiny-download');
  } finally {
    await hub.close();
    mounted.unmount();
  }
});
