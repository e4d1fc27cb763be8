import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseModelConfig } from '../../kernels/model/config';
import { ModelFileError, type ModelFileErrorCode } from '../../kernels/model/errors';
import { findPickleCheckpoints, loadModelFolder } from '../../kernels/model/modelFolder';
import { loadModelFolderFromDisk, nodeFolderReader } from '../../node/folderReader';
import { parseSafetensors, writeSafetensors } from '../../kernels/model/safetensors';
import { toFloat32 } from '../../kernels/model/weightData';
import type { DecoderConfig, WeightTensor } from '../../kernels/model/types';
import { TINY_CONFIG, folderReader, tinyGpt2Config, tinyGpt2Folder, tinyTensors, type Folder } from './tinyGpt2Folder';

const EMBEDDED = 'media/models/tinycode-4l8h-1k';
const text = (s: string) => new TextEncoder().encode(s);

async function expectLoadError(folder: Folder, code: ModelFileErrorCode, file: string, tensor?: string): Promise<ModelFileError> {
  try {
    await loadModelFolder(folderReader(folder));
  } catch (e) {
    assert.ok(e instanceof ModelFileError, `expected a ModelFileError, got ${String(e)}`);
    assert.deepEqual([e.code, e.file, e.tensor], [code, file, tensor], e.message);
    return e;
  }
  assert.fail(`expected ModelFileError ${code}`);
}

function withSafetensors(entries: [string, WeightTensor][], base: Folder = tinyGpt2Folder()): Folder {
  return new Map(base).set('model.safetensors', writeSafetensors(entries));
}

function tinyEntries(prefix = 'transformer.'): [string, WeightTensor][] {
  return [...tinyTensors(tinyGpt2Config(), 'F32', 1)].map(([n, t]) => [prefix + n, t]);
}


/** GPT-2's description with transformers.GPT2Config's defaults: LayerNorm 1e-5, gelu_new, bos/eos the last id. */
function gpt2Description(s: { nLayer: number; nHead: number; nEmbd: number; nPositions: number; vocabSize: number; nInner: number }): DecoderConfig {
  return {
    family: 'gpt2',
    ...s,
    nKvHead: s.nHead,
    headDim: s.nEmbd / s.nHead,
    norm: { kind: 'layernorm', eps: 1e-5 },
    positions: { kind: 'learned' },
    attention: { qkvBias: true, oBias: true, qkNorm: false },
    mlp: { kind: 'gelu_new', bias: true },
    tiedEmbeddings: true,
    bosTokenId: s.vocabSize - 1,
    eosTokenId: s.vocabSize - 1,
  };
}

test('the embedded model loads from disk: config, 52 tensors, tokenizer', async () => {
  const m = await loadModelFolderFromDisk(EMBEDDED);
  assert.deepEqual(m.config, gpt2Description({ nLayer: 4, nHead: 8, nEmbd: 256, nPositions: 1024, vocabSize: 4096, nInner: 1024 }));
  assert.equal(m.weights.size, 52);
  assert.deepEqual(m.weights.get('h.3.mlp.c_proj.weight')!.shape, [1024, 256]);
  assert.equal(m.tokenizer.vocabSize, 4096);
  assert.equal(m.tokenizer.eosTokenId, 4095);
  const files = ['config.json', 'model.safetensors', 'vocab.json', 'merges.txt'];
  assert.equal(m.totalBytes, files.reduce((n, f) => n + readFileSync(join(EMBEDDED, f)).length, 0));
});

for (const dtype of ['F32', 'F16', 'BF16'] as const) {
  for (const prefix of [true, false]) {
    test(`tiny ${dtype} model, ${prefix ? 'with' : 'without'} the transformer. prefix, mask buffers and a tied lm_head`, async () => {
      const folder = tinyGpt2Folder({ dtype, prefix, maskBuffers: true, lmHead: true });
      const m = await loadModelFolder(folderReader(folder));
      assert.equal(m.weights.size, 2 + 2 * 12 + 2);
      assert.ok(!m.weights.has('lm_head.weight') && !m.weights.has('h.0.attn.bias'));
      const wte = m.weights.get('wte.weight')!;
      assert.equal(wte.dtype, dtype);
      const stored = parseSafetensors(folder.get('model.safetensors')!).get(`${prefix ? 'transformer.' : ''}wte.weight`)!;
      assert.deepEqual(toFloat32(wte), toFloat32(stored));
    });
  }
}

