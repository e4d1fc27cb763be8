// The model store without a network: manifest round trip, cleanup at open, removal, folder import
// (with the fp32 → fp16 rewrite), and the refusals (pickle-only folder, links, unsafe names).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { parseSafetensors } from '../../kernels/model/safetensors.js';
import { ModelStore } from '../../src/models/modelStore.js';
import { checkSafeName, resolveInside, toSafeId } from '../../src/models/safePath.js';
import { validateModelFolder } from '../../src/models/validateModel.js';
import { makeTinyGpt2Files } from '../fixtures/hubServer.js';

const FILES = makeTinyGpt2Files();
let sandbox: string;
let root: string;

async function writeFolder(dir: string, files: ReadonlyMap<string, Uint8Array>): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [name, bytes] of files) await writeFile(path.join(dir, name), bytes);
  return dir;
}

async function openStore(): Promise<ModelStore> {
  const store = new ModelStore(root, validateModelFolder);
  await store.open();
  return store;
}

beforeEach(async () => {
  sandbox = await mkdtemp(path.join(tmpdir(), 'ai-store-'));
  root = path.join(sandbox, 'store');
});
afterEach(() => rm(sandbox, { recursive: true, force: true }));

test('an imported folder (GPT-2 key names, attn.bias buffers) is registered and survives a reopen', async () => {
  const src = await writeFolder(path.join(sandbox, 'My GPT-2 (copy)'), FILES);
  const store = await openStore();
  const entry = await store.importFolder(src);
  assert.equal(entry.id, 'My-GPT-2-copy');
  assert.equal(entry.source, 'import');
  assert.equal(entry.dtype, 'F32');
  assert.deepEqual((await readdir(entry.folder)).sort(), [...FILES.keys()].sort());
  const reopened = await openStore();
  assert.deepEqual(reopened.list().map((e) => [e.id, e.folder, e.sha256s]), [[entry.id, entry.folder, entry.sha256s]]);
});

test('importing the same folder twice gives two distinct ids', async () => {
  const src = await writeFolder(path.join(sandbox, 'tiny'), FILES);
  const store = await openStore();
  const a = await store.importFolder(src);
  const b = await store.importFolder(src);
  assert.deepEqual([a.id, b.id], ['tiny', 'tiny-2']);
});

test('import can store fp32 weights as fp16, and the loader accepts the result', async () => {
  const src = await writeFolder(path.join(sandbox, 'tiny'), FILES);
  const store = await openStore();
  const entry = await store.importFolder(src, { toFp16: true });
  assert.equal(entry.dtype, 'F16');
  const before = parseSafetensors(FILES.get('model.safetensors')!);
  const after = parseSafetensors(new Uint8Array(await readFile(path.join(entry.folder, 'model.safetensors'))));
  assert.equal(after.size, before.size);
  const src32 = new Float32Array(new Uint8Array(before.get('h.0.attn.c_attn.weight')!.data).buffer);
  const out16 = new Uint16Array(new Uint8Array(after.get('h.0.attn.c_attn.weight')!.data).buffer);
  for (const i of [0, 1, 17, src32.length - 1]) {
    const h = out16[i];
    const v = (h & 0x8000 ? -1 : 1) * ((h >> 10) & 0x1f ? (1 + (h & 0x3ff) / 1024) * 2 ** (((h >> 10) & 0x1f) - 15) : (h & 0x3ff) * 2 ** -24);
    assert.ok(Math.abs(v - src32[i]) <= Math.abs(src32[i]) * 2 ** -11 + 2 ** -24, `element ${i}: ${v} vs ${src32[i]}`);
  }
});

test('a folder with only a .bin checkpoint is refused, saying why', async () => {
  const files = new Map(FILES);
  files.set('pytorch_model.bin', files.get('model.safetensors')!);
  files.delete('model.safetensors');
  const src = await writeFolder(path.join(sandbox, 'pickled'), files);
  const store = await openStore();
  await assert.rejects(store.importFolder(src), /pytorch_model\.bin.*safetensors only.*runs whatever code/s);
  assert.deepEqual(store.list(), []);
  assert.deepEqual(await readdir(path.join(root, 'models')), []);
});

