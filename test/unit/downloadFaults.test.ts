// Downloads through the model store from a local hub stand-in with one fault injected per case.
// Every case checks, in the case, that its fault fired and that the store ends consistent: either the
// model registered with exactly the served bytes, or nothing registered and no temporary file left.
// A summary of what was observed (faults fired, outcomes) prints at the end; it asserts nothing.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import type { DownloadSpec } from '../../src/models/modelStore.js';
import { ModelStore } from '../../src/models/modelStore.js';
import { validateModelFolder } from '../../src/models/validateModel.js';
import { makeTinyGpt2Files, startHubServer, type HubFaults, type HubServer } from '../fixtures/hubServer.js';
import { observe } from '../support/reliability.js';

const FILES = makeTinyGpt2Files();
const SPEC: DownloadSpec = {
  id: 'tiny', label: 'Tiny GPT-2', repo: 'fixture/tiny-gpt2',
  files: ['config.json', 'model.safetensors', 'vocab.json', 'merges.txt'], optionalFiles: ['tokenizer.json'],
  sizeBytes: [...FILES.values()].reduce((n, b) => n + b.length, 0),
};
const FAST = { backoffMs: 10, stallTimeoutMs: 20_000, maxAttempts: 4 };
/** Observed over the fault cases that passed: faults the hub fired, and how each case ended. */
const observed = { faultsFired: 0, completedVerified: 0, refusedClean: 0 };

interface Case {
  store: ModelStore;
  hub: HubServer;
  root: string;
  sandbox: string;
}

async function setUp(faults: HubFaults | undefined, files: ReadonlyMap<string, Uint8Array> = FILES): Promise<Case> {
  const sandbox = await mkdtemp(path.join(tmpdir(), 'ai-dl-'));
  const root = path.join(sandbox, 'store');
  const hub = await startHubServer({ 'fixture/tiny-gpt2': { files, faults } });
  const store = new ModelStore(root, validateModelFolder);
  await store.open();
  return { store, hub, root, sandbox };
}

/** Registered models hold exactly the served bytes; nothing is left in staging. */
async function assertConsistent(c: Case): Promise<void> {
  for (const e of c.store.list()) {
    for (const [name, bytes] of FILES) {
      assert.ok((await readFile(path.join(e.folder, name))).equals(bytes), `${e.id}/${name} registered with bytes other than those served`);
    }
  }
  const staging = await readdir(path.join(c.root, '.staging')).catch(() => []);
  for (const dir of staging) assert.deepEqual(await readdir(path.join(c.root, '.staging', dir)), [], `staging ${dir} not cleaned`);
  assert.deepEqual(staging, [], 'staging folders left behind');
}

/** A case on a clean or a faulty hub: `body` runs, then the store must be consistent. */
async function hubCase(faults: HubFaults | undefined, body: (c: Case) => Promise<void>, files?: ReadonlyMap<string, Uint8Array>): Promise<Case> {
  const c = await setUp(faults, files);
  try {
    await body(c);
    await assertConsistent(c);
    return c;
  } finally {
    await c.hub.close();
    await rm(c.sandbox, { recursive: true, force: true });
  }
}

/** A fault case: the injected fault must have fired (else the case tested nothing); its outcome is counted. */
async function faultCase(faults: HubFaults, body: (c: Case) => Promise<void>): Promise<void> {
  const kind = `download fault: ${Object.keys(faults).join(' + ')}`;
  const c = await hubCase(faults, body).catch((e: unknown) => {
    observe(kind, 'unclear', undefined, String(e));
    throw e;
  });
  // Passed hubCase: the store is consistent (a registered model holds exactly the served bytes), so nothing was corrupted.
  observe(kind, c.store.list().length > 0 ? 'handled' : 'clear error', 0, JSON.stringify(faults));
  assert.ok(c.hub.faultsFired > 0, `the injected fault never fired: ${JSON.stringify(faults)}`);
  observed.faultsFired += c.hub.faultsFired;
  if (c.store.list().length > 0) observed.completedVerified++;
  else observed.refusedClean++;
}

test('a clean download registers the model with the served bytes and their sha256', async () => {
  await hubCase(undefined, async ({ store, hub }) => {
    const entry = await store.download(SPEC, hub.baseUrl, FAST);
    assert.equal(entry.source, 'download');
    assert.equal(entry.dtype, 'F32');
    assert.equal(store.get('tiny')?.id, 'tiny');
    assert.ok(hub.requests.some((r) => r.startsWith('GET /cdn-lfs/')), 'the LFS file came through the redirect');
    assert.equal(Object.keys(entry.sha256s).length, 4, 'tokenizer.json is optional and absent');
  });
});

test('a connection dropped mid-file resumes with Range and completes verified', async () => {
  await faultCase({ drop: { file: 'model.safetensors', bytes: 40_000, times: 2 } }, async ({ store, hub }) => {
    const entry = await store.download(SPEC, hub.baseUrl, FAST);
    const ranges = hub.requests.filter((r) => /^GET \/cdn-lfs\/.* range=bytes=[1-9]\d*-$/.test(r));
    assert.equal(ranges.length, 2, `both drops resumed with Range:\n${hub.requests.join('\n')}`);
    assert.equal(entry.sha256s['model.safetensors'].length, 64);
  });
});

test('a 404 gives a clear error and registers nothing', async () => {
  await faultCase({ status: { code: 404, times: 100 } }, async ({ store, hub }) => {
    await assert.rejects(store.download(SPEC, hub.baseUrl, FAST), /Not found \(404\)/);
    assert.deepEqual(store.list(), []);
  });
});

