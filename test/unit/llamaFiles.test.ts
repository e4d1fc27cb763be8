// A Llama-family folder as the hub has it, through the built CLI (node dist/cli.js): BF16 weights split
// into shards behind model.safetensors.index.json, the real Llama 2 tokenizer.json + tokenizer_config.json.
// The ids are Hugging Face's tokenizer(text) (its BOS first, with no range in the text), the ranges cover
// the text, and the attention equals that of the same weights in one model.safetensors.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { maxAbsDiff } from '../../kernels/flash/reference.js';
import { shardedFiles } from '../fixtures/hubServer.js';
import { runCli } from '../support/cliRun.js';
import { llamaShapedFolder } from '../support/llamaShapedFolder.js';
import { llamaTokenizerDir, referenceTokenizer } from '../support/llamaTokenizers.js';
import { validateModelFolder } from '../../src/models/validateModel.js';
import { readFloat32Npy } from '../support/npy.js';

const CONFIG = {
  model_type: 'llama', hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  vocab_size: 32000, max_position_embeddings: 128, rms_norm_eps: 1e-5, hidden_act: 'silu', rope_theta: 10000, tie_word_embeddings: true,
  bos_token_id: 1, eos_token_id: 2,
};
const TEXT = 'def f(x):\r\n    return x * 2  # 🦙 café\n';

const dir = mkdtempSync(join(tmpdir(), 'ai-llamafiles-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function folder(name: string, files: ReadonlyMap<string, Uint8Array>): string {
  const path = join(dir, name);
  mkdirSync(path);
  for (const [f, bytes] of files) writeFileSync(join(path, f), bytes);
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) writeFileSync(join(path, f), readFileSync(join(llamaTokenizerDir('llama2'), f)));
  return path;
}

function inspect(model: string, out: string) {
  const r = runCli(dir, 'inspect', '--model', model, '--text-file', 'in.txt', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  return { tokens: JSON.parse(readFileSync(join(dir, out, 'tokens.json'), 'utf8')), attention: readFloat32Npy(join(dir, out, 'attention.npy')) };
}

test('inspect on BF16 shards + Llama 2 tokenizer.json: HF ids with the BOS unplaced, ranges over the text, attention as from one file', () => {
  writeFileSync(join(dir, 'in.txt'), TEXT);
  const files = llamaShapedFolder(CONFIG, { dtype: 'BF16' });
  files.delete('vocab.json');
  files.delete('merges.txt');
  const single = inspect(folder('single', files), 'out-single');
  const sharded = inspect(folder('sharded', shardedFiles(files, 3)), 'out-sharded');

  const tokens = sharded.tokens.tokens as { id: number; text: string; start: number; end: number }[];
  assert.deepEqual(tokens.map((t) => t.id), referenceTokenizer('llama2')(TEXT));
  assert.deepEqual(tokens[0], { ...tokens[0], id: 1, text: '<s>', start: 0, end: 0 });
  let covered = 0;
  for (const t of tokens.slice(1)) {
    assert.equal(t.text, TEXT.slice(t.start, t.end));
    assert.ok(t.start <= covered && t.end >= covered, `token ${JSON.stringify(t)} continues from ${covered}`);
    covered = Math.max(covered, t.end);
  }
  assert.equal(covered, TEXT.length);

  assert.deepEqual(sharded.attention.shape, [2, 4, tokens.length, tokens.length]);
  assert.deepEqual(single.tokens.tokens, sharded.tokens.tokens);
  assert.equal(maxAbsDiff(sharded.attention.data, single.attention.data), 0);
});

test("the store's gate reads a Llama folder's dtype from its token embedding", async () => {
  const files = llamaShapedFolder(CONFIG, { dtype: 'BF16' });
  files.delete('vocab.json');
  files.delete('merges.txt');
  assert.deepEqual(await validateModelFolder(folder('gate', files)), { dtype: 'BF16' });
});
