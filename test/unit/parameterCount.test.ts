// The parameter-count card's arithmetic (webview/inspector/shapeTrace.ts parameterEquivalence) against
// hand counts: from the weight shapes of a loaded grouped-query checkpoint (each q/k/v/o tensor's
// elements added up, and the multi-head counterpart with k_proj and v_proj H·dh rows long), and from the
// published shapes of GPT-2 small and SmolLM2-135M worked out by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadModelFolder } from '../../kernels/model/modelFolder.js';
import { parameterEquivalence, parameterEquivalenceText } from '../../webview/inspector/shapeTrace.js';
import { llamaShapedFolder } from '../support/llamaShapedFolder.js';

const elements = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

test('Q, K, V and O counts equal the elements of a Qwen2-style GQA checkpoint (8/2 heads, biases), and the MHA counterpart its k/v_proj H·dh rows long', async () => {
  const config = {
    model_type: 'qwen2', hidden_size: 64, intermediate_size: 96, num_hidden_layers: 3, vocab_size: 300, max_position_embeddings: 128,
    rms_norm_eps: 1e-6, hidden_act: 'silu', num_attention_heads: 8, num_key_value_heads: 2, rope_theta: 1e6, tie_word_embeddings: true,
  };
  const folder = llamaShapedFolder(config);
  const model = await loadModelFolder(async (name) => folder.get(name));
  const shapeOf = (l: number, proj: string, part: 'weight' | 'bias') => model.weights.get(`model.layers.${l}.self_attn.${proj}.${part}`)?.shape ?? [0];
  const p = parameterEquivalence(model.config);
  assert.deepEqual([p.D, p.H, p.KV, p.dh, p.L], [64, 8, 2, 8, 3]);
  let savedOverModel = 0;
  for (let l = 0; l < 3; l++) {
    const [q, k, v, o] = ['q_proj', 'k_proj', 'v_proj', 'o_proj'].map((proj) => elements(shapeOf(l, proj, 'weight')) + (proj === 'o_proj' ? 0 : elements(shapeOf(l, proj, 'bias'))));
    assert.equal(p.grouped, q + k + v, `layer ${l}: Q, K, V as stored`);
    assert.equal(p.output, o, `layer ${l}: o_proj (no bias in Qwen2)`);
    // Multi-head attention of the same H·dh: k_proj and v_proj as long as q_proj.
    const [kRows, kCols] = shapeOf(l, 'k_proj', 'weight');
    assert.equal(kRows, 2 * 8);
    const mhaKv = 2 * (8 * 8 * kCols + 8 * 8);
    assert.equal(p.oneHead, q + mhaKv);
    assert.equal(p.multiHead, p.oneHead);
    assert.equal(p.savedPerLayer, mhaKv - (k + v));
    savedOverModel += p.savedPerLayer;
  }
  // Keys and values a decoder caches per token: k_proj's and v_proj's rows, every layer.
  assert.equal(p.kvCachePerToken, 3 * (shapeOf(0, 'k_proj', 'weight')[0] + shapeOf(0, 'v_proj', 'weight')[0]));
  assert.equal(p.mhaKvCachePerToken, 3 * 2 * shapeOf(0, 'q_proj', 'weight')[0]);
  const text = parameterEquivalenceText(p, 100).join('\n');
  assert.ok(text.includes(`${p.savedPerLayer.toLocaleString('en-US')} fewer per layer, ${savedOverModel.toLocaleString('en-US')} over the 3 layers`), text);
  assert.ok(text.includes('the 8 query heads read 2 key/value heads, 4 each'), text);
});

test('SmolLM2-135M by hand: 9 query heads over 3 K/V heads of 64 save 442,368 weights a layer, 13,271,040 over 30, and cache a third of MHA\'s keys and values', () => {
  const smol = { nEmbd: 576, nHead: 9, nKvHead: 3, headDim: 64, nLayer: 30, attention: { qkvBias: false, oBias: false, qkNorm: false } };
  const p = parameterEquivalence(smol);
  // q_proj 576×576 = 331,776; k_proj and v_proj 192×576 = 110,592 each (MHA: 331,776 each).
  assert.equal(p.grouped, 331_776 + 2 * 110_592);
  assert.equal(p.oneHead, 3 * 331_776);
  assert.equal(p.savedPerLayer, 2 * (331_776 - 110_592));
  assert.equal(p.savedPerLayer, 442_368);
  assert.equal(p.savedPerLayer * 30, 13_271_040);
  assert.equal(p.output, 331_776);
  // Per token: 2 · 30 layers · 3 · 64 = 11,520 values, against 2 · 30 · 576 = 34,560.
  assert.equal(p.kvCachePerToken, 11_520);
  assert.equal(p.mhaKvCachePerToken, 34_560);
  const [, grouping, cache] = parameterEquivalenceText(p, 1024);
  assert.match(grouping, /K and V project to KV·dh = 192 instead of H·dh = 576: 2·\(576·192\) = 221,184 weights instead of 2·\(576·576\) = 663,552/);
  assert.match(grouping, /442,368 fewer per layer, 13,271,040 over the 30 layers/);
  // 11,520 values × 2 bytes = 22.5 KiB per token; × 1,024 tokens = 22.5 MiB (MHA 67.5 MiB).
  assert.match(cache, /22\.5 KiB instead of 67\.5 KiB per token, 22\.5 MiB instead of 67\.5 MiB for the 1,024 tokens inspected/);
});

test('GPT-2 small (MHA): the seeds\' argument alone, word for word as before', () => {
  const gpt2 = { nEmbd: 768, nHead: 12, nKvHead: 12, headDim: 64, nLayer: 12, attention: { qkvBias: true, oBias: true, qkNorm: false } };
  const p = parameterEquivalence(gpt2);
  assert.equal(p.savedPerLayer, 0);
  assert.deepEqual(parameterEquivalenceText(p, 1024), [
    'Splitting D = 768 into H = 12 heads of dh = 64 keeps the projection parameters: one head of width 768 needs 3·(768·768 + 768) = 1,771,776 for Q, K, V; 12 heads of width 64 need 12·3·(768·64 + 64) = 1,771,776. W_O is 768·768 + 768 = 590,592 either way. Heads change what is computed, not how many weights there are.',
  ]);
});