test('a corrupt folder is not registered and leaves nothing in the store', async () => {
  const files = new Map(FILES);
  files.set('model.safetensors', files.get('model.safetensors')!.subarray(0, 5000));
  const src = await writeFolder(path.join(sandbox, 'broken'), files);
  const store = await openStore();
  await assert.rejects(store.importFolder(src), (e: Error) => e.name === 'ModelFileError');
  assert.deepEqual(store.list(), []);
  assert.deepEqual(await readdir(path.join(root, 'models')), []);
  assert.deepEqual(await readdir(path.join(root, '.staging')).catch(() => []), []);
});

test('a linked file inside an imported folder is refused (it could point anywhere)', async () => {
  const src = await writeFolder(path.join(sandbox, 'linked'), new Map([...FILES].filter(([n]) => n !== 'vocab.json')));
  await writeFile(path.join(sandbox, 'outside.json'), '{}');
  await symlink(path.join(sandbox, 'outside.json'), path.join(src, 'vocab.json'));
  const store = await openStore();
  await assert.rejects(store.importFolder(src), (e: Error) => e.name === 'UnsafeNameError');
  assert.deepEqual(store.list(), []);
});

test('open removes staging leftovers, temporary manifests and unregistered folders; drops entries without files', async () => {
  const store = await openStore();
  const kept = await store.importFolder(await writeFolder(path.join(sandbox, 'kept'), FILES));
  const gone = await store.importFolder(await writeFolder(path.join(sandbox, 'gone'), FILES));
  await rm(gone.folder, { recursive: true });
  await writeFolder(path.join(root, '.staging', 'x-1234'), new Map([['model.safetensors.partial', new Uint8Array(10)]]));
  await writeFolder(path.join(root, 'models', 'orphan'), FILES);
  await writeFile(path.join(root, 'manifest.json.tmp-dead'), '{');
  const reopened = await openStore();
  assert.deepEqual(reopened.list().map((e) => e.id), [kept.id]);
  assert.deepEqual((await readdir(root)).sort(), ['.staging', 'manifest.json', 'models']);
  assert.deepEqual(await readdir(path.join(root, '.staging')), []);
  assert.deepEqual(await readdir(path.join(root, 'models')), [kept.id]);
});

test('an interrupted download is named by the open that sweeps it, once; a live one is left alone', async () => {
  const dead = spawnSync(process.execPath, ['-e', '']).pid;
  const folder = path.join(root, '.staging', `tiny-gpt2-${dead}-0badc0de`);
  await writeFolder(folder, new Map([['model.safetensors.partial', new Uint8Array(10)]]));
  await writeFile(`${folder}.json`, JSON.stringify({ id: 'tiny-gpt2', label: 'fixture/tiny-gpt2', repo: 'fixture/tiny-gpt2' }));
  const live = path.join(root, '.staging', `gpt2-${process.ppid}-abcd1234`);
  await writeFolder(live, new Map([['model.safetensors.partial', new Uint8Array(10)]]));
  await writeFile(`${live}.json`, JSON.stringify({ id: 'gpt2', label: 'GPT-2 small', repo: 'openai-community/gpt2' }));
  const first = await openStore();
  assert.deepEqual(first.interruptedDownloads, [{ id: 'tiny-gpt2', label: 'fixture/tiny-gpt2', repo: 'fixture/tiny-gpt2' }]);
  assert.deepEqual((await readdir(path.join(root, '.staging'))).sort(), [path.basename(live), `${path.basename(live)}.json`]);
  const second = await openStore();
  assert.deepEqual(second.interruptedDownloads, []);
});

test('two windows sharing the storage keep each other\'s models and in-progress downloads', async () => {
  const a = await openStore();
  const b = await openStore();
  await a.importFolder(await writeFolder(path.join(sandbox, 'from-a'), FILES));
  await b.importFolder(await writeFolder(path.join(sandbox, 'from-b'), FILES));
  const busy = path.join(root, '.staging', `gpt2-${process.ppid}-abcd1234`);
  await writeFolder(busy, new Map([['model.safetensors.partial', new Uint8Array(10)]]));
  const c = await openStore();
  assert.deepEqual(c.list().map((e) => e.id).sort(), ['from-a', 'from-b']);
  assert.deepEqual(await readdir(busy), ['model.safetensors.partial'], 'a live process\'s staging folder is left alone');
});

/**
 * Window A as it stands between its two steps under the lock: `models/tiny` renamed into place, the lock file
 * naming A, the manifest not yet written.
 */
