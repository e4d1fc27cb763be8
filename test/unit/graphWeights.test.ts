// How weights enter the decoder graphs per provider: on wasm every stored dtype is external data (the
// file's bytes, cast in the graph); for WebGPU, which has no bfloat16 Cast, BF16 is converted while the
// graph is written; prebuilt graphs are reused only by the provider they were built for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildDecoderGraph } from '../../kernels/graph/decoderGraph.js';
import { externalWeightsOn, GraphWeights } from '../../kernels/graph/graphWeights.js';
import { loadModelFolder } from '../../kernels/model/modelFolder.js';
import { copyWeights } from '../../kernels/model/weightData.js';
import { QUERY_BLOCK } from '../../kernels/graph/attentionGraph.js';
import { DecoderGraphs } from '../../kernels/runtime/decoderInspector.js';
import { llamaShapedFolder } from '../support/llamaShapedFolder.js';

const CONFIG = {
  model_type: 'llama', hidden_size: 32, intermediate_size: 48, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2,
  vocab_size: 262, max_position_embeddings: 64, rms_norm_eps: 1e-6, hidden_act: 'silu', rope_theta: 10000, tie_word_embeddings: true,
};

async function model(dtype: 'BF16' | 'F16') {
  const files = llamaShapedFolder(CONFIG, { dtype });
  return loadModelFolder(async (name) => files.get(name));
}

test('BF16: external on wasm, converted for WebGPU; prebuilt graphs suit only their provider', async () => {
  const bf16 = await model('BF16');
  const storedBytes = [...bf16.weights.values()].reduce((n, t) => n + t.data.byteLength, 0);
  for (const provider of ['wasm', 'webgpu'] as const) {
    const weights = new GraphWeights(bf16.weights, 'fp32', externalWeightsOn(provider));
    const graph = buildDecoderGraph(bf16.config, weights, { attention: 'manual', attentionLayers: [0] });
    const external = weights.externalFiles().length;
    if (provider === 'wasm') {
      assert.equal(external, 1, 'the file is the external data');
      assert.ok(graph.byteLength < storedBytes, `the graph holds no weights (${graph.byteLength} bytes)`);
    } else {
      assert.equal(external, 0, 'nothing external for WebGPU');
      assert.ok(graph.byteLength > 2 * storedBytes, `fp32 weights in the graph (${graph.byteLength} bytes)`);
    }
  }
  const forWebGpu = new DecoderGraphs(bf16, 'fp32', 'webgpu');
  assert.equal(forWebGpu.suits('webgpu'), true);
  assert.equal(forWebGpu.suits('wasm'), false, 'a wasm fallback builds its own');
  assert.equal(forWebGpu.queryBlock, undefined, 'whole-layer attention on WebGPU');
  assert.equal(new DecoderGraphs(bf16, 'fp32', 'wasm').queryBlock, QUERY_BLOCK, 'blocks of query rows on wasm');
});

test('trace weights kept: the attention tensors of every layer copied out of the file, the rest let go', async () => {
  const bf16 = await model('BF16');
  const kept = copyWeights(bf16.weights, ['model.layers.0.input_layernorm.weight', 'model.layers.0.self_attn.q_proj.weight']);
  for (const [name, t] of kept) {
    const stored = bf16.weights.get(name)!;
    assert.deepEqual(t.data, stored.data, name);
    assert.notEqual(t.data.buffer, stored.data.buffer, `${name} is a copy`);
    assert.equal(t.data.byteOffset % 8, 0, `${name} is aligned`);
  }
  assert.equal(new Set([...kept.values()].map((t) => t.data.buffer)).size, 1, 'one buffer');
  assert.throws(() => copyWeights(bf16.weights, ['nope']), /weight nope is missing/);

  const graphs = new DecoderGraphs(bf16, 'fp32', 'wasm');
  graphs.releaseWeights({ keep: 'attention' });
  const ablation = { noScale: false, noMask: false };
  assert.ok(graphs.takeTrace(0, ablation).byteLength > 0, 'a trace graph is still made');
  const external = graphs.externalFiles();
  assert.equal(external.length, 1);
  const storedBytes = [...bf16.weights.values()].reduce((n, t) => n + t.data.byteLength, 0);
  assert.ok(external[0].data.byteLength < storedBytes / 2, `kept ${external[0].data.byteLength} of ${storedBytes} bytes`);
  assert.throws(() => graphs.take({ attention: 'manual', logits: false }), /released/);
});
