// Gated and sharded repositories through the model store, from the hub stand-in with its CDN on another
// origin: the token reaches the mirror's resolve requests and nothing else, 401/403 say what to do and
// register nothing, a sharded repository downloads its index and every shard and loads as one model.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { SAFETENSORS_INDEX } from '../../kernels/model/safetensors.js';
import { CATALOG, termsText } from '../../src/models/catalog.js';
import { headersFor } from '../../src/models/downloader.js';
import { HubAccessError, mirrorAuthorization } from '../../src/models/hubAccess.js';
import { ModelStore, type DownloadSpec } from '../../src/models/modelStore.js';
import { validateModelFolder } from '../../src/models/validateModel.js';
import { loadModelFolderFromDisk } from '../../node/folderReader.js';
import { makeTinyGpt2Files, shardedFiles, startHubServer, type HubServer } from '../fixtures/hubServer.js';

const TOKEN = 'hf_test_token_0123456789';
const FILES = makeTinyGpt2Files();
const GPT2_FILES = ['config.json', 'model.safetensors', 'vocab.json', 'merges.txt'];
const spec = (repo: string, gated = false): DownloadSpec => ({ id: repo.split('/')[1]!, label: repo, repo, files: GPT2_FILES, optionalFiles: ['tokenizer.json'], gated });
const FAST = { backoffMs: 10, stallTimeoutMs: 20_000, maxAttempts: 3 };

async function withHub(body: (hub: HubServer, store: ModelStore) => Promise<void>): Promise<void> {
  const sandbox = await mkdtemp(path.join(tmpdir(), 'ai-gated-'));
  const hub = await startHubServer({
    'fixture/gated': { files: FILES, token: TOKEN },
    'fixture/sharded': { files: shardedFiles(FILES, 3) },
    'fixture/gated-sharded': { files: shardedFiles(FILES, 2), token: TOKEN },
  }, { cdnOnOtherOrigin: true });
  const store = new ModelStore(path.join(sandbox, 'store'), validateModelFolder);
  await store.open();
  try {
    await body(hub, store);
    const staging = await readdir(path.join(store.root, '.staging')).catch(() => []);
    assert.deepEqual(staging, [], 'no staging left behind');
  } finally {
    await hub.close();
    await rm(sandbox, { recursive: true, force: true });
  }
}

test('a gated repository without a token: 401, a HubAccessError saying to accept the licence and set a token; nothing registered', async () => {
  await withHub(async (hub, store) => {
    await assert.rejects(store.download(spec('fixture/gated', true), hub.baseUrl, FAST), (e: unknown) => {
      assert.ok(e instanceof HubAccessError, String(e));
      assert.equal(e.status, 401);
      assert.match(e.message, /fixture\/gated is a gated repository and needs a Hugging Face access token: accept its licence at http:\/\/127\.0\.0\.1:\d+\/fixture\/gated .*Set Hugging Face Access Token/);
      return true;
    });
    assert.deepEqual(store.list(), []);
    assert.deepEqual(hub.authorized, [], 'no token was sent');
  });
});

test('a wrong token: 403 says the token has no access and what to do', async () => {
  await withHub(async (hub, store) => {
    await assert.rejects(store.download(spec('fixture/gated', true), hub.baseUrl, { ...FAST, token: 'hf_someone_else_1234' }), (e: unknown) =>
      e instanceof HubAccessError && e.status === 403 && /has no access to fixture\/gated \(403\): accept the licence/.test(e.message));
    assert.deepEqual(store.list(), []);
  });
});

test('with the token: 200, registered; the token went to every resolve request on the mirror and to none on the CDN origin', async () => {
  await withHub(async (hub, store) => {
    const entry = await store.download(spec('fixture/gated', true), hub.baseUrl, { ...FAST, token: TOKEN });
    assert.equal(entry.source, 'download');
    const mirrorHost = new URL(hub.baseUrl).host;
    const cdnHost = new URL(hub.cdnBaseUrl).host;
    assert.notEqual(mirrorHost, cdnHost);
    assert.ok(hub.requests.some((r) => r.startsWith('GET /cdn-lfs/')), 'the weights came through the CDN redirect');
    assert.deepEqual(hub.authorized.filter((r) => !r.startsWith(`${mirrorHost} `)), [], 'no token outside the mirror');
    for (const f of GPT2_FILES) assert.ok(hub.authorized.includes(`${mirrorHost} /fixture/gated/resolve/main/${f}`), `${f} resolved with the token`);
  });
});

