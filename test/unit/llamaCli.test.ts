// `attention-inspector inspect` on Llama-style folders (node dist/cli.js, as a user runs it): attention.npy
// is (L, H, T, T) with H the query heads and equals the PyTorch reference; bad configs and tensors exit 2
// with one `error:` line naming the field or tensor.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { maxAbsDiff } from '../../kernels/flash/reference.js';
import { parseSafetensors, writeSafetensors } from '../../kernels/model/safetensors.js';
import { assertBadInput, CLI, runCli } from '../support/cliRun.js';
import { llamaShapedFolder } from '../support/llamaShapedFolder.js';
import { readFloat32Npy } from '../support/npy.js';

const ROOT = join(import.meta.dirname, '..', '..');
const REFERENCE = join(ROOT, 'test', 'reference', 'llama_reference.py');

const CONFIG = {
  model_type: 'llama',
  hidden_size: 64,
  intermediate_size: 96,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 300,
  max_position_embeddings: 128,
  rms_norm_eps: 1e-5,
  hidden_act: 'silu',
  rope_theta: 500000,
  rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 32 },
  tie_word_embeddings: true,
};

let dir: string;
before(() => {
  if (!existsSync(CLI)) assert.equal(spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' }).status, 0);
  dir = mkdtempSync(join(tmpdir(), 'ai-llama-cli-'));
  writeFileSync(join(dir, 'in.txt'), 'function add(a, b) {\n  return a + b;\n}\nconst three = add(1, 2);\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

function folder(name: string, config: Record<string, unknown>, edit?: (files: Map<string, Uint8Array>) => void): string {
  const path = join(dir, name);
  mkdirSync(path);
  const files = llamaShapedFolder(config);
  edit?.(files);
  for (const [f, bytes] of files) writeFileSync(join(path, f), bytes);
  return path;
}

const cli = (...args: string[]) => runCli(dir, ...args);

test('inspect on a Llama folder (GQA 4/2): attention.npy (L, H, T, T) with the query heads equals the reference', () => {
  const model = folder('llama', CONFIG);
  const r = cli('inspect', '--model', model, '--text-file', 'in.txt', '--out', 'out');
  assert.equal(r.status, 0, r.stderr);
  const tokens = JSON.parse(readFileSync(join(dir, 'out', 'tokens.json'), 'utf8'));
  assert.equal(tokens.layers, 2);
  assert.equal(tokens.heads, 4);
  const ids = tokens.tokens.map((t: { id: number }) => t.id);
  const T = ids.length;
  const got = readFloat32Npy(join(dir, 'out', 'attention.npy'));
  assert.deepEqual(got.shape, [2, 4, T, T]);
  writeFileSync(join(dir, 'ids.json'), JSON.stringify(ids));
  execReference(model, join(dir, 'ids.json'), join(dir, 'ref'));
  const want = readFloat32Npy(join(dir, 'ref', 'attention.npy'));
  const worst = maxAbsDiff(got.data, want.data);
  assert.ok(worst <= 5e-5, `attention.npy vs reference: ${worst}`);
  const nll = readFloat32Npy(join(dir, 'ref', 'nll.npy')).data;
  for (let i = 1; i < T; i++) assert.ok(Math.abs(tokens.tokens[i].loss - nll[i - 1]) <= 1e-4 * nll[i - 1], `token ${i}: loss ${tokens.tokens[i].loss} vs ${nll[i - 1]}`);
});

function execReference(model: string, ids: string, out: string): void {
  const r = spawnSync('/usr/bin/python3', [REFERENCE, model, ids, out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

/** The folder's model.safetensors with its tensors changed by `edit`. */
function editTensors(edit: (tensors: Map<string, { dtype: 'F32'; shape: number[]; data: Uint8Array }>) => void) {
  return (files: Map<string, Uint8Array>): void => {
    const tensors = new Map([...parseSafetensors(files.get('model.safetensors')!)].map(([n, t]) => [n, { dtype: 'F32' as const, shape: t.shape, data: t.data.slice() }]));
    edit(tensors);
    files.set('model.safetensors', writeSafetensors([...tensors], { format: 'pt' }));
  };
}

test('bad Llama-style configs and tensors exit 2 with one error line naming the field or tensor', () => {
  const cases: [string, Record<string, unknown>, RegExp, ((files: Map<string, Uint8Array>) => void)?][] = [
    ['yarn', { ...CONFIG, rope_scaling: { rope_type: 'yarn', factor: 4 } }, /rope_scaling\.rope_type "yarn" is not supported/],
    ['heads', { ...CONFIG, num_attention_heads: 6, num_key_value_heads: 4 }, /num_attention_heads \(6\) must be a multiple of num_key_value_heads \(4\)/],
    ['act', { ...CONFIG, hidden_act: 'gelu' }, /hidden_act "gelu" is not supported/],
    ['window', { ...CONFIG, model_type: 'mistral', sliding_window: 4096 }, /sliding_window 4096 is not supported/],
    ['qwen-window', { ...CONFIG, model_type: 'qwen2', use_sliding_window: true }, /use_sliding_window true is not supported/],
    ['gemma', { ...CONFIG, model_type: 'gemma' }, /model_type "gemma" is not supported/],
    ['missing', CONFIG, /tensor "model\.layers\.1\.self_attn\.k_proj\.weight" is missing/, editTensors((t) => t.delete('model.layers.1.self_attn.k_proj.weight'))],
    [
      'misshaped',
      CONFIG,
      /tensor "model\.layers\.0\.self_attn\.k_proj\.weight" has shape \[64, 64\] but config\.json implies \[32, 64\]/,
      editTensors((t) => t.set('model.layers.0.self_attn.k_proj.weight', { dtype: 'F32', shape: [64, 64], data: new Uint8Array(64 * 64 * 4) })),
    ],
  ];
  for (const [name, config, pattern, edit] of cases) {
    // A valid folder is written first (the shapes come from a config the loader accepts), then its config replaced.
    const model = folder(name, CONFIG, edit);
    writeFileSync(join(model, 'config.json'), JSON.stringify(config));
    assertBadInput(cli('inspect', '--model', model, '--text-file', 'in.txt', '--out', join(dir, `out-${name}`)), pattern);
  }
});
