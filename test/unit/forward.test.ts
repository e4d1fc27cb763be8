// The GPT-2 forward pass (kernels/graph + kernels/runtime, ORT-web wasm in Node) against the plain
// PyTorch reference fixtures (test/reference/make_forward_fixtures.py, float64) on seven varied inputs,
// plus onnxruntime-node on the same graph as an independent runtime.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as ort from 'onnxruntime-web';
import { buildDecoderGraph } from '../../kernels/graph/decoderGraph.js';
import { GraphWeights } from '../../kernels/graph/graphWeights.js';
import type { LoadedModel } from '../../kernels/model/modelFolder.js';
import { loadModelFolderFromDisk } from '../../node/folderReader.js';
import { DecoderInspector } from '../../kernels/runtime/decoderInspector.js';
import { maxAbsDiff } from '../../kernels/flash/reference.js';
import { headAttention } from '../support/headAttention.js';
import { readFloat32Npy } from '../support/npy.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'forward');

interface Case {
  name: string;
  text: string;
  ids: number[];
  logitRows: number[];
  loss: (number | null)[];
  top: { ids: number[]; probs: number[] }[];
}
const { cases } = JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8')) as { cases: Case[] };

const readNpy = (file: string) => readFloat32Npy(join(FIXTURES, file));

let model: LoadedModel;
let inspector: DecoderInspector;
const worst = { attention: 0, logits: 0, loss: 0, topProbs: 0, fusedLogits: 0, ortNode: 0 };

before(async () => {
  ort.env.wasm.numThreads = 1;
  model = await loadModelFolderFromDisk(join(ROOT, 'media', 'models', 'tinycode-4l8h-1k'));
  inspector = await DecoderInspector.create({ model, ort, executionProvider: 'wasm' });
});

for (const c of cases) {
  test(`forward pass matches the reference: ${c.name}`, async () => {
    assert.deepEqual(model.tokenizer.encode(c.text).map((t) => t.id), c.ids, 'token ids differ from the Python BPE');
    const { nLayer: L, nHead: H } = model.config;
    const T = c.ids.length;
    const r = await inspector.inspect(c.ids, { logits: true });
    const ref = readNpy(`${c.name}.attention.npy`);
    assert.deepEqual(ref.shape, [L, H, T, T]);
    for (let l = 0; l < L; l++) {
      const a = r.attention[l];
      const d = maxAbsDiff(a, ref.data.subarray(l * H * T * T, (l + 1) * H * T * T));
      worst.attention = Math.max(worst.attention, d);
      assert.ok(d <= 1e-5, `layer ${l}: attention max abs diff ${d}`);
      for (let row = 0; row < H * T; row++) {
        const i = row % T;
        let sum = 0;
        for (let j = 0; j < T; j++) {
          const p = a[row * T + j];
          if (j > i) assert.equal(p, 0, `layer ${l} row ${row}: weight above the diagonal`);
          sum += p;
        }
        assert.ok(Math.abs(sum - 1) <= 1e-5, `layer ${l} row ${row} sums to ${sum}`);
      }
    }
    const V = model.config.vocabSize;
    const logits = readNpy(`${c.name}.logits.npy`);
    c.logitRows.forEach((t, k) => {
      const d = maxAbsDiff(r.logits!.subarray(t * V, (t + 1) * V), logits.data.subarray(k * V, (k + 1) * V));
      worst.logits = Math.max(worst.logits, d);
      assert.ok(d <= 1e-4, `logits row ${t}: max abs diff ${d}`);
    });
    assert.ok(Number.isNaN(r.loss[T - 1]));
    const lossDiff = maxAbsDiff(r.loss.subarray(0, T - 1), c.loss.slice(0, T - 1) as number[]);
    worst.loss = Math.max(worst.loss, lossDiff);
    assert.ok(lossDiff <= 1e-4, `loss max abs diff ${lossDiff}`);
    r.top.forEach((t, pos) => {
      const want = c.top[pos];
      const d = maxAbsDiff(t.probs, want.probs);
      worst.topProbs = Math.max(worst.topProbs, d);
      assert.ok(d <= 1e-5, `top-5 probabilities at ${pos}: ${d}`);
      // Ids must agree except where the reference itself has a near-tie.
      t.ids.forEach((id, k) => {
        const tie = (k > 0 && want.probs[k - 1] - want.probs[k] < 1e-5) || (k < 4 && want.probs[k] - want.probs[k + 1] < 1e-5);
        if (!tie) assert.equal(id, want.ids[k], `top-5 ids at ${pos}`);
      });
    });
    const fused = await inspector.inspect(c.ids, { attention: 'fused', attentionLayers: [], logits: true });
    assert.equal(fused.provider.attention, 'fused');
    assert.equal(fused.provider.fusedChecked, true);
    const df = maxAbsDiff(fused.logits!, r.logits!);
    worst.fusedLogits = Math.max(worst.fusedLogits, df);
    assert.ok(df <= 1e-4, `manual vs fused logits ${df}`);
  });
}