async function windowAMidRegistration(pid: number): Promise<() => Promise<void>> {
  await writeFolder(path.join(root, 'models', 'tiny'), FILES);
  await writeFile(path.join(root, 'manifest.lock'), JSON.stringify({ pid, host: hostname(), token: 'window-a', at: Date.now() }));
  return async () => {
    const entry = { id: 'tiny', label: 'Tiny', source: 'download', folder: 'models/tiny', size: 1, sha256s: {}, dtype: 'F32' };
    await writeFile(path.join(root, 'manifest.json'), JSON.stringify({ version: 1, models: [entry] }));
    await rm(path.join(root, 'manifest.lock'));
  };
}

test('a folder another window renamed into place but has not entered yet survives this window\'s open', async () => {
  const finishA = await windowAMidRegistration(process.ppid);
  let bWaits!: () => void;
  const bIsWaiting = new Promise<void>((r) => (bWaits = r));
  const b = new ModelStore(root, validateModelFolder, undefined, { onWait: () => bWaits() });
  const opening = b.open();
  assert.equal(await Promise.race([bIsWaiting.then(() => 'waits for A'), opening.then(() => 'opened without waiting')]), 'waits for A');
  await finishA();
  await opening;
  assert.deepEqual(b.list().map((e) => e.id), ['tiny']);
  assert.deepEqual((await readdir(path.join(root, 'models', 'tiny'))).sort(), [...FILES.keys()].sort());
});

test('a folder whose window died before entering it is removed at open, taking over the dead window\'s lock', async () => {
  const dead = spawnSync(process.execPath, ['-e', '']).pid;
  await windowAMidRegistration(dead);
  const lines: string[] = [];
  const b = new ModelStore(root, validateModelFolder, (l) => lines.push(l));
  await b.open();
  assert.deepEqual(b.list(), []);
  assert.deepEqual(await readdir(path.join(root, 'models')), []);
  assert.deepEqual(lines, [
    `Took over the model store lock of process ${dead} on ${hostname()}: its process ${dead} is gone.`,
    'Removed unregistered folder models/tiny (left by an interrupted operation).',
  ]);
});

test('a model one window removed is not written back by another window\'s next change', async () => {
  const a = await openStore();
  const b = await openStore();
  const x = await a.importFolder(await writeFolder(path.join(sandbox, 'x'), FILES));
  await b.refresh();
  assert.deepEqual(b.list().map((e) => e.id), ['x']);
  await a.remove(x.id);
  await b.importFolder(await writeFolder(path.join(sandbox, 'y'), FILES));
  assert.deepEqual(b.list().map((e) => e.id), ['y']);
  const manifest = JSON.parse(await readFile(path.join(root, 'manifest.json'), 'utf8'));
  assert.deepEqual(manifest.models.map((m: { id: string }) => m.id), ['y']);
  await a.refresh();
  assert.deepEqual(a.list().map((e) => e.id), ['y'], 'a refresh sees the other window\'s change');
});

test('remove deletes the files and the entry together', async () => {
  const store = await openStore();
  const entry = await store.importFolder(await writeFolder(path.join(sandbox, 'tiny'), FILES));
  await store.remove(entry.id);
  assert.deepEqual(store.list(), []);
  assert.deepEqual(await readdir(path.join(root, 'models')), []);
  const manifest = JSON.parse(await readFile(path.join(root, 'manifest.json'), 'utf8'));
  assert.deepEqual(manifest.models, []);
});

test('a tampered manifest cannot point outside the store', async () => {
  await mkdir(root, { recursive: true });
  await writeFile(path.join(root, 'manifest.json'), JSON.stringify({ version: 1, models: [{ id: '../../etc', label: 'x', source: 'import', folder: '../../etc', size: 0, sha256s: {}, dtype: 'F32' }] }));
  const store = await openStore();
  assert.deepEqual(store.list(), []);
});

test('names: unsafe components are refused, free text becomes a safe id, resolved paths stay inside', () => {
  for (const bad of ['../x', '..', 'a/b', 'a\\b', '.hidden', '', 'x'.repeat(81), 'a..b']) assert.throws(() => checkSafeName(bad), /Refused the name/);
  assert.equal(checkSafeName('model.safetensors'), 'model.safetensors');
  assert.equal(toSafeId('../../etc/passwd'), 'etc-passwd');
  assert.equal(toSafeId('...'), 'model');
  assert.equal(resolveInside('/store', 'models', 'gpt2'), path.resolve('/store/models/gpt2'));
  assert.throws(() => resolveInside('/store', '..'));
});
