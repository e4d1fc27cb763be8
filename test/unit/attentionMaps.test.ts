// Attention maps derived from the kept q and k (DecoderInspector.inspectLayers, kernels/inspect/attentionMaps.ts)
// are the model's attention: against the probabilities the manual-attention graph outputs itself, and at
// 1,024 tokens on a GPT-2-small-shaped (12 heads) but narrow model against the PyTorch reference
// (test/reference/gpt2_reference.py, float64).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as ort from 'onnxruntime-web';
import { attentionOutput, buildDecoderGraph } from '../../kernels/graph/decoderGraph.js';
import { GraphWeights } from '../../kernels/graph/graphWeights.js';
import { maxAbsDiff as maxAbs } from '../../kernels/flash/reference.js';
import { attentionMapsReference } from '../../kernels/inspect/attentionMaps.js';
import type { LoadedModel } from '../../kernels/model/modelFolder.js';
import { DecoderInspector } from '../../kernels/runtime/decoderInspector.js';
import { loadModelFolderFromDisk } from '../../node/folderReader.js';
import { gpt2ShapedFolder } from '../support/gpt2ShapedFolder.js';
import { readFloat32Npy } from '../support/npy.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TOLERANCE = 5e-5;
let dir: string;

/** Every entry above the diagonal of each (T, T) map is exactly 0. */
function assertCausal(maps: Float32Array, T: number, what: string): void {
  for (let row = 0; row < maps.length / T; row++) {
    for (let j = (row % T) + 1; j < T; j++) if (maps[row * T + j] !== 0) assert.fail(`${what}: row ${row} attends to later key ${j}`);
  }
}

/** The probabilities the model's own manual-attention graph outputs for every layer (the pre-derivation truth). */
async function graphProbabilities(model: LoadedModel, ids: number[]): Promise<Float32Array[]> {
  const layers = Array.from({ length: model.config.nLayer }, (_, l) => l);
  const graph = buildDecoderGraph(model.config, new GraphWeights(model.weights, 'fp32', 'none'), { attention: 'manual', attentionLayers: layers });
  const session = await ort.InferenceSession.create(graph);
  const out = await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]) }, layers.map(attentionOutput));
  await session.release();
  return layers.map((l) => out[attentionOutput(l)].data as Float32Array);
}

