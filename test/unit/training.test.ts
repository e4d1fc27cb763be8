// The training recipe's smoke run (training/train.py --smoke) on CPU: its exported folder must load through
// the extension's own loader and tokenizer (node/folderReader.ts) and give, through the extension's
// command line (`attention-inspector inspect`, ORT-web wasm), the attention the trainer's PyTorch model computed
// on its float16-rounded weights.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { maxAbsDiff } from '../../kernels/flash/reference.js';
import { loadModelFolderFromDisk } from '../../node/folderReader.js';
import { readFloat32Npy } from '../support/npy.js';

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

test('training smoke run: the exported folder loads and gives the trainer\'s attention', { skip: torchMissing(), timeout: 180_000 }, async (t) => {
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

  const loaded = await loadModelFolderFromDisk(model);
  const { config } = loaded;
  assert.deepEqual(
    [config.nLayer, config.nHead, config.nEmbd, config.nPositions, config.vocabSize, config.eosTokenId],
    [2, 2, 32, 128, 300, 299],
  );
  for (const w of loaded.weights.values()) assert.equal(w.dtype, 'F16');

  const ids = loaded.tokenizer.encode(SAMPLE).map((token) => token.id);
  assert.deepEqual(ids, JSON.parse(readFileSync(join(work, 'torch_attention', 'ids.json'), 'utf8')), 'token ids differ from the trainer\'s BPE');

  const torchAttention = readFloat32Npy(join(work, 'torch_attention', 'attention.npy'));
  const T = ids.length;
  assert.deepEqual(torchAttention.shape, [config.nLayer, config.nHead, T, T]);
  // The extension's command line, from source so the test needs no build: `attention-inspector inspect`.
  const cliOut = join(work, 'cli');
  const cli = spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'inspect', '--model', model, '--text-file', textFile, '--out', cliOut], {
    encoding: 'utf8',
  });
  assert.equal(cli.status, 0, `attention-inspector inspect failed:\n${cli.stdout}\n${cli.stderr}`);
  const cliTokens = JSON.parse(readFileSync(join(cliOut, 'tokens.json'), 'utf8')) as { tokens: { id: number }[] };
  assert.deepEqual(cliTokens.tokens.map((x) => x.id), ids);
  const cliAttention = readFloat32Npy(join(cliOut, 'attention.npy'));
  assert.deepEqual(cliAttention.shape, torchAttention.shape);
  const diff = maxAbsDiff(cliAttention.data, torchAttention.data);
  t.diagnostic(`${T} tokens; attention max |CLI − trainer| = ${diff.toExponential(2)}`);
  assert.ok(diff <= 1e-4, `attention differs from the trainer's by ${diff}`);
  assert.match(readFileSync(join(model, 'README.md'), 'utf8'), /## Probes/);
  rmSync(work, { recursive: true });
});

test('training in parts: a prepared folder trains without the corpus text, stops early and resumes', { skip: torchMissing(), timeout: 180_000 }, () => {
  mkdirSync('test-results', { recursive: true });
  const work = mkdtempSync(resolve('test-results', 'training-parts-'));
  const train = (...args: string[]) => {
    const r = spawnSync(PYTHON, ['training/train.py', '--smoke', '--work', work, ...args], { encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
    assert.equal(r.status, 0, `train.py ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };
  const probes = () => JSON.parse(readFileSync(join(work, 'probes.json'), 'utf8')) as { steps_done: number; steps: number };
  try {
    train('--prepare-only');
    assert.ok(!existsSync(join(work, 'checkpoint.pt')) && existsSync(join(work, 'train.bin')));
    // What training/gpu/pack.sh carries leaves the corpus text behind.
    rmSync(join(work, 'corpus', 'train.txt'));
    assert.match(train('--max-minutes', '0'), /stopped at step 1 of 30; run again to resume/);
    assert.deepEqual(probes(), { ...probes(), steps_done: 1, steps: 30 });
    assert.match(readFileSync(join(work, 'export', 'README.md'), 'utf8'), /\| steps done \| 1 of 30 \(stopped early by --max-minutes: not a full run\) \|/);
    assert.match(train(), /resumed from .* at step 1/);
    assert.equal(probes().steps_done, 30);
    assert.match(readFileSync(join(work, 'export', 'README.md'), 'utf8'), /\| steps done \| 30 of 30 \|/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
