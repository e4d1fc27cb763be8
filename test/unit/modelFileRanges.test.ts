// The host's answer to the panel's modelFile requests (src/modelFileRanges.ts), and the ranged reader over
// it as the page runs it: bytes equal the file's, ranges end at the file's end, only the loader's file
// names are served, a file gone is absent, and a folder deleted between two ranges is said as such.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { rangedFolderReader } from '../../kernels/model/rangedReader.js';
import { readModelFileRange } from '../../src/modelFileRanges.js';
import { tinyGpt2Folder } from './tinyGpt2Folder.js';

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'model-file-ranges-'));
  for (const [name, bytes] of tinyGpt2Folder()) writeFileSync(join(dir, name), bytes);
  writeFileSync(join(dir, 'secret.txt'), 'not a model file');
  return dir;
}

test('ranges of a model file, its end, names outside the loader refused, a missing file absent', async () => {
  const dir = folder();
  try {
    const weights = tinyGpt2Folder().get('model.safetensors')!;
    const r = await readModelFileRange(dir, 'model.safetensors', 100, 1000);
    assert.equal(r.total, weights.length);
    assert.deepEqual(r.bytes, weights.subarray(100, 1100));
    assert.equal(r.bytes.constructor, Uint8Array, 'a Buffer would travel as JSON');
    const tail = await readModelFileRange(dir, 'model.safetensors', weights.length - 10, 1000);
    assert.equal(tail.bytes.length, 10);
    for (const name of ['secret.txt', '../etc/passwd', '../x.safetensors', 'tokenizer.json']) assert.equal((await readModelFileRange(dir, name, 0, 10)).total, -1, name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the ranged reader over host ranges: the whole file, and the folder deleted between two ranges', async () => {
  const dir = folder();
  try {
    let deleteAfterFirst = false;
    const source = async (name: string, start: number, length: number) => {
      if (deleteAfterFirst && start > 0) rmSync(dir, { recursive: true, force: true });
      const r = await readModelFileRange(dir, name, start, length);
      return r.total < 0 ? undefined : { total: r.total, start, pieces: [r.bytes], cancel: () => undefined };
    };
    const weights = tinyGpt2Folder().get('model.safetensors')!;
    assert.deepEqual(await rangedFolderReader(source, { chunkBytes: 1000 })('model.safetensors'), weights);
    deleteAfterFirst = true;
    await assert.rejects(rangedFolderReader(source, { chunkBytes: 4096 })('model.safetensors'), /model\.safetensors: the model folder was deleted while loading \(4,096 of/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