before(() => {
  ort.env.wasm.numThreads = 1;
  dir = mkdtempSync(join(tmpdir(), 'ai-maps-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('derived maps equal the probabilities the model graph outputs, on the embedded model', async () => {
  const model = await loadModelFolderFromDisk(join(ROOT, 'media', 'models', 'tinycode-4l8h-1k'));
  const ids = model.tokenizer.encode('function add(a, b) {\n  return a + b; // add them\n}\nadd(1, 2);\n').map((t) => t.id);
  const T = ids.length;
  const truth = await graphProbabilities(model, ids);
  const inspector = await DecoderInspector.create({ model, ort, executionProvider: 'wasm' });
  const x = await inspector.inspectLayers(ids);
  let worst = 0;
  for (let l = 0; l < model.config.nLayer; l++) {
    const inputs = x.attentionInputs(l);
    assert.deepEqual([inputs.heads, inputs.length, inputs.headDim, inputs.q.length], [8, T, 32, 8 * T * 32]);
    const fast = await x.layerMaps(l);
    const plain = attentionMapsReference(inputs);
    worst = Math.max(worst, maxAbs(fast, truth[l]), maxAbs(plain, truth[l]));
    assert.ok(maxAbs(fast, truth[l]) <= TOLERANCE, `layer ${l}: derived (ORT) vs graph ${maxAbs(fast, truth[l])}`);
    assert.ok(maxAbs(plain, truth[l]) <= TOLERANCE, `layer ${l}: derived (reference) vs graph ${maxAbs(plain, truth[l])}`);
    assertCausal(fast, T, `layer ${l} (ORT)`);
    assertCausal(plain, T, `layer ${l} (reference)`);
  }
  console.log(`derived vs graph probabilities: max abs ${worst.toExponential(2)}`);
  for (let h = 0; h < 8; h++) assert.equal(maxAbs(await x.headMap(2, h), (await x.layerMaps(2)).subarray(h * T * T, (h + 1) * T * T)), 0, `head ${h}: headMap vs layerMaps`);
  await assert.rejects(x.headMap(0, 8), /head 8 does not exist/);
  x.release();
  await assert.rejects(x.layerMaps(0), /released/);
  // An ablated trace layer's inputs say how its scores were formed; derived maps follow them.
  const ablated = await inspector.inspectLayers(ids, { traceLayer: 1, ablation: { noScale: true, noMask: true } });
  const inputs = ablated.attentionInputs(1);
  assert.deepEqual([inputs.scale, inputs.causal], [1, false]);
  assert.ok(maxAbs(attentionMapsReference(inputs), ablated.trace!.probs.data) <= TOLERANCE);
  assert.equal(ablated.attentionInputs(0).scale, 1 / Math.sqrt(32));
  // The same ablated maps from the plain inspection's q and k (what the panel's ablations view derives).
  const plainRun = await inspector.inspectLayers(ids);
  for (let h = 0; h < 8; h++) {
    const d = maxAbs(await plainRun.headMap(1, h, { noScale: true, noMask: true }), ablated.trace!.probs.data.subarray(h * T * T, (h + 1) * T * T));
    assert.ok(d <= TOLERANCE, `head ${h}: ablation derived vs the ablated graph ${d}`);
  }
  plainRun.release();
  ablated.release();
  await inspector.release();
});

test('derived maps equal the PyTorch reference at 1,024 tokens (12 heads, narrow)', async () => {
  const modelDir = join(dir, 'narrow');
  execFileSync('mkdir', ['-p', modelDir]);
  const shape = { nLayer: 2, nHead: 12, nEmbd: 192, vocabSize: 300, nPositions: 1024 };
  for (const [name, bytes] of gpt2ShapedFolder(shape, { qkStd: 0.15 })) writeFileSync(join(modelDir, name), bytes);
  const model = await loadModelFolderFromDisk(modelDir);
  const T = 1024;
  const ids = Array.from({ length: T }, (_, i) => (i * 37 + (i >> 4)) % 262);
  writeFileSync(join(dir, 'ids.json'), JSON.stringify(ids));
  const refFile = join(dir, 'reference.npy');
  const script = [
    'import json, sys, numpy as np, torch',
    `sys.path.insert(0, ${JSON.stringify(join(ROOT, 'test', 'reference'))})`,
    'from gpt2_reference import Gpt2Reference',
    `model = Gpt2Reference.load(${JSON.stringify(modelDir)}, dtype=torch.float64)`,
    `_, maps = model.forward(json.load(open(${JSON.stringify(join(dir, 'ids.json'))})))`,
    `np.save(${JSON.stringify(refFile)}, torch.stack(maps).numpy().astype(np.float32))`,
  ].join('\n');
  execFileSync('/usr/bin/python3', ['-c', script], { stdio: ['ignore', 'ignore', 'inherit'] });
  const { shape: refShape, data: reference } = readFloat32Npy(refFile);
  assert.deepEqual(refShape, [2, 12, 1024, 1024]);

  const inspector = await DecoderInspector.create({ model, ort, executionProvider: 'wasm' });
  const x = await inspector.inspectLayers(ids);
  const H = shape.nHead;
  let peaked = 0;
  let worst = 0;
  for (let l = 0; l < shape.nLayer; l++) {
    const maps = await x.layerMaps(l);
    const d = maxAbs(maps, reference.subarray(l * H * T * T, (l + 1) * H * T * T));
    worst = Math.max(worst, d);
    assert.ok(d <= TOLERANCE, `layer ${l}: derived vs PyTorch ${d}`);
    assertCausal(maps, T, `layer ${l}`);
    // One head derived alone (the panel's way, a head per task) gives the layer's numbers bit for bit.
    for (const h of [0, H - 1]) {
      const whole = maps.subarray(h * T * T, (h + 1) * T * T);
      assert.equal(maxAbs(await x.headMap(l, h), whole), 0, `layer ${l} head ${h}: headMap vs layerMaps`);
      // …and in blocks of rows (a causal block over the keys up to its last row only).
      for (const [first, count] of [[0, 128], [384, 128], [1000, 24], [1, 1]]) {
        assert.equal(maxAbs(await x.headRows(l, h, first, count), whole.subarray(first * T, (first + count) * T)), 0, `layer ${l} head ${h} rows ${first}+${count}`);
      }
      const unmasked = await x.headMap(l, h, { noMask: true });
      assert.equal(maxAbs(await x.headRows(l, h, 512, 100, { noMask: true }), unmasked.subarray(512 * T, 612 * T)), 0, `layer ${l} head ${h}: unmasked rows`);
    }
    for (let row = 0; row < H * T; row++) {
      for (let j = 0; j <= row % T; j++) {
        if (maps[row * T + j] > 0.5) {
          peaked++;
          break;
        }
      }
    }
  }
  // The weights make attention peaked somewhere, so the comparison is not one of near-uniform rows.
  assert.ok(peaked > 0.05 * shape.nLayer * H * T, `only ${peaked} rows have a weight above 0.5`);
  console.log(`derived vs PyTorch at T = ${T}: max abs ${worst.toExponential(2)}; ${peaked} of ${shape.nLayer * H * T} rows peaked above 0.5`);
  x.release();
  await inspector.release();
});
