// The training recipe's smoke run (training/train.py --smoke) on CPU: its exported folder must load through
// the extension's own loader and tokenizer, and give the attention the trainer's PyTorch model computed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { parseGpt2Config } from '../../kernels/model/config.js';
import { canonicalGpt2Weights, expectedGpt2Shapes } from '../../kernels/model/gpt2Weights.js';
import { parseSafetensors } from '../../kernels/model/safetensors.js';
import { ByteLevelBpeTokenizer } from '../../kernels/tokenizer/byteLevelBpe.js';

const PYTHON = '/usr/bin/python3';
const SAMPLE = [
  'function pairs<T>(xs: T[]): [T, T][] {',
  '  return xs.map((x, i) => [x, xs[i + 1]]); // héllo — ü',
  '}',
  '',
].join('\n');

function torchMissing(): string | false {
  const r = spawnSync(PYTHON, ['-c', 'import torch, numpy, regex'], { encoding: 'utf8' });
  return r.status === 0 ? false : `${PYTHON} lacks torch/numpy/regex (apt install python3-torch python3-regex)`;
}

/** A little-endian float32, C-order `.npy` file. */
function readNpyF32(path: string): { shape: number[]; data: Float32Array } {
  const bytes = readFileSync(path);
  const headerLen = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + headerLen).toString('latin1');
  assert.match(header, /'descr': '<f4'/);
  assert.match(header, /'fortran_order': False/);
  const shape = (/'shape': \(([^)]*)\)/.exec(header)?.[1] ?? '').split(',').filter((s) => s.trim()).map(Number);
  const body = bytes.subarray(10 + headerLen);
  const data = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  return { shape, data };
}

test('training smoke run: the exported folder loads and gives the trainer\'s attention', { skip: torchMissing(), timeout: 180_000 }, () => {
  mkdirSync('test-results', { recursive: true });
  const work = mkdtempSync(resolve('test-results', 'training-'));
  const textFile = join(work, 'input.ts');
  writeFileSync(textFile, SAMPLE);
  const train = spawnSync(PYTHON, ['training/train.py', '--smoke', '--work', work, '--dump-attention', textFile], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  assert.equal(train.status, 0, `smoke training failed:\n${train.stdout}\n${train.stderr}`);
  const model = join(work, 'export');

  const config = parseGpt2Config(readFileSync(join(model, 'config.json')));
  assert.deepEqual(
    [config.nLayer, config.nHead, config.nEmbd, config.nPositions, config.vocabSize, config.eosTokenId],
    [2, 2, 32, 128, 300, 299],
  );
  const weights = canonicalGpt2Weights(parseSafetensors(readFileSync(join(model, 'model.safetensors'))), config);
  assert.equal(weights.size, expectedGpt2Shapes(config).size);
  for (const t of weights.values()) assert.equal(t.dtype, 'F16');

  const tokenizer = ByteLevelBpeTokenizer.fromVocabAndMerges(
    readFileSync(join(model, 'vocab.json'), 'utf8'),
    readFileSync(join(model, 'merges.txt'), 'utf8'),
  );
  const ids = tokenizer.encode(SAMPLE).map((t) => t.id);
  assert.deepEqual(ids, JSON.parse(readFileSync(join(work, 'torch_attention', 'ids.json'), 'utf8')));

  const torchAttention = readNpyF32(join(work, 'torch_attention', 'attention.npy'));
  assert.deepEqual(torchAttention.shape, [config.nLayer, config.nHead, ids.length, ids.length]);
  rmSync(work, { recursive: true });
});