test('tokenizer.json is used when vocab.json / merges.txt are absent', async () => {
  const m = await loadModelFolder(folderReader(tinyGpt2Folder({ tokenizerJson: true })));
  assert.deepEqual(m.tokenizer.encode('the the').map((t) => t.id), [116, 257, 258]);
  assert.equal(m.tokenizer.eosTokenId, TINY_CONFIG.eos_token_id);
});

test('missing files', async () => {
  const without = (...names: string[]) => {
    const f = tinyGpt2Folder();
    for (const n of names) f.delete(n);
    return f;
  };
  await expectLoadError(without('config.json'), 'missing-file', 'config.json');
  await expectLoadError(without('model.safetensors'), 'missing-file', 'model.safetensors');
  await expectLoadError(without('vocab.json'), 'missing-file', 'vocab.json');
  await expectLoadError(without('merges.txt'), 'missing-file', 'merges.txt');
});

test('a pickle checkpoint without model.safetensors is refused, by probing or from a listing', async () => {
  const f = tinyGpt2Folder();
  f.delete('model.safetensors');
  f.set('pytorch_model.bin', new Uint8Array([0x80, 0x02]));
  const e = await expectLoadError(f, 'pickle-checkpoint', 'pytorch_model.bin');
  assert.match(e.message, /run code/);
  await assert.rejects(
    loadModelFolder(folderReader(new Map([...f].filter(([n]) => n !== 'pytorch_model.bin'))), { listing: ['weights.ckpt', 'config.json'] }),
    (err) => err instanceof ModelFileError && err.code === 'pickle-checkpoint' && err.file === 'weights.ckpt',
  );
  assert.deepEqual(findPickleCheckpoints(['a.safetensors', 'pytorch_model.bin', 'x.PT', 'merges.txt', 'm.ckpt']), ['pytorch_model.bin', 'x.PT', 'm.ckpt']);
});

test('config.json defects', async () => {
  const config = (patch: Record<string, unknown>) => new Map(tinyGpt2Folder()).set('config.json', text(JSON.stringify({ ...TINY_CONFIG, ...patch })));
  await expectLoadError(new Map(tinyGpt2Folder()).set('config.json', text('{')), 'bad-json', 'config.json');
  await expectLoadError(new Map(tinyGpt2Folder()).set('config.json', new Uint8Array([0xff])), 'bad-json', 'config.json');
  await expectLoadError(new Map(tinyGpt2Folder()).set('config.json', text('[]')), 'bad-config', 'config.json');
  for (const patch of [
    { n_head: 3 },
    { n_layer: 0 },
    { n_embd: 2.5 },
    { n_layer: '2' },
    { n_layer: undefined },
    { vocab_size: 2 ** 40 },
    { n_positions: undefined, n_ctx: undefined },
    { activation_function: 'relu' },
    { layer_norm_epsilon: -1 },
    { eos_token_id: 10_000 },
    { model_type: 'gemma' },
    { scale_attn_weights: false },
    { scale_attn_by_inverse_layer_idx: true },
    { add_cross_attention: true },
  ]) {
    const e = await expectLoadError(config(patch), 'bad-config', 'config.json');
    assert.ok(!e.message.includes('\n'));
  }
  // Defaults as transformers.GPT2Config: n_ctx, n_inner null, epsilon and activation absent.
  const c = parseModelConfig(text(JSON.stringify({ n_layer: 1, n_head: 2, n_embd: 4, n_ctx: 8, vocab_size: 300 })));
  assert.deepEqual(c, gpt2Description({ nLayer: 1, nHead: 2, nEmbd: 4, nPositions: 8, vocabSize: 300, nInner: 16 }));
  // Shapes disagreeing with the config.
  await expectLoadError(config({ n_embd: 16, n_head: 2 }), 'bad-shape', 'model.safetensors', 'transformer.wte.weight');
  await expectLoadError(config({ n_layer: 3 }), 'missing-tensor', 'model.safetensors', 'h.2.ln_1.weight');
  await expectLoadError(config({ n_layer: 1 }), 'unexpected-tensor', 'model.safetensors', 'transformer.h.1.ln_1.weight');
  await expectLoadError(config({ vocab_size: 300, eos_token_id: 1 }), 'bad-shape', 'model.safetensors', 'transformer.wte.weight');
  await expectLoadError(config({ vocab_size: 200, bos_token_id: 1, eos_token_id: 1 }), 'bad-tokenizer', 'vocab.json');
});

