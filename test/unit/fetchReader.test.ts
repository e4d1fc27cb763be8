// The model folder over HTTP as the panel reads it (kernels/model/fetchReader.ts), against a local server
// that answers ranges as VS Code's webview resource loader does (206 with Content-Range, no
// Content-Length): files read in ranges into one buffer, progress to the file's size, a server without
// ranges, and the bad cases — the folder deleted or the file changed between ranges, the load aborted.
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { LoadCancelled, ModelFileError } from '../../kernels/model/errors.js';
import { fetchFolderReader } from '../../kernels/model/fetchReader.js';
import { loadModelFolder } from '../../kernels/model/modelFolder.js';
import { tinyGpt2Folder } from './tinyGpt2Folder.js';

const files = new Map<string, Uint8Array>(tinyGpt2Folder());
const weights = files.get('model.safetensors')!;
let ranges = true;
const requests: string[] = [];
/** Runs before each answer: lets a test change the folder between two ranges. */
let beforeAnswer: (name: string, start: number) => void = () => undefined;
/** Set: a range's answer sends half its body, then waits for this to be called before the rest. */
let stalled: ((finish: () => void) => void) | undefined;
let server: http.Server;
let base = '';

before(async () => {
  server = http.createServer((req, res) => {
    const name = decodeURIComponent(req.url!.slice(1));
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    requests.push(`${name} ${req.headers.range ?? ''}`);
    beforeAnswer(name, Number(range?.[1] ?? 0));
    const body = files.get(name);
    if (!body) return void res.writeHead(404).end();
    if (!ranges || !range) return void res.writeHead(200, { 'content-length': body.length }).end(body);
    const start = Number(range[1]);
    const end = Math.min(Number(range[2]), body.length - 1);
    res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${body.length}` });
    if (stalled && name === 'model.safetensors' && start > 0) {
      const half = start + Math.floor((end + 1 - start) / 2);
      res.write(body.subarray(start, half));
      return stalled(() => res.end(body.subarray(half, end + 1)));
    }
    res.end(body.subarray(start, end + 1));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

function reset(): void {
  ranges = true;
  requests.length = 0;
  beforeAnswer = () => undefined;
  stalled = undefined;
  files.set('model.safetensors', weights);
}

test('a file is read in ranges into one buffer of its size, progress rising to that size', async () => {
  reset();
  const seen: number[] = [];
  const read = fetchFolderReader(base, { chunkBytes: 4096, onProgress: (name, loaded, total) => name === 'model.safetensors' && seen.push(loaded, total) });
  const bytes = await read('model.safetensors');
  assert.deepEqual(bytes, weights);
  const asked = requests.filter((r) => r.startsWith('model.safetensors'));
  assert.equal(asked.length, Math.ceil(weights.length / 4096));
  assert.equal(asked[1], 'model.safetensors bytes=4096-8191');
  assert.equal(seen.at(-2), weights.length);
  assert.ok(seen.every((v, i) => i % 2 === 1 ? v === weights.length : i < 2 || v >= seen[i - 2]!), 'progress went backwards');
  assert.equal(await read('absent.json'), undefined);
  const model = await loadModelFolder(fetchFolderReader(base, { chunkBytes: 1000 }));
  assert.equal(model.config.nLayer, 2);
});

test('a server that ignores Range is read in one answer', async () => {
  reset();
  ranges = false;
  assert.deepEqual(await fetchFolderReader(base, { chunkBytes: 4096 })('model.safetensors'), weights);
  assert.equal(requests.length, 1);
});

test('the folder deleted between two ranges: a ModelFileError that says so', async () => {
  reset();
  beforeAnswer = (name, start) => void (name === 'model.safetensors' && start > 0 && files.delete(name));
  await assert.rejects(fetchFolderReader(base, { chunkBytes: 4096 })('model.safetensors'), (e: unknown) => {
    assert.ok(e instanceof ModelFileError);
    assert.match(e.message, /^model\.safetensors: the model folder was deleted while loading \(4,096 of [\d,]+ bytes read\)$/);
    return true;
  });
});

test('the file replaced by one of another size between two ranges: changed while loading', async () => {
  reset();
  beforeAnswer = (name, start) => void (name === 'model.safetensors' && start > 0 && files.set(name, weights.subarray(0, weights.length - 10)));
  await assert.rejects(fetchFolderReader(base, { chunkBytes: 4096 })('model.safetensors'), /model\.safetensors changed while loading .*now \d+ bytes/);
});

test('an aborted load rejects with LoadCancelled, and a new reader reads the file whole', async () => {
  reset();
  const abort = new AbortController();
  beforeAnswer = (name, start) => void (name === 'model.safetensors' && start >= 8192 && abort.abort());
  await assert.rejects(fetchFolderReader(base, { chunkBytes: 4096, signal: abort.signal })('model.safetensors'), LoadCancelled);
  reset();
  assert.deepEqual(await fetchFolderReader(base, { chunkBytes: 4096 })('model.safetensors'), weights);
});

test("aborted while a range's body is being read (the read rejects with an AbortError): LoadCancelled too", async () => {
  reset();
  const abort = new AbortController();
  let finish: (() => void) | undefined;
  stalled = (f) => {
    finish = f;
    setTimeout(() => abort.abort(), 50);
  };
  await assert.rejects(fetchFolderReader(base, { chunkBytes: 4096, signal: abort.signal })('model.safetensors'), LoadCancelled);
  finish?.();
});

test('a stated size above the file limit is refused before the body is read', async () => {
  reset();
  files.set('config.json', new Uint8Array(2 * 1024 * 1024));
  try {
    await assert.rejects(fetchFolderReader(base)('config.json'), /config\.json is 2,097,152 bytes, above the/);
  } finally {
    files.set('config.json', tinyGpt2Folder().get('config.json')!);
  }
});
