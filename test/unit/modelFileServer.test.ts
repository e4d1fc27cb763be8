// The host's model file server (src/modelFileServer.ts) as the panel's reader meets it: a folder read in
// ranges equals its files, only through its token and only the loader's names, CORS as a page on another
// origin needs it, the folder deleted or the file cut short between ranges said as such, no file left open
// by a read the page gave up, nothing answered once disposed.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fetchFolderReader } from '../../kernels/model/fetchReader.js';
import { loadModelFolder } from '../../kernels/model/modelFolder.js';
import { ModelFileServer } from '../../src/modelFileServer.js';
import { tinyGpt2Folder } from './tinyGpt2Folder.js';

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'model-file-server-'));
  for (const [name, bytes] of tinyGpt2Folder()) writeFileSync(join(dir, name), bytes);
  writeFileSync(join(dir, 'secret.txt'), 'not a model file');
  writeFileSync(join(dir, 'merges.txt'), '');
  return dir;
}

async function withServer(fn: (server: ModelFileServer, dir: string, external: string[]) => Promise<void>): Promise<void> {
  const dir = folder();
  const external: string[] = [];
  const server = new ModelFileServer(async (local) => {
    external.push(local);
    return local.slice(0, -1); // a mapping without the trailing slash: the server adds it
  });
  try {
    await fn(server, dir, external);
  } finally {
    server.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a folder read through its URL in ranges equals its files; an empty file and a whole read too', () =>
  withServer(async (server, dir, external) => {
    const url = await server.folderUrl(dir);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}\/$/);
    assert.equal(await server.folderUrl(dir), url, 'one URL per folder');
    assert.equal(external.length, 1, 'the loopback URL is mapped once');
    assert.ok(url.startsWith(await server.base()));
    const weights = tinyGpt2Folder().get('model.safetensors')!;
    const read = fetchFolderReader(url, { chunkBytes: 1000 });
    assert.deepEqual(await read('model.safetensors'), weights);
    assert.deepEqual(await read('merges.txt'), new Uint8Array(0));
    assert.equal(await read('tokenizer.json'), undefined, 'a file the folder lacks is absent');
    const model = await loadModelFolder(fetchFolderReader(url));
    assert.equal(model.config.nLayer, 2);
    const whole = await fetch(`${url}model.safetensors`);
    assert.equal(whole.status, 200);
    assert.deepEqual(new Uint8Array(await whole.arrayBuffer()), weights);
    const tail = await fetch(`${url}model.safetensors`, { headers: { Range: `bytes=${weights.length - 5}-` } });
    assert.equal(tail.headers.get('content-range'), `bytes ${weights.length - 5}-${weights.length - 1}/${weights.length}`);
    assert.equal((await tail.arrayBuffer()).byteLength, 5);
    assert.equal((await fetch(`${url}model.safetensors`, { headers: { Range: `bytes=${weights.length}-${weights.length + 9}` } })).status, 416);
    assert.equal((await fetch(`${url}model.safetensors`, { headers: { Range: 'bytes=10-5' } })).status, 416);
  }));

test('only through a folder token handed out, only the loader’s names; CORS for a page of another origin', () =>
  withServer(async (server, dir) => {
    const url = await server.folderUrl(dir);
    const base = await server.base();
    const other = mkdtempSync(join(tmpdir(), 'model-file-server-other-'));
    try {
      writeFileSync(join(other, 'config.json'), '{}');
      for (const path of [
        `${url}secret.txt`,
        `${url}..%2Fsecret.txt`,
        `${url}%2E%2E%2F${encodeURIComponent(other.split('/').pop()!)}%2Fconfig.json`,
        `${url}sub/config.json`,
        `${base}${'0'.repeat(32)}/config.json`,
        `${base}config.json`,
      ]) {
        assert.equal((await fetch(path)).status, 404, path);
      }
      assert.equal((await fetch(`${url}config.json`, { method: 'POST' })).status, 405);
      const preflight = await fetch(`${url}model.safetensors`, { method: 'OPTIONS', headers: { Origin: 'vscode-webview://x', 'Access-Control-Request-Headers': 'range' } });
      assert.equal(preflight.status, 204);
      assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /Range/i);
      const r = await fetch(`${url}config.json`, { headers: { Range: 'bytes=0-3', Origin: 'vscode-webview://x' } });
      assert.equal(r.headers.get('access-control-allow-origin'), '*');
      assert.match(r.headers.get('access-control-expose-headers') ?? '', /Content-Range/);
      assert.equal(r.headers.get('cache-control'), 'no-store');
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  }));

/** model.safetensors read in 4,096-byte ranges, `change` done once the first has arrived. */
function readChangedAfterOneRange(url: string, change: () => void): Promise<Uint8Array | undefined> {
  let ranges = 0;
  return fetchFolderReader(url, { chunkBytes: 4096, onProgress: () => ++ranges === 1 && change() })('model.safetensors');
}

test('the folder deleted between two ranges is said as such; once disposed nothing answers', () =>
  withServer(async (server, dir) => {
    const url = await server.folderUrl(dir);
    await assert.rejects(readChangedAfterOneRange(url, () => rmSync(dir, { recursive: true, force: true })), /model\.safetensors: the model folder was deleted while loading \(4,096 of/);
    server.dispose();
    await assert.rejects(fetch(`${url}config.json`));
    await assert.rejects(server.folderUrl(dir), /closed/);
  }));

test('a file cut short between ranges is said to have changed; a read given up leaves no file open', () =>
  withServer(async (server, dir) => {
    const url = await server.folderUrl(dir);
    await assert.rejects(readChangedAfterOneRange(url, () => truncateSync(join(dir, 'model.safetensors'), 2048)), /model\.safetensors changed while loading \(4,096 of .*; now 2048 bytes\)/);
    writeFileSync(join(dir, 'model.safetensors'), new Uint8Array(64 << 20));
    const open = () => readdirSync('/proc/self/fd').length;
    const before = open();
    for (let i = 0; i < 5; i++) {
      const abort = new AbortController();
      const r = await fetch(`${url}model.safetensors`, { headers: { Range: `bytes=0-${(64 << 20) - 1}` }, signal: abort.signal });
      assert.equal(r.status, 206);
      await r.body!.getReader().read(); // the server is streaming by now
      abort.abort();
    }
    for (const deadline = Date.now() + 5000; open() > before && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
    assert.ok(open() <= before, `${open() - before} more descriptors open after the reads were given up`);
  }));