test('tensor-level defects name the tensor', async () => {
  const entries = tinyEntries();
  await expectLoadError(withSafetensors(entries.slice(1)), 'missing-tensor', 'model.safetensors', entries[0][0].replace('transformer.', ''));
  await expectLoadError(withSafetensors([...entries, ['transformer.h.0.attn.extra', entries[0][1]]]), 'unexpected-tensor', 'model.safetensors', 'transformer.h.0.attn.extra');
  await expectLoadError(withSafetensors([...entries, [entries[0][0].replace('transformer.', ''), entries[0][1]]]), 'unexpected-tensor', 'model.safetensors', entries[0][0].replace('transformer.', ''));
  const fc = entries.map(([n, t]): [string, WeightTensor] => (n.endsWith('h.1.mlp.c_fc.weight') ? [n, { ...t, shape: [...t.shape].reverse() }] : [n, t]));
  await expectLoadError(withSafetensors(fc), 'bad-shape', 'model.safetensors', 'transformer.h.1.mlp.c_fc.weight');
  const wte = entries.find(([n]) => n === 'transformer.wte.weight')![1];
  const untied = new Uint8Array(wte.data);
  untied[0] ^= 1;
  await expectLoadError(withSafetensors([...entries, ['lm_head.weight', { ...wte, data: untied }]]), 'unexpected-tensor', 'model.safetensors', 'lm_head.weight');
  await expectLoadError(withSafetensors([...entries, ['lm_head.weight', { ...wte, shape: [wte.shape[1], wte.shape[0]] }]]), 'bad-shape', 'model.safetensors', 'lm_head.weight');
  await expectLoadError(withSafetensors([...entries, ['transformer.h.9.attn.bias', entries[0][1]]]), 'unexpected-tensor', 'model.safetensors', 'transformer.h.9.attn.bias');
});

test('a tokenizer larger than config.vocab_size is refused', async () => {
  const f = new Map(tinyGpt2Folder());
  const vocab = JSON.parse(new TextDecoder().decode(f.get('vocab.json')!)) as Record<string, number>;
  vocab['<|extra|>'] = TINY_CONFIG.vocab_size;
  f.set('vocab.json', text(JSON.stringify(vocab)));
  const e = await expectLoadError(f, 'bad-tokenizer', 'vocab.json');
  assert.match(e.message, /vocab_size/);
  await expectLoadError(new Map(tinyGpt2Folder()).set('merges.txt', new Uint8Array([0xc3])), 'bad-tokenizer', 'merges.txt');
});

test('the disk reader refuses names that leave the folder and reads real files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ai-model-'));
  try {
    for (const [name, bytes] of tinyGpt2Folder()) writeFileSync(join(dir, name), bytes);
    writeFileSync(join(dir, '..', 'outside.json'), '{}');
    const read = nodeFolderReader(dir);
    for (const name of ['../outside.json', '..', 'sub/config.json', 'sub\\config.json', '', '.', 'a\0b']) assert.equal(await read(name), undefined, name);
    assert.equal(await read('nothing.json'), undefined);
    assert.ok(await read('config.json'));
    const m = await loadModelFolderFromDisk(dir);
    assert.equal(m.config.nLayer, 2);
    rmSync(join(dir, 'model.safetensors'));
    writeFileSync(join(dir, 'pytorch_model.bin'), 'pickle');
    await assert.rejects(loadModelFolderFromDisk(dir), (e) => e instanceof ModelFileError && e.code === 'pickle-checkpoint');
    rmSync(join(dir, '..', 'outside.json'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