test('a sharded repository: model.safetensors absent, the index and all its shards downloaded and verified; it loads as the single-file model', async () => {
  await withHub(async (hub, store) => {
    const entry = await store.download(spec('fixture/sharded'), hub.baseUrl, FAST);
    const names = (await readdir(entry.folder)).sort();
    assert.deepEqual(names, ['config.json', 'merges.txt', 'model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors', SAFETENSORS_INDEX, 'vocab.json'].sort());
    assert.deepEqual(Object.keys(entry.sha256s).sort(), names.filter((n) => n !== 'tokenizer.json'));
    const m = await loadModelFolderFromDisk(entry.folder);
    assert.equal(m.weights.get('wte.weight')!.shape[0], 4096);
  });
});

test('a gated sharded repository downloads with the token; a repository with no weights at all says so', async () => {
  await withHub(async (hub, store) => {
    const entry = await store.download(spec('fixture/gated-sharded', true), hub.baseUrl, { ...FAST, token: TOKEN });
    assert.ok((await readdir(entry.folder)).includes('model-00002-of-00002.safetensors'));
    await assert.rejects(store.download(spec('fixture/none'), hub.baseUrl, FAST), /Not found \(404\)/);
  });
});

test('a model.safetensors above the loader\'s weights limit (64 GiB; larger files than one buffer are read in parts) is refused on the server\'s stated size, before the free-space check and before its body', async () => {
  const sandbox = await mkdtemp(path.join(tmpdir(), 'ai-big-'));
  const hub = await startHubServer({ 'fixture/big': { files: FILES, faults: { linkedSize: { file: 'model.safetensors', size: 75_161_927_680 } } } });
  try {
    const store = new ModelStore(path.join(sandbox, 'store'), validateModelFolder);
    await store.open();
    await assert.rejects(store.download(spec('fixture/big'), hub.baseUrl, FAST), /model\.safetensors is 75\.2 GB, above the 68\.7 GB allowed: it is above the loader's limit for that file, so it is not downloaded\./);
    assert.deepEqual(hub.requests.filter((r) => r.startsWith('GET /cdn-lfs/')), [], 'its body never asked for');
    assert.deepEqual(await readdir(path.join(store.root, '.staging')).catch(() => []), [], 'nothing left in staging');
    assert.deepEqual(store.list(), []);
  } finally {
    await hub.close();
    await rm(sandbox, { recursive: true, force: true });
  }
});

test('the token is sent only to the mirror\'s origin', () => {
  const auth = mirrorAuthorization('https://huggingface.co/', TOKEN)!;
  assert.equal(auth.origin, 'https://huggingface.co');
  assert.deepEqual(headersFor(new URL('https://huggingface.co/meta-llama/x/resolve/main/config.json'), {}, auth), { authorization: `Bearer ${TOKEN}` });
  for (const other of ['https://cdn-lfs.hf.co/x', 'http://huggingface.co/x', 'https://huggingface.co.evil.example/x', 'https://huggingface.co:8443/x']) {
    assert.deepEqual(headersFor(new URL(other), { 'user-agent': 'a' }, auth), { 'user-agent': 'a' }, other);
  }
  assert.equal(mirrorAuthorization('https://huggingface.co', undefined), undefined);
});

test('the catalog offers the Llama-family models with sizes and licences; Llama-3.2-1B is marked gated', () => {
  const ids = CATALOG.map((m) => m.id);
  for (const id of ['smollm2-135m', 'smollm2-360m', 'qwen2.5-0.5b', 'qwen3-0.6b', 'tinyllama-1.1b-chat', 'llama-3.2-1b']) assert.ok(ids.includes(id), id);
  for (const m of CATALOG) assert.ok(m.sizeBytes > 0 && m.licence.length > 0, m.id);
  const llama = CATALOG.find((m) => m.id === 'llama-3.2-1b')!;
  assert.equal(llama.gated, true);
  assert.equal(termsText(llama), 'Llama 3.2 Community License · gated: needs a Hugging Face access token');
  assert.deepEqual(CATALOG.filter((m) => m.gated).map((m) => m.id), ['llama-3.2-1b']);
  for (const m of CATALOG.filter((x) => x.id !== 'llama-3.2-1b' && x.files.includes('tokenizer.json'))) assert.equal(m.licence, 'Apache-2.0', m.id);
});