test('onnxruntime-node on the same graph agrees with onnxruntime-web', async () => {
  const ortNode = await import('onnxruntime-node');
  const c = cases.find((x) => x.name === 'repeated')!;
  // Weights embedded (converted while written): this runtime is given the graph bytes alone.
  const graph = buildDecoderGraph(model.config, new GraphWeights(model.weights, 'fp32', 'none'), { attention: 'manual', attentionLayers: [0, 1, 2, 3], logits: true });
  const session = await ortNode.InferenceSession.create(graph);
  const input = new ortNode.Tensor('int64', BigInt64Array.from(c.ids, BigInt), [1, c.ids.length]);
  const out = await session.run({ input_ids: input });
  const web = await inspector.inspect(c.ids, { logits: true });
  for (let l = 0; l < 4; l++) worst.ortNode = Math.max(worst.ortNode, maxAbsDiff(out[`attn_${l}`].data as Float32Array, web.attention[l]));
  worst.ortNode = Math.max(worst.ortNode, maxAbsDiff(out.logits.data as Float32Array, web.logits!) / 10);
  assert.ok(worst.ortNode <= 1e-5, `onnxruntime-node vs web: ${worst.ortNode}`);
  await session.release();
});

test('loss and top-5 computed a block of positions at a time equal those of the whole logits (≤ 1e-6)', async () => {
  const c = cases.find((x) => x.name === 'repeated')!;
  const weights = new GraphWeights(model.weights, 'fp32', 'none');
  const run = async (o: { logits?: boolean; logitsBlock?: number }) => {
    const session = await ort.InferenceSession.create(buildDecoderGraph(model.config, weights, { attention: 'manual', attentionLayers: [], ...o }));
    const out = await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(c.ids, BigInt), [1, c.ids.length]) });
    await session.release();
    return out;
  };
  const whole = await run({ logits: true });
  // Blocks that do not divide T (padding), that divide it, one row, and one block larger than T.
  for (const block of [7, c.ids.length, 1, 4 * c.ids.length]) {
    const blocked = await run({ logitsBlock: block });
    assert.equal(blocked.logits, undefined, 'no whole logits output');
    for (const name of ['nll', 'top_logprobs'] as const) {
      assert.deepEqual(blocked[name].dims, whole[name].dims);
      const d = maxAbsDiff(blocked[name].data as Float32Array, whole[name].data as Float32Array);
      assert.ok(d <= 1e-6, `block ${block}: ${name} max abs diff ${d}`);
    }
    assert.deepEqual(blocked.top_ids.data, whole.top_ids.data, `block ${block}: top-5 ids`);
  }
});

test('attention a block of query rows at a time equals whole attention (q, k of every layer, loss, top-5)', async (t) => {
  const c = cases.find((x) => x.name === 'repeated')!;
  const weights = new GraphWeights(model.weights, 'fp32', 'none');
  const run = async (queryBlock?: number) => {
    const session = await ort.InferenceSession.create(buildDecoderGraph(model.config, weights, { attention: 'manual', attentionLayers: [], attentionInputs: true, queryBlock }));
    const out = await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(c.ids, BigInt), [1, c.ids.length]) });
    await session.release();
    return out;
  };
  const whole = await run();
  // Blocks that do not divide T (padding), one row, T itself and more than T (one block of T rows).
  for (const block of [7, 1, c.ids.length, 256]) {
    const blocked = await run(block);
    let worstRelative = 0;
    for (const name of Object.keys(whole).filter((n) => n !== 'top_ids')) {
      assert.deepEqual(blocked[name].dims, whole[name].dims, `block ${block}: ${name} dims`);
      const w = whole[name].data as Float32Array;
      // Fewer keys per block sum in another order: float32 rounding, relative to the tensor's scale.
      const d = maxAbsDiff(blocked[name].data as Float32Array, w) / Math.max(1, ...w.map(Math.abs));
      worstRelative = Math.max(worstRelative, d);
      assert.ok(d <= 1e-5, `block ${block}: ${name} max abs diff ${d} of its largest value`);
    }
    assert.deepEqual(blocked.top_ids.data, whole.top_ids.data, `block ${block}: top-5 ids`);
    if (block >= c.ids.length) assert.equal(worstRelative, 0, `block ${block} ≥ T is whole attention's ops on the same shapes`);
    t.diagnostic(`block ${block}: worst difference ${worstRelative.toExponential(2)} of a tensor's largest value`);
  }
});

