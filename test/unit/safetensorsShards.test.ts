// Weights split into shards as the hub publishes them: model.safetensors.index.json + shards, each shard
// bounds-checked on its own, every tensor matched against the index; BF16, F16 and F32 alike.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ModelFileError, type ModelFileErrorCode } from '../../kernels/model/errors';
import { loadModelFolder, readSafetensorsWeights } from '../../kernels/model/modelFolder';
import { SAFETENSORS_INDEX, writeSafetensors } from '../../kernels/model/safetensors';
import type { ModelFileReader, WeightDType, WeightTensor } from '../../kernels/model/types';
import { toFloat32 } from '../../kernels/model/weightData';
import { encodeValues, folderReader, tinyGpt2Config, tinyGpt2Folder, tinyTensors, type Folder } from './tinyGpt2Folder';

const text = (s: string) => new TextEncoder().encode(s);
const SHARD_1 = 'model-00001-of-00002.safetensors';
const SHARD_2 = 'model-00002-of-00002.safetensors';

function tensor(dtype: WeightDType, values: number[], shape = [values.length]): WeightTensor {
  return { dtype, shape, data: encodeValues(Float32Array.from(values), dtype) };
}

/** A folder of two shards (a BF16 and an F32 tensor in the first, an F16 one in the second) and its index. */
function shardedFolder(): Folder {
  return new Map([
    [SHARD_1, writeSafetensors([['a.weight', tensor('BF16', [1.5, -2, 0.25, 3])], ['b.weight', tensor('F32', [0.1, 0.2])]])],
    [SHARD_2, writeSafetensors([['c.weight', tensor('F16', [7, -0.5], [1, 2])]])],
    [SAFETENSORS_INDEX, text(JSON.stringify({ metadata: { total_size: 14 }, weight_map: { 'a.weight': SHARD_1, 'b.weight': SHARD_1, 'c.weight': SHARD_2 } }))],
  ]);
}

function recording(folder: Folder): { read: ModelFileReader; reads: string[] } {
  const reads: string[] = [];
  return { reads, read: async (name) => (reads.push(name), folder.get(name)) };
}

async function expectError(folder: Folder, code: ModelFileErrorCode, file: string, tensorName?: string): Promise<ModelFileError> {
  try {
    await readSafetensorsWeights(folderReader(folder));
  } catch (e) {
    assert.ok(e instanceof ModelFileError, `expected a ModelFileError, got ${String(e)}`);
    assert.deepEqual([e.code, e.file, e.tensor], [code, file, tensorName], e.message);
    return e;
  }
  assert.fail(`expected ModelFileError ${code}`);
}

const withIndex = (weightMap: unknown, base = shardedFolder()) => new Map(base).set(SAFETENSORS_INDEX, text(JSON.stringify({ weight_map: weightMap })));

test('two shards merge into one map of tensors: BF16 and F16 widen exactly, data stay views into each shard', async () => {
  const folder = shardedFolder();
  const w = await readSafetensorsWeights(folderReader(folder));
  assert.ok(w);
  assert.equal(w.file, SAFETENSORS_INDEX);
  assert.deepEqual([...w.tensors.keys()].sort(), ['a.weight', 'b.weight', 'c.weight']);
  assert.deepEqual([...toFloat32(w.tensors.get('a.weight')!)], [1.5, -2, 0.25, 3]);
  assert.equal(w.tensors.get('a.weight')!.dtype, 'BF16');
  assert.deepEqual([...toFloat32(w.tensors.get('c.weight')!)], [7, -0.5]);
  assert.deepEqual(w.tensors.get('c.weight')!.shape, [1, 2]);
  assert.equal(w.tensors.get('c.weight')!.data.buffer, folder.get(SHARD_2)!.buffer);
});

test('model.safetensors is preferred to an index; neither gives undefined', async () => {
  const whole = writeSafetensors([['x', tensor('F32', [1])]]);
  const w = await readSafetensorsWeights(folderReader(new Map(shardedFolder()).set('model.safetensors', whole)));
  assert.deepEqual([...w!.tensors.keys()], ['x']);
  assert.equal(await readSafetensorsWeights(folderReader(new Map())), undefined);
});

test('a tiny GPT-2 split into shards loads as the same model as its single file', async () => {
  const config = tinyGpt2Config();
  const entries = [...tinyTensors(config, 'BF16', 3)].map(([n, t]): [string, WeightTensor] => [`transformer.${n}`, t]);
  const half = Math.ceil(entries.length / 2);
  const single = new Map(tinyGpt2Folder({ dtype: 'BF16', seed: 3 }));
  const sharded = new Map(single);
  sharded.delete('model.safetensors');
  sharded.set(SHARD_1, writeSafetensors(entries.slice(0, half))).set(SHARD_2, writeSafetensors(entries.slice(half)));
  sharded.set(SAFETENSORS_INDEX, text(JSON.stringify({ weight_map: Object.fromEntries(entries.map(([n], i) => [n, i < half ? SHARD_1 : SHARD_2])) })));
  const a = await loadModelFolder(folderReader(single));
  const b = await loadModelFolder(folderReader(sharded), { listing: [...sharded.keys()] });
  assert.deepEqual([...b.weights.keys()].sort(), [...a.weights.keys()].sort());
  for (const [name, t] of a.weights) assert.deepEqual(toFloat32(b.weights.get(name)!), toFloat32(t), name);
  assert.equal(b.weights.get('wte.weight')!.dtype, 'BF16');
});