test('500 then success is retried with backoff', async () => {
  await faultCase({ status: { file: 'model.safetensors', code: 500, times: 2 } }, async ({ store, hub }) => {
    await store.download(SPEC, hub.baseUrl, FAST);
    assert.equal(hub.requests.filter((r) => r.startsWith('GET /fixture/tiny-gpt2/resolve/main/model.safetensors')).length, 3);
  });
});

test('a wrong checksum is rejected, nothing is registered and the temporary file is gone', async () => {
  await faultCase({ wrongChecksum: { file: 'model.safetensors' } }, async ({ store, hub }) => {
    await assert.rejects(store.download(SPEC, hub.baseUrl, FAST), (e: Error) => e.name === 'DownloadError' && /checksum/.test(e.message));
    assert.deepEqual(store.list(), []);
  });
});

test('a stalled server can be cancelled and the temporary file is removed', async () => {
  await faultCase({ stall: { file: 'model.safetensors', afterBytes: 8_000 } }, async ({ store, hub, root }) => {
    const ac = new AbortController();
    const run = store.download(SPEC, hub.baseUrl, {
      ...FAST, signal: ac.signal,
      onProgress: (file, p) => { if (file === 'model.safetensors' && p.received >= 8_000) ac.abort(); },
    });
    await assert.rejects(run, /cancelled/);
    assert.deepEqual(store.list(), []);
    assert.deepEqual(await readdir(path.join(root, '.staging')).catch(() => []), []);
  });
});

test('a stalled server without cancel gives up after the stall timeout and bounded retries', async () => {
  await faultCase({ stall: { file: 'model.safetensors', afterBytes: 8_000 } }, async ({ store, hub }) => {
    await assert.rejects(store.download(SPEC, hub.baseUrl, { backoffMs: 10, stallTimeoutMs: 300, maxAttempts: 2 }), /No data/);
    assert.deepEqual(store.list(), []);
  });
});

test('a truncated LFS file is rejected on size', async () => {
  await faultCase({ truncate: { file: 'model.safetensors', bytes: 30_000 } }, async ({ store, hub }) => {
    await assert.rejects(store.download(SPEC, hub.baseUrl, FAST), /truncated/);
    assert.deepEqual(store.list(), []);
  });
});

test('a truncated small file (no size from the server) is caught by the loader, nothing registered', async () => {
  await faultCase({ truncate: { file: 'config.json', bytes: 40 } }, async ({ store, hub }) => {
    await assert.rejects(store.download(SPEC, hub.baseUrl, FAST), (e: Error) => e.name === 'ModelFileError' && /config\.json/.test(e.message));
    assert.deepEqual(store.list(), []);
  });
});

test('a repository with only a .bin checkpoint is refused with the reason', async () => {
  const files = new Map(FILES);
  files.set('pytorch_model.bin', files.get('model.safetensors')!);
  files.delete('model.safetensors');
  await hubCase(undefined, async ({ store, hub }) => {
    await assert.rejects(store.download(SPEC, hub.baseUrl, FAST), (e: Error) => e.name === 'PickleCheckpointError' && /runs whatever code/.test(e.message));
    assert.deepEqual(store.list(), []);
  }, files);
});

test('a name trying ../ is refused and nothing is written outside the store', async () => {
  await hubCase(undefined, async ({ store, hub, sandbox }) => {
    const evilFile = { ...SPEC, files: [...SPEC.files, '../escape.json'] };
    await assert.rejects(store.download(evilFile, hub.baseUrl, FAST), (e: Error) => e.name === 'UnsafeNameError');
    const evilId = { ...SPEC, id: '../../evil' };
    await assert.rejects(store.download(evilId, hub.baseUrl, FAST), (e: Error) => e.name === 'UnsafeNameError');
    assert.deepEqual((await readdir(sandbox)).sort(), ['store']);
    assert.deepEqual(store.list(), []);
    assert.ok(!hub.requests.some((r) => r.includes('escape')), 'the unsafe file was never requested');
  });
});

test('outside the catalog, the free-space check learns the size from the hub\'s X-Linked-Size (options left at defaults)', async () => {
  await hubCase(undefined, async ({ store, hub }) => {
    await store.download({ ...SPEC, sizeBytes: 0 }, hub.baseUrl, { backoffMs: undefined, maxAttempts: undefined, stallTimeoutMs: undefined });
    assert.equal(hub.requests[0], 'HEAD /fixture/tiny-gpt2/resolve/main/model.safetensors');
  });
});

test('the same model requested twice at once downloads once', async () => {
  await hubCase(undefined, async ({ store, hub }) => {
    const [a, b] = await Promise.all([store.download(SPEC, hub.baseUrl, FAST), store.download(SPEC, hub.baseUrl, FAST)]);
    assert.equal(a, b);
    assert.equal(hub.requests.filter((r) => r.startsWith('GET /cdn-lfs/')).length, 1);
    const again = await store.download(SPEC, hub.baseUrl, FAST);
    assert.equal(again.id, 'tiny');
    assert.equal(hub.requests.filter((r) => r.startsWith('GET /cdn-lfs/')).length, 1, 'a registered model is not fetched again');
  });
});

after(() => {
  console.log(`download faults observed: ${observed.faultsFired} fired; ${observed.completedVerified} cases completed with verified bytes, ${observed.refusedClean} refused with nothing registered or left behind`);
});