test('shape trace, ablations and truncation', async () => {
  const c = cases.find((x) => x.name === 'english')!;
  const T = c.ids.length;
  const { nHead: H, nEmbd: D } = model.config;
  const dh = D / H;
  const plain = await inspector.inspect(c.ids, { attentionLayers: [2], traceLayer: 2 });
  const tr = plain.trace!;
  assert.deepEqual(tr.layerInput.dims, [1, T, D]);
  assert.deepEqual(tr.qHeads.dims, [1, H, T, dh]);
  assert.deepEqual(tr.scaledScores.dims, [1, H, T, T]);
  assert.deepEqual(tr.merged.dims, [1, T, D]);
  for (const [name, t] of Object.entries(tr)) assert.equal(t.data.length, t.dims.reduce((a, b) => a * b), name);
  assert.deepEqual(tr.probs.data, plain.attention[0]);
  // Q per head is a reshape + transpose of Q.
  assert.equal(tr.qHeads.data[(1 * T + 3) * dh + 5], tr.q.data[3 * D + 1 * dh + 5]);
  const noMask = await inspector.inspect(c.ids, { attentionLayers: [2], traceLayer: 2, ablation: { noMask: true } });
  assert.ok(noMask.attention[0][1] > 0, 'without the mask the first token attends to the second');
  assert.deepEqual(noMask.trace!.maskedScores.data, noMask.trace!.scaledScores.data);
  const noScale = await inspector.inspect(c.ids, { attentionLayers: [2], traceLayer: 2, ablation: { noScale: true } });
  // Every head's probabilities, as trained and ablated, against the recompute from its own Q and K.
  const variants = [[plain, { scale: true, causal: true }], [noMask, { scale: true, causal: false }], [noScale, { scale: false, causal: true }]] as const;
  for (const [r, variant] of variants) {
    for (let h = 0; h < H; h++) {
      const head = (t: Float32Array, n: number) => t.subarray(h * n, (h + 1) * n);
      const want = headAttention(head(r.trace!.qHeads.data, T * dh), head(r.trace!.kHeads.data, T * dh), T, dh, variant);
      const d = maxAbsDiff(head(r.attention[0], T * T), want);
      assert.ok(d < 1e-5, `${JSON.stringify(variant)} head ${h}: graph vs recompute ${d}`);
    }
  }
  const s = noScale.trace!.scaledScores.data;
  const k = 3 * T + 1;
  assert.ok(Math.abs(s[k] * (1 / Math.sqrt(dh)) - tr.scaledScores.data[k]) < 1e-4);
  const long = Array.from({ length: model.config.nPositions + 7 }, (_, i) => c.ids[i % T]);
  const r = await inspector.inspect(long, { attentionLayers: [] });
  assert.equal(r.ids.length, model.config.nPositions);
  assert.equal(r.truncated?.originalLength, model.config.nPositions + 7);
  assert.match(r.truncated!.message, /only the first 1024/);
  console.log(`forward accuracy (max abs): ${JSON.stringify(worst)}`);
});

