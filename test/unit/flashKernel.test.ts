// Our WGSL flash attention, dispatched through Dawn for Node (SwiftShader without a GPU), against the
// TS reference at awkward sizes, through both row-max reductions (subgroups and workgroup memory), with
// multi-head and grouped-query shapes (K and V of fewer heads, each shared by H/KV query heads).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { runFlashAttention } from '../../kernels/flash/flashAttention.js';
import type { FlashTiles } from '../../kernels/flash/flashWgsl.js';
import { requestKernelDevice } from '../../kernels/flash/gpuFacts.js';
import { nodeGpuAdapter } from '../../node/dawnGpu.js';
import { elementCount, kvElementCount, maxAbsDiff, randomInputs, referenceAttention, type AttentionShape } from '../../kernels/flash/reference.js';
import { chooseFlashTiles, tilesFit } from '../../kernels/flash/tiles.js';

let device: GPUDevice;
before(async () => {
  device = await requestKernelDevice(await nodeGpuAdapter());
});

async function check(s: AttentionShape, tiles?: FlashTiles): Promise<void> {
  const q = randomInputs(elementCount(s), 11 + s.seqLen);
  const [k, v] = [12, 13].map((seed) => randomInputs(kvElementCount(s), seed + s.seqLen));
  device.pushErrorScope('validation');
  const o = await runFlashAttention(device, s, q, k, v, 'fp32', tiles);
  const err = await device.popErrorScope();
  assert.equal(err, null, err?.message);
  const diff = maxAbsDiff(o, referenceAttention(q, k, v, s));
  assert.ok(diff < 1e-5, `max |O - ref| = ${diff} for ${JSON.stringify(s)} tiles ${JSON.stringify(tiles)}`);
}

const shapes: AttentionShape[] = [
  { batch: 1, heads: 1, seqLen: 1, headDim: 64, causal: true },
  { batch: 1, heads: 1, seqLen: 1, headDim: 64, causal: false },
  { batch: 2, heads: 3, seqLen: 45, headDim: 32, causal: true },
  { batch: 2, heads: 1, seqLen: 77, headDim: 64, causal: false },
  { batch: 1, heads: 2, seqLen: 33, headDim: 128, causal: true },
  { batch: 1, heads: 1, seqLen: 1000, headDim: 64, causal: true },
  { batch: 2, heads: 6, kvHeads: 2, seqLen: 45, headDim: 32, causal: true },
  { batch: 1, heads: 4, kvHeads: 1, seqLen: 77, headDim: 64, causal: false },
];

for (const s of shapes) {
  test(`ours = reference, adapter's tiles: B${s.batch} H${s.heads}${s.kvHeads ? ` KV${s.kvHeads}` : ''} T${s.seqLen} dh${s.headDim} causal=${s.causal}`, () => check(s));
}

// Small tiles so the short sequences above still span several query and key tiles.
const forced: FlashTiles[] = [
  { rows: 16, keys: 16, rowsPerThread: 2, threadsPerRow: 4, subgroups: true },
  { rows: 8, keys: 8, rowsPerThread: 1, threadsPerRow: 4, subgroups: false },
  { rows: 32, keys: 16, rowsPerThread: 4, threadsPerRow: 8, subgroups: false },
  { rows: 16, keys: 16, rowsPerThread: 4, threadsPerRow: 1, subgroups: false },
];
for (const t of forced) {
  for (const s of shapes.filter((x) => x.seqLen < 1000)) {
    test(`ours = reference, tiles ${t.rows}x${t.keys}/${t.rowsPerThread}x${t.threadsPerRow}${t.subgroups ? ' subgroups' : ''}: H${s.heads}${s.kvHeads ? ` KV${s.kvHeads}` : ''} T${s.seqLen} dh${s.headDim} causal=${s.causal}`, async (ctx) => {
      const limits = { maxWorkgroupStorage: device.limits.maxComputeWorkgroupStorageSize, maxInvocations: device.limits.maxComputeInvocationsPerWorkgroup, subgroups: device.features.has('subgroups'), subgroupMinSize: device.adapterInfo.subgroupMinSize };
      if (!tilesFit(t, s.headDim, limits)) return ctx.skip('these tiles do not fit this head size on this adapter');
      await check(s, t);
    });
  }
}

test('tile choice respects the adapter limits and falls back without subgroups', () => {
  const small = { maxWorkgroupStorage: 16384, maxInvocations: 64, subgroups: false };
  for (const dh of [32, 64, 128]) {
    const t = chooseFlashTiles(dh, small);
    assert.equal(t.subgroups, false);
    assert.ok((t.rows / t.rowsPerThread) * t.threadsPerRow <= 64);
  }
  const big = { maxWorkgroupStorage: 49152, maxInvocations: 1024, subgroups: true, subgroupMinSize: 32 };
  assert.deepEqual(chooseFlashTiles(64, big), { rows: 64, keys: 32, rowsPerThread: 4, threadsPerRow: 8, subgroups: true });
  const cpu = { maxWorkgroupStorage: 32768, maxInvocations: 256, subgroups: true, subgroupMinSize: 4, isFallbackAdapter: true };
  assert.equal(chooseFlashTiles(64, cpu).threadsPerRow, 1);
});