test('a shard the index names but the folder lacks is a missing-file naming the shard', async () => {
  const folder = shardedFolder();
  folder.delete(SHARD_2);
  const e = await expectError(folder, 'missing-file', SHARD_2);
  assert.match(e.message, /model-00002-of-00002\.safetensors is missing from the model folder \(model\.safetensors\.index\.json names it as a shard\)/);
});

test('a tensor in the index but not in its shard, in a shard but not in the index, or in the wrong shard', async () => {
  await expectError(withIndex({ 'a.weight': SHARD_1, 'b.weight': SHARD_1, 'c.weight': SHARD_2, 'd.weight': SHARD_2 }), 'missing-tensor', SHARD_2, 'd.weight');
  await expectError(withIndex({ 'a.weight': SHARD_1, 'c.weight': SHARD_2 }), 'unexpected-tensor', SHARD_1, 'b.weight');
  await expectError(withIndex({ 'a.weight': SHARD_1, 'b.weight': SHARD_2, 'c.weight': SHARD_2 }), 'unexpected-tensor', SHARD_1, 'b.weight');
  const twice = new Map(shardedFolder()).set(SHARD_2, writeSafetensors([['c.weight', tensor('F16', [7, -0.5], [1, 2])], ['a.weight', tensor('F32', [0])]]));
  const e = await expectError(twice, 'unexpected-tensor', SHARD_2, 'a.weight');
  assert.match(e.message, /is given to model-00001-of-00002\.safetensors by model\.safetensors\.index\.json/);
});

test('hostile indexes: shard names outside the folder, not safetensors, too many shards, no weight_map — refused before any shard is read', async () => {
  for (const shard of ['../model.safetensors', '/etc/passwd', 'sub/model.safetensors', '..\\x.safetensors', '.hidden.safetensors', 'model.bin', '', 7, null]) {
    const { read, reads } = recording(withIndex({ 'a.weight': shard }));
    await assert.rejects(readSafetensorsWeights(read), (e: unknown) => e instanceof ModelFileError && e.code === 'bad-header' && e.file === SAFETENSORS_INDEX && e.tensor === 'a.weight', JSON.stringify(shard));
    assert.deepEqual(reads, ['model.safetensors', SAFETENSORS_INDEX], `${JSON.stringify(shard)}: no shard read`);
  }
  const many = Object.fromEntries(Array.from({ length: 1025 }, (_, i) => [`t${i}`, `model-${i}.safetensors`]));
  const { read, reads } = recording(withIndex(many));
  await assert.rejects(readSafetensorsWeights(read), /names more than 1024 shards/);
  assert.equal(reads.length, 2);
  for (const body of ['{', '[]', '{"weight_map": []}', '{"weight_map": {}}', '{"metadata": {}}', `${'['.repeat(100_000)}`]) {
    await expectError(new Map(shardedFolder()).set(SAFETENSORS_INDEX, text(body)), 'bad-header', SAFETENSORS_INDEX);
  }
});

test('each shard is bounds-checked as a single file is, its errors naming that shard', async () => {
  const claimsTerabytes = new Uint8Array(16);
  new DataView(claimsTerabytes.buffer).setBigUint64(0, 2n ** 40n, true);
  await expectError(new Map(shardedFolder()).set(SHARD_2, claimsTerabytes), 'header-too-large', SHARD_2);
  const int8 = new Map(shardedFolder()).set(SHARD_2, writeSafetensors([['c.weight', { dtype: 'I8' as WeightDType, shape: [2], data: new Uint8Array(2) }]]));
  const e = await expectError(int8, 'bad-dtype', SHARD_2, 'c.weight');
  assert.match(e.message, /dtype "I8" is not supported \(only F32, F16, BF16\)/);
  const truncated = shardedFolder().get(SHARD_1)!.subarray(0, 60);
  await expectError(new Map(shardedFolder()).set(SHARD_1, truncated), 'header-too-large', SHARD_1);
});

test('a folder with neither model.safetensors nor an index says both are missing', async () => {
  const folder = new Map(tinyGpt2Folder());
  folder.delete('model.safetensors');
  await assert.rejects(loadModelFolder(folderReader(folder)), (e: unknown) => e instanceof ModelFileError && e.code === 'missing-file' && /and there is no model\.safetensors\.index\.json/.test(e.message));
});
