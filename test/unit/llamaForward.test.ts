// Llama-style forward passes (llama, mistral, qwen2, qwen3 through kernels/model/families, decoderGraph,
// DecoderInspector on ORT-web wasm in Node) against the independent PyTorch reference
// (test/reference/llama_reference.py, float64, written from Hugging Face's modeling code) on random tiny
// models made at test time: GQA, llama3 and linear RoPE scaling, Qwen2 biases, Qwen3 q/k norms with
// head_dim ≠ hidden/heads, tied and untied embeddings, F32 and F16 weights.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as ort from 'onnxruntime-web';
import { maxAbsDiff } from '../../kernels/flash/reference.js';
import { DecoderInspector } from '../../kernels/runtime/decoderInspector.js';
import { loadModelFolderFromDisk } from '../../node/folderReader.js';
import { llamaShapedFolder } from '../support/llamaShapedFolder.js';
import type { WeightDType } from '../../kernels/model/types.js';
import { readFloat32Npy } from '../support/npy.js';
import { measuredRopeFrequencies, traceRows } from '../../webview/inspector/shapeTrace.js';
import { ropeInverseFrequencies } from '../../kernels/graph/rope.js';

const ROOT = join(import.meta.dirname, '..', '..');
const REFERENCE = join(ROOT, 'test', 'reference', 'llama_reference.py');
const ATTENTION_TOLERANCE = 5e-5;
const LOSS_RELATIVE_TOLERANCE = 1e-4;
const VOCAB = 300;

const base = {
  hidden_size: 64,
  intermediate_size: 96,
  num_hidden_layers: 2,
  vocab_size: VOCAB,
  max_position_embeddings: 256,
  rms_norm_eps: 1e-6,
  hidden_act: 'silu',
};

const CASES: { name: string; dtype: WeightDType; qkStd?: number; config: Record<string, unknown> }[] = [
  {
    name: 'llama: GQA 4/2, llama3 RoPE scaling, untied',
    dtype: 'F32',
    config: {
      ...base,
      model_type: 'llama',
      num_attention_heads: 4,
      num_key_value_heads: 2,
      rope_theta: 10000,
      rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 },
      tie_word_embeddings: false,
      bos_token_id: 1,
      eos_token_id: [2, 3],
    },
  },
  {
    name: 'llama: MHA, linear RoPE scaling, attention and MLP biases, tied, F16',
    dtype: 'F16',
    qkStd: 0.3,
    config: {
      ...base,
      model_type: 'llama',
      num_attention_heads: 4,
      num_key_value_heads: 4,
      rope_theta: 500000,
      rope_scaling: { type: 'linear', factor: 2 },
      attention_bias: true,
      mlp_bias: true,
      tie_word_embeddings: true,
    },
  },
  {
    name: 'mistral: GQA 8/2, no sliding window',
    dtype: 'F32',
    config: { ...base, model_type: 'mistral', num_attention_heads: 8, num_key_value_heads: 2, rope_theta: 1e6, sliding_window: null, tie_word_embeddings: false },
  },
  {
    name: 'qwen2: q/k/v biases, GQA 4/1, tied, BF16',
    dtype: 'BF16',
    config: { ...base, model_type: 'qwen2', num_attention_heads: 4, num_key_value_heads: 1, rope_theta: 1e6, use_sliding_window: false, sliding_window: 4096, tie_word_embeddings: true },
  },
  {
    name: 'qwen3: q/k norms, head_dim 32 with hidden 64 and 4 heads, GQA 4/2, untied',
    dtype: 'F32',
    config: { ...base, model_type: 'qwen3', num_attention_heads: 4, num_key_value_heads: 2, head_dim: 32, rope_theta: 1e6, attention_bias: false, tie_word_embeddings: false },
  },
];