test('any layer traced afterwards from its kept input: its probabilities are the maps of its q and k, ablated heads reach it, one forward session serves every run', async () => {
  const c = cases.find((x) => x.name === 'typescript')!;
  const T = c.ids.length;
  const { nHead: H, nEmbd: D } = model.config;
  const dh = D / H;
  const keeping = await DecoderInspector.create({ model, ort, executionProvider: 'wasm', keepLayerInputs: true });
  try {
    const x = await keeping.inspectLayers(c.ids, { traceLayer: 0 });
    for (const l of [1, 3]) {
      const later = await x.traceLayer(l);
      const inRun = (await inspector.inspectLayers(c.ids, { traceLayer: l })).trace!;
      for (const [name, t] of Object.entries(inRun)) {
        assert.deepEqual(later[name as keyof typeof later]!.dims, t.dims, `layer ${l} ${name} dims`);
        assert.deepEqual(later[name as keyof typeof later]!.data, t.data, `layer ${l} ${name}`);
      }
      const d = maxAbsDiff(later.probs.data, await x.layerMaps(l));
      assert.ok(d <= 1e-6, `layer ${l}: trace probabilities vs maps derived from the kept q and k: ${d}`);
    }
    // Head 3 of layer 1 mean-ablated, layer 3 traced: the same forward and trace sessions (the heads are inputs).
    const ablated = await keeping.inspectLayers(c.ids, { traceLayer: 3, ablation: { heads: [{ layer: 1, head: 3 }], headMode: 'mean' } });
    assert.equal(ablated.timingsMs.session, 0, 'an ablation made a new session');
    const clean = (await x.traceLayer(1)).merged.data;
    const merged = (await ablated.traceLayer(1)).merged.data;
    let worstMean = 0;
    for (let j = 0; j < D; j++) {
      const head = Math.floor(j / dh);
      let mean = 0;
      for (let t = 0; t < T; t++) mean += clean[t * D + j] / T;
      for (let t = 0; t < T; t++) {
        if (head === 3) worstMean = Math.max(worstMean, Math.abs(merged[t * D + j] - mean));
        else assert.equal(merged[t * D + j], clean[t * D + j], `head ${head} is not ablated`);
      }
    }
    assert.ok(worstMean <= 1e-6, `the ablated head's output is its mean over the positions: ${worstMean}`);
    // The panel keeps only the layers' attention tensors once its session is made: traces stay the same.
    keeping.keepOnlyTraceWeights();
    // Layer 2: no trace session of it is cached, so its graph is made from the kept tensors.
    const afterRelease = await x.traceLayer(2);
    const inRun = (await inspector.inspectLayers(c.ids, { traceLayer: 2 })).trace!;
    for (const [name, t] of Object.entries(inRun)) assert.deepEqual(afterRelease[name as keyof typeof afterRelease]!.data, t.data, `layer 2 ${name} traced after the weights went`);
    x.release();
    await assert.rejects(x.traceLayer(2), /released/);
    const onlyOne = await inspector.inspectLayers(c.ids, { traceLayer: 1 });
    await assert.rejects(onlyOne.traceLayer(2), /layer 2's input was not kept/);
  } finally {
    await keeping.release();
  }
});

test('fp16 weights and compute stay close to the reference', async () => {
  const c = cases.find((x) => x.name === 'python')!;
  const { nLayer: L, nHead: H } = model.config;
  const T = c.ids.length;
  const half = await DecoderInspector.create({ model, ort, executionProvider: 'wasm', dtype: 'fp16' });
  const r = await half.inspect(c.ids);
  const ref = readNpy(`${c.name}.attention.npy`);
  for (let l = 0; l < L; l++) {
    const a = r.attention[l];
    assert.ok(a instanceof Float32Array);
    const d = maxAbsDiff(a, ref.data.subarray(l * H * T * T, (l + 1) * H * T * T));
    assert.ok(d <= 5e-3, `fp16 layer ${l}: ${d}`);
    for (let row = 0; row < H * T; row++) for (let j = (row % T) + 1; j < T; j++) assert.equal(a[row * T + j], 0);
  }
  // The fp16 trace graph, a head mean-ablated upstream: finite, and its softmax close to the reference.
  const traced = await half.inspectLayers(c.ids, { traceLayer: 2 });
  const probs = traced.trace!.probs.data;
  const d = maxAbsDiff(probs, ref.data.subarray(2 * H * T * T, 3 * H * T * T));
  assert.ok(d <= 5e-3, `fp16 trace of layer 2: ${d}`);
  const ablated = await half.inspectLayers(c.ids, { traceLayer: 2, ablation: { heads: [{ layer: 0, head: 1 }], headMode: 'mean' } });
  assert.ok(ablated.trace!.merged.data.every(Number.isFinite) && ablated.loss.subarray(0, T - 1).every(Number.isFinite), 'fp16 mean ablation stays finite');
  await half.release();
});
