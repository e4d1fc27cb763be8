// A model.safetensors over 2 GiB (TinyLlama-1.1B's and Llama-3.2-1B's single files are 2.2 and 2.47 GB) is
// read in parts of whole tensors, by the disk reader (host, CLI) and by the webview's ranged reader (over
// its RangeSource interface): the tensors at the far end read correctly, no part is over WEIGHTS_PART_BYTES,
// and a whole-file read of it is refused rather than allocated. The file is sparse (made with truncate:
// its 2 GiB of zeros take no disk), but reading it takes 2 GiB of memory, so the test skips without that.
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, readSync, rmSync, statfsSync, writeSync, closeSync, ftruncateSync } from 'node:fs';
import { freemem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MAX_WHOLE_FILE_BYTES, WEIGHTS_PART_BYTES } from '../../kernels/model/fileLimits.js';
import { readSafetensorsWeights } from '../../kernels/model/modelFolder.js';
import { rangedFolderReader } from '../../kernels/model/rangedReader.js';
import type { ModelFileReader, WeightTensor } from '../../kernels/model/types.js';
import { nodeFolderReader } from '../../node/folderReader.js';

const MIB = 2 ** 20;
const MIDDLE = 9; // 9 × 256 MiB of zeros: 2.25 GiB of data
const HEAD = Float32Array.of(1.5, -2, 3.25, 4);
const TAIL = Float32Array.of(-7.5, 0.125, 1e-3, 65504);

/** The sparse file: head (F32 [4]), middle.0 … middle.8 (BF16, 256 MiB each, zeros never written), tail (F32 [4]). */
function makeFile(dir: string): number {
  const header: Record<string, unknown> = { head: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } };
  let at = 16;
  for (let i = 0; i < MIDDLE; i++, at += 256 * MIB) header[`middle.${i}`] = { dtype: 'BF16', shape: [128 * MIB], data_offsets: [at, at + 256 * MIB] };
  header.tail = { dtype: 'F32', shape: [4], data_offsets: [at, at + 16] };
  const json = Buffer.from(JSON.stringify(header).padEnd(Math.ceil(JSON.stringify(header).length / 8) * 8, ' '));
  const dataStart = 8 + json.length;
  const size = dataStart + at + 16;
  const fd = openSync(join(dir, 'model.safetensors'), 'w');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  writeSync(fd, length, 0, 8, 0);
  writeSync(fd, json, 0, json.length, 8);
  writeSync(fd, new Uint8Array(HEAD.buffer), 0, 16, dataStart);
  ftruncateSync(fd, size);
  writeSync(fd, new Uint8Array(TAIL.buffer), 0, 16, size - 16);
  closeSync(fd);
  return size;
}

const values = (t: WeightTensor) => new Float32Array(t.data.slice().buffer);

async function checkRead(read: ModelFileReader): Promise<void> {
  const stored = await readSafetensorsWeights(read);
  assert.ok(stored);
  const { tensors } = stored;
  assert.equal(tensors.size, MIDDLE + 2);
  assert.deepEqual(values(tensors.get('head')!), HEAD);
  assert.deepEqual(values(tensors.get('tail')!), TAIL, 'the tensor at the far end');
  const last = tensors.get(`middle.${MIDDLE - 1}`)!;
  assert.equal(last.data.length, 256 * MIB);
  assert.ok(last.data.subarray(last.data.length - 4096).every((b) => b === 0));
  const buffers = new Set([...tensors.values()].map((t) => t.data.buffer));
  assert.ok(buffers.size > 1, 'more than one buffer');
  for (const b of buffers) assert.ok(b.byteLength <= WEIGHTS_PART_BYTES, `a part of ${b.byteLength} bytes`);
}

const enoughRoom = (): string | false => {
  if (freemem() < 5 * 2 ** 30) return 'needs 5 GiB of free memory';
  const fs = statfsSync(tmpdir());
  return fs.bavail * fs.bsize < 64 * MIB ? 'needs 64 MiB of free disk' : false;
};

test('a model.safetensors over 2 GiB is read in parts: disk reader and the webview ranged reader', { skip: enoughRoom(), timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'large-safetensors-'));
  try {
    const size = makeFile(dir);
    assert.ok(size > MAX_WHOLE_FILE_BYTES);
    const disk = nodeFolderReader(dir);
    await assert.rejects(disk('model.safetensors'), /more than one buffer takes/);
    await checkRead(disk);

    // The webview's reader over a RangeSource answering from the file, as the host or a webview URI would.
    const fd = openSync(join(dir, 'model.safetensors'), 'r');
    let progressed = 0;
    try {
      const ranged = rangedFolderReader(
        async (name, start, length) => {
          if (name !== 'model.safetensors') return undefined;
          const n = Math.max(0, Math.min(length, size - start));
          const bytes = new Uint8Array(n);
          readSync(fd, bytes, 0, n, start);
          return { total: size, start, pieces: [bytes], cancel: () => undefined };
        },
        { onProgress: (_, loaded) => (progressed = Math.max(progressed, loaded)) },
      );
      await assert.rejects(ranged('model.safetensors'), /more than one buffer takes/);
      await checkRead(ranged);
      assert.equal(progressed, size, 'progress reaches the whole file');
    } finally {
      closeSync(fd);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