let dir: string;
before(() => {
  ort.env.wasm.numThreads = 1;
  dir = mkdtempSync(join(tmpdir(), 'llama-forward-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const T = 96;
const IDS = Array.from({ length: T }, (_, i) => (i * 53 + ((i * i) % 17)) % 262);

CASES.forEach((c, n) => {
  test(`forward matches the PyTorch reference: ${c.name}`, async () => {
    const modelDir = join(dir, `model${n}`);
    mkdirSync(modelDir);
    for (const [name, bytes] of llamaShapedFolder(c.config, { dtype: c.dtype, seed: 100 + n, qkStd: c.qkStd })) writeFileSync(join(modelDir, name), bytes);
    const idsFile = join(modelDir, 'ids.json');
    writeFileSync(idsFile, JSON.stringify(IDS));
    const refDir = join(modelDir, 'reference');
    execFileSync('/usr/bin/python3', [REFERENCE, modelDir, idsFile, refDir], { stdio: ['ignore', 'ignore', 'inherit'] });

    const model = await loadModelFolderFromDisk(modelDir);
    const { nLayer: L, nHead: H } = model.config;
    const inspector = await DecoderInspector.create({ model, ort, executionProvider: 'wasm' });
    try {
      const r = await inspector.inspect(IDS, { logits: true, traceLayer: 1 });
      const ref = readFloat32Npy(join(refDir, 'attention.npy'));
      assert.deepEqual(ref.shape, [L, H, T, T]);
      let worst = 0;
      let peaked = 0;
      for (let l = 0; l < L; l++) {
        const a = r.attention[l];
        assert.equal(a.length, H * T * T);
        const d = maxAbsDiff(a, ref.data.subarray(l * H * T * T, (l + 1) * H * T * T));
        worst = Math.max(worst, d);
        assert.ok(d <= ATTENTION_TOLERANCE, `layer ${l}: attention max abs diff ${d}`);
        for (let row = 0; row < H * T; row++) if (Math.max(...a.subarray(row * T, row * T + (row % T) + 1)) > 0.5) peaked++;
      }
      // Rows past the first few must not be near-uniform, or the comparison would prove little.
      assert.ok(peaked > 0.2 * L * H * T, `only ${peaked} of ${L * H * T} rows have a weight above 0.5`);

      const nll = readFloat32Npy(join(refDir, 'nll.npy')).data;
      let worstLoss = 0;
      for (let t = 0; t < T - 1; t++) {
        const rel = Math.abs(r.loss[t] - nll[t]) / Math.abs(nll[t]);
        worstLoss = Math.max(worstLoss, rel);
        assert.ok(rel <= LOSS_RELATIVE_TOLERANCE, `position ${t}: loss ${r.loss[t]} vs ${nll[t]} (relative ${rel})`);
      }
      assert.ok(Number.isNaN(r.loss[T - 1]));
      const logits = readFloat32Npy(join(refDir, 'logits.npy')).data;
      const logitDiff = maxAbsDiff(r.logits!, logits);
      assert.ok(logitDiff <= 1e-3, `logits max abs diff ${logitDiff}`);

      // The trace layer's tensors have the sizes of what ran: q (B,T,H·dh), k/v (B,T,KV·dh), RoPE on
      // (B,T,H,dh) and (B,T,KV,dh), K grouped (B,KV,T,dh) then repeated (B,H,T,dh).
      const { headDim: dh, nKvHead: KV, nEmbd: D } = model.config;
      const trace = r.trace!;
      assert.deepEqual(trace.q.dims, [1, T, H * dh]);
      assert.deepEqual(trace.k.dims, [1, T, KV * dh]);
      assert.deepEqual(trace.qPreRope!.dims, [1, T, H, dh]);
      assert.deepEqual(trace.kRope!.dims, [1, T, KV, dh]);
      assert.deepEqual(trace.kHeads.dims, [1, H, T, dh]);
      assert.equal(trace.kGrouped?.dims.join(), KV < H ? [1, KV, T, dh].join() : undefined);
      assert.deepEqual(trace.merged.dims, [1, T, H * dh]);
      assert.deepEqual(trace.attnOut.dims, [1, T, D]);
      const rows = new Map(traceRows(trace).map((row) => [row.step, row]));
      assert.equal(rows.get('RMSNorm')?.shape, `(B=1, T=${T}, D=${D})`);
      assert.equal(rows.get('RoPE')?.shape, `Q (B=1, T=${T}, H=${H}, dh=${dh}), K (B=1, T=${T}, KV=${KV}, dh=${dh})`);
      assert.equal(rows.get('repeat K V')?.shape, KV < H ? `(B=1, KV=${KV}, T=${T}, dh=${dh}) → (B=1, H=${H}, T=${T}, dh=${dh})` : undefined);
      // RoPE's frequencies read back from how q and k were turned (q and k after RoPE equal the reference's,
      // below) are the configured ones, scaling included; the row says both.
      assert.equal(model.config.positions.kind, 'rope');
      const configured = ropeInverseFrequencies(model.config.positions as Extract<typeof model.config.positions, { kind: 'rope' }>, dh);
      const measured = measuredRopeFrequencies(trace)!;
      let worstTheta = 0;
      for (let i = 0; i < dh / 2; i++) worstTheta = Math.max(worstTheta, Math.abs(measured[i] - configured[i]) / configured[i]);
      assert.ok(worstTheta <= 1e-4, `RoPE θ measured ${measured.join()} vs configured ${configured.join()}: relative ${worstTheta}`);
      assert.equal(rows.get('RoPE θ')?.shape, `(dh/2=${dh / 2})`);
      const withConfig = new Map(traceRows(trace, model.config).map((row) => [row.step, row]));
      assert.match(withConfig.get('RoPE θ')?.note ?? '', /configured \(rope_theta [\d,]+.*\): .* measured within/);
      // Qwen3's q/k norms: a row of their own, with the shapes RoPE then turns.
      assert.equal(withConfig.get('q/k norm')?.shape, model.config.attention.qkNorm ? `Q (B=1, T=${T}, H=${H}, dh=${dh}), K (B=1, T=${T}, KV=${KV}, dh=${dh})` : undefined);

      // What attention was computed from (kept per layer, maps derived from it): q and k after the q/k
      // norms and RoPE, k per query head, equal to the reference's.
      const x = await inspector.inspectLayers(IDS);
      const queries = readFloat32Npy(join(refDir, 'queries.npy'));
      const keys = readFloat32Npy(join(refDir, 'keys.npy'));
      assert.deepEqual(queries.shape, [L, H, T, dh]);
      let worstQk = 0;
      for (let l = 0; l < L; l++) {
        const a = x.attentionInputs(l);
        const size = H * T * dh;
        worstQk = Math.max(worstQk, maxAbsDiff(a.q, queries.data.subarray(l * size, (l + 1) * size)), maxAbsDiff(a.k, keys.data.subarray(l * size, (l + 1) * size)));
      }
      x.release();
      assert.ok(worstQk <= 1e-4, `attention inputs (q, k) max abs diff ${worstQk}`);

      // Fused GroupQueryAttention (KV heads as they are) agrees with manual.
      const fused = await inspector.inspect(IDS, { attention: 'fused', logits: true, attentionLayers: [] });
      assert.equal(fused.provider.fusedChecked, true, fused.provider.fusedProbe);
      assert.equal(fused.provider.attention, 'fused');
      const fusedDiff = maxAbsDiff(fused.logits!, logits);
      assert.ok(fusedDiff <= 1e-3, `fused logits max abs diff ${fusedDiff}`);
      // The panel's way: once its session is made, only the layers' attention tensors stay in JS; any
      // layer is still traced, to the same tensors as the run that traced it.
      const keeping = await DecoderInspector.create({ model, ort, executionProvider: 'wasm', keepLayerInputs: true });
      try {
        const first = await keeping.inspectLayers(IDS, { traceLayer: 0 });
        keeping.keepOnlyTraceWeights();
        const later = await first.traceLayer(1);
        for (const [name, t] of Object.entries(trace)) assert.deepEqual(later[name as keyof typeof later]!.data, t.data, `layer 1 ${name} traced after the weights went`);
        assert.equal((await keeping.inspectLayers(IDS, { traceLayer: L - 1 })).trace!.probs.dims.join(), [1, H, T, T].join());
        await assert.rejects(keeping.inspectLayers(IDS, { logits: true }), /released/);
      } finally {
        await keeping.release();
      }
      console.log(`${c.name}: attention max abs ${worst.toExponential(2)}, q/k ${worstQk.toExponential(2)}, RoPE θ relative ${worstTheta.toExponential(2)}, loss max relative ${worstLoss.toExponential(2)}, logits ${logitDiff.toExponential(2)}, fused logits ${fusedDiff.toExponential(2)}; ${peaked}/${L * H * T} rows peaked`);
    } finally {
      await inspector.release();
    }
  });
});
