// Head ablation (zero and mean, heads across layers) in the forward of every family: DecoderInspector on
// ORT-web wasm in Node against the independent PyTorch references with the same heads ablated
// (test/reference/gpt2_reference.py on the embedded GPT-2, llama_reference.py on a random GQA Llama).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as ort from 'onnxruntime-web';
import { maxAbsDiff } from '../../kernels/flash/reference.js';
import { QUERY_BLOCK } from '../../kernels/graph/attentionGraph.js';
import { type Ablation, buildDecoderGraph, HEAD_KEEP, HEAD_MODE } from '../../kernels/graph/decoderGraph.js';
import { GraphWeights } from '../../kernels/graph/graphWeights.js';
import { DecoderInspector, type InspectorModel } from '../../kernels/runtime/decoderInspector.js';
import { loadModelFolderFromDisk } from '../../node/folderReader.js';
import { llamaShapedFolder } from '../support/llamaShapedFolder.js';
import { readFloat32Npy } from '../support/npy.js';

const ROOT = join(import.meta.dirname, '..', '..');
const GPT2 = join(ROOT, 'media', 'models', 'tinycode-4l8h-1k');
const ATTENTION_TOLERANCE = 5e-5;
const LOSS_TOLERANCE = 2e-4;

let dir: string;
before(() => {
  ort.env.wasm.numThreads = 1;
  dir = mkdtempSync(join(tmpdir(), 'head-ablation-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The reference's attention (L, H, T, T) and nll (T − 1) with `ablation`'s heads ablated. */
function reference(script: string, modelDir: string, ids: number[], ablation: Ablation, name: string) {
  const out = join(dir, name);
  mkdirSync(out);
  writeFileSync(join(out, 'ids.json'), JSON.stringify(ids));
  writeFileSync(join(out, 'ablation.json'), JSON.stringify({ heads: ablation.heads!.map((a) => [a.layer, a.head]), mode: ablation.headMode }));
  execFileSync('/usr/bin/python3', [join(ROOT, 'test', 'reference', script), modelDir, join(out, 'ids.json'), out, join(out, 'ablation.json')], { stdio: ['ignore', 'ignore', 'inherit'] });
  return { attention: readFloat32Npy(join(out, 'attention.npy')).data, nll: readFloat32Npy(join(out, 'nll.npy')).data };
}

async function checkAgainstReference(script: string, modelDir: string, model: InspectorModel, ids: number[], heads: Ablation['heads'], label: string) {
  const inspector = await DecoderInspector.create({ model, ort, executionProvider: 'wasm' });
  try {
    const plain = await inspector.inspect(ids);
    for (const headMode of ['zero', 'mean'] as const) {
      const ablation = { heads, headMode };
      const r = await inspector.inspect(ids, { ablation });
      const ref = reference(script, modelDir, ids, ablation, `${label}-${headMode}`);
      const size = r.attention[0].length;
      let worst = 0;
      r.attention.forEach((a, l) => (worst = Math.max(worst, maxAbsDiff(a, ref.attention.subarray(l * size, (l + 1) * size)))));
      const T = ids.length;
      let worstLoss = 0;
      let moved = 0;
      for (let t = 0; t < T - 1; t++) {
        worstLoss = Math.max(worstLoss, Math.abs(r.loss[t] - ref.nll[t]));
        moved = Math.max(moved, Math.abs(r.loss[t] - plain.loss[t]));
      }
      // The batched path: the plain model, these heads and these heads again in one run of the same session.
      const [none, once, again] = await inspector.ablatedLosses(ids, [[], heads!, heads!], headMode);
      assert.deepEqual(none.subarray(0, T - 1), plain.loss.subarray(0, T - 1), `${label} ${headMode}: the batch item with no head ablated is not the plain model`);
      let worstBatched = 0;
      for (let t = 0; t < T - 1; t++) worstBatched = Math.max(worstBatched, Math.abs(once[t] - ref.nll[t]), Math.abs(again[t] - ref.nll[t]));
      assert.ok(worstBatched <= LOSS_TOLERANCE, `${label} ${headMode}: batched loss max abs diff ${worstBatched}`);
      assert.ok(worst <= ATTENTION_TOLERANCE, `${label} ${headMode}: attention max abs diff ${worst}`);
      assert.ok(worstLoss <= LOSS_TOLERANCE, `${label} ${headMode}: loss max abs diff ${worstLoss}`);
      // The ablation must change the loss, or the comparison would prove nothing.
      assert.ok(moved > 100 * LOSS_TOLERANCE, `${label} ${headMode}: the ablation moved the loss by only ${moved}`);
      console.log(`${label}, ${headMode} ablation: attention max abs ${worst.toExponential(2)}, loss max abs ${worstLoss.toExponential(2)}, batched ${worstBatched.toExponential(2)} (the ablation moved it by up to ${moved.toFixed(3)})`);
    }
  } finally {
    await inspector.release();
  }
}

test('GPT-2 (embedded model): zero and mean ablation of heads across layers match the reference', async () => {
  const { cases } = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'forward', 'cases.json'), 'utf8')) as { cases: { name: string; ids: number[] }[] };
  const ids = cases.find((c) => c.name === 'repeated')!.ids;
  const model = await loadModelFolderFromDisk(GPT2);
  await checkAgainstReference('gpt2_reference.py', GPT2, model, ids, [{ layer: 3, head: 1 }, { layer: 3, head: 2 }, { layer: 2, head: 2 }, { layer: 0, head: 5 }], 'gpt2');
});

test('Llama (GQA 4/2): zero and mean ablation of query heads across layers match the reference', async () => {
  const modelDir = join(dir, 'llama');
  mkdirSync(modelDir);
  const config = {
    model_type: 'llama',
    hidden_size: 64,
    intermediate_size: 96,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: 300,
    max_position_embeddings: 256,
    rms_norm_eps: 1e-6,
    hidden_act: 'silu',
    rope_theta: 10000,
    tie_word_embeddings: false,
  };
  // A larger q/k std: peaked attention, so that what an ablated head contributed is not a near-uniform average.
  for (const [name, bytes] of llamaShapedFolder(config, { seed: 7, qkStd: 0.3 })) writeFileSync(join(modelDir, name), bytes);
  const ids = Array.from({ length: 64 }, (_, i) => (i * 53 + ((i * i) % 17)) % 262);
  const model = await loadModelFolderFromDisk(modelDir);
  // Heads 0 and 1 share KV head 0: ablating one query head must leave its KV partner alone.
  await checkAgainstReference('llama_reference.py', modelDir, model, ids, [{ layer: 0, head: 1 }, { layer: 1, head: 2 }, { layer: 1, head: 3 }], 'llama');
});

test('the plain model and every set of ablated heads, in either mode, run on one session; no head ablated is bit-identical to the graph without a head mask', async () => {
  const model = await loadModelFolderFromDisk(GPT2);
  const inspector = await DecoderInspector.create({ model, ort, executionProvider: 'wasm' });
  try {
    const ids = Array.from({ length: 24 }, (_, i) => (i * 389 + 11) % model.config.vocabSize);
    const T = ids.length;
    const plain = await inspector.inspect(ids);
    // The same graph with and without the head mask, all ones: the same numbers.
    const weights = new GraphWeights(model.weights, 'fp32', 'none');
    const nll = async (headMask: boolean) => {
      const session = await ort.InferenceSession.create(buildDecoderGraph(model.config, weights, { attention: 'manual', attentionLayers: [], queryBlock: QUERY_BLOCK, headMask }));
      const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, T]) };
      if (headMask) {
        feeds[HEAD_KEEP] = new ort.Tensor('float32', new Float32Array(model.config.nLayer * model.config.nHead).fill(1), [1, model.config.nLayer, model.config.nHead]);
        feeds[HEAD_MODE] = new ort.Tensor('float32', Float32Array.of(1), [1]);
      }
      const out = await session.run(feeds);
      await session.release();
      return out.nll.data as Float32Array;
    };
    assert.deepEqual(await nll(true), await nll(false), 'head mask of all ones (mean mode) vs no head mask');
    const none = await inspector.inspect(ids, { ablation: { heads: [], headMode: 'mean' } });
    assert.deepEqual(none.loss, plain.loss);
    assert.deepEqual(none.attention, plain.attention);
    assert.equal(none.timingsMs.session, 0, 'the empty ablation made a new session');
    // A head ablated in layer 3 changes no attention of layers 0–3 (it acts after layer 3's attention).
    const last = await inspector.inspect(ids, { ablation: { heads: [{ layer: 3, head: 4 }] } });
    assert.deepEqual(last.attention, plain.attention);
    assert.notDeepEqual(last.loss, plain.loss);
    assert.equal(last.timingsMs.session, 0, 'an ablation made a new session');
    // Another set of heads, the other mode: the same session (heads and mode are the graph's inputs).
    const other = await inspector.inspect(ids, { ablation: { heads: [{ layer: 1, head: 2 }, { layer: 0, head: 0 }], headMode: 'mean' } });
    assert.equal(other.timingsMs.session, 0, 'another set of ablated heads made a new session');
    assert.notDeepEqual(other.loss, last.loss);
    await assert.rejects(inspector.inspect(ids, { ablation: { heads: [{ layer: 3, head: 8 }] } }), /head 3\.8 does not exist/);
    await assert.rejects(inspector.inspect(ids, { ablation: { heads: [{ layer: 4, head: 0 }] } }), /layer 4 does not exist/);
  } finally {
    await inspector.release();
  }
});
