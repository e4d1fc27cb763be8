// `inspect --ablate` and `rank-heads` run as a user would (node dist/cli.js) on the embedded model:
// the ablated run's tokens.json and attention.npy against the PyTorch reference with the same heads
// ablated (test/reference/gpt2_reference.py), the ranking against single-head ablated runs, and every bad
// spec exiting 2 with one line.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { maxAbsDiff } from '../../kernels/flash/reference.js';
import { assertBadInput, CLI, runCli } from '../support/cliRun.js';
import { readFloat32Npy } from '../support/npy.js';
import { decodeRgbPng } from '../support/png.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MODEL = join(ROOT, 'media', 'models', 'tinycode-4l8h-1k');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'forward');
let dir: string;
let repeated: { text: string; ids: number[] };

const cli = (...args: string[]) => runCli(dir, ...args);
const lossesOf = (out: string): number[] => JSON.parse(readFileSync(join(dir, out, 'tokens.json'), 'utf8')).tokens.slice(1).map((t: { loss: number }) => t.loss);

before(() => {
  if (!existsSync(CLI)) assert.equal(spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' }).status, 0);
  dir = mkdtempSync(join(tmpdir(), 'ai-cli-ablate-'));
  const { cases } = JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8')) as { cases: { name: string; text: string; ids: number[] }[] };
  repeated = cases.find((c) => c.name === 'repeated')!;
  writeFileSync(join(dir, 'repeated.txt'), repeated.text);
  writeFileSync(join(dir, 'ids.json'), JSON.stringify(repeated.ids));
});

for (const mode of ['zero', 'mean'] as const) {
  test(`inspect --ablate 3.1,3.2,2.2 --ablation ${mode}: tokens.json and attention.npy equal the reference with those heads ablated`, () => {
    const out = `ablated-${mode}`;
    const r = cli('inspect', '--text-file', 'repeated.txt', '--out', out, '--ablate', '3.1,3.2,2.2', '--ablation', mode);
    assert.equal(r.status, 0, r.stderr);
    const tokens = JSON.parse(readFileSync(join(dir, out, 'tokens.json'), 'utf8'));
    assert.deepEqual(tokens.ablation, { heads: ['3.1', '3.2', '2.2'], mode });
    writeFileSync(join(dir, `ablation-${mode}.json`), JSON.stringify({ heads: [[3, 1], [3, 2], [2, 2]], mode }));
    const ref = join(dir, `ref-${mode}`);
    execFileSync('/usr/bin/python3', [join(ROOT, 'test', 'reference', 'gpt2_reference.py'), MODEL, join(dir, 'ids.json'), ref, join(dir, `ablation-${mode}.json`)], { stdio: ['ignore', 'ignore', 'inherit'] });
    const nll = readFloat32Npy(join(ref, 'nll.npy')).data;
    const loss = lossesOf(out);
    const worstLoss = Math.max(...loss.map((l, i) => Math.abs(l - nll[i])));
    assert.ok(worstLoss <= 2e-4, `loss max abs diff ${worstLoss}`);
    const attention = readFloat32Npy(join(dir, out, 'attention.npy'));
    const T = repeated.ids.length;
    assert.deepEqual(attention.shape, [4, 8, T, T]);
    const worst = maxAbsDiff(attention.data, readFloat32Npy(join(ref, 'attention.npy')).data);
    assert.ok(worst <= 5e-5, `attention max abs diff ${worst}`);
    // The ablation matters: the plain run's losses differ.
    const plain = cli('inspect', '--text-file', 'repeated.txt', '--out', 'plain');
    assert.equal(plain.status, 0, plain.stderr);
    assert.ok(Math.max(...lossesOf('plain').map((l, i) => Math.abs(l - loss[i]))) > 0.05);
  });
}

test('rank-heads --range: a layer × head table of Δ mean loss that single-head ablated runs reproduce, a PNG, progress per head', () => {
  const T = repeated.ids.length;
  const range = { start: Math.floor(T / 2), end: T };
  const r = cli('rank-heads', '--text-file', 'repeated.txt', '--out', 'rank', '--range', `${range.start}:${range.end}`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.split('\n').filter((l) => /^rank-heads: \d+\/32 head \d\.\d: /.test(l)).length, 32);
  const table = JSON.parse(readFileSync(join(dir, 'rank', 'rank-heads.json'), 'utf8'));
  assert.equal(table.ablation, 'zero');
  assert.deepEqual(table.range, range);
  assert.equal(table.deltaMeanLoss.length, 4);
  assert.ok(table.deltaMeanLoss.every((row: number[]) => row.length === 8));
  assert.equal(table.ranking.length, 32);
  for (let i = 1; i < 32; i++) assert.ok(table.ranking[i - 1].deltaRangeMeanLoss >= table.ranking[i].deltaRangeMeanLoss);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const plain = cli('inspect', '--text-file', 'repeated.txt', '--out', 'rank-plain');
  assert.equal(plain.status, 0, plain.stderr);
  const before = lossesOf('rank-plain');
  assert.ok(Math.abs(table.baseline.meanLoss - mean(before)) <= 1e-5);
  // The top head's Δ, again from `inspect --ablate` with that head alone.
  const top = table.ranking[0].head as string;
  const [layer, head] = top.split('.').map(Number);
  const one = cli('inspect', '--text-file', 'repeated.txt', '--out', 'rank-one', '--ablate', top);
  assert.equal(one.status, 0, one.stderr);
  const after = lossesOf('rank-one');
  const inRange = (xs: number[]) => xs.slice(range.start - 1, range.end - 1);
  assert.ok(Math.abs(table.deltaRangeMeanLoss[layer][head] - (mean(inRange(after)) - mean(inRange(before)))) <= 1e-5);
  assert.ok(Math.abs(table.deltaMeanLoss[layer][head] - (mean(after) - mean(before))) <= 1e-5);
  const png = decodeRgbPng(readFileSync(join(dir, 'rank', 'rank-heads.png')));
  assert.deepEqual([png.width, png.height], [8 * 24, 4 * 24]);
  // The largest Δ is the fully saturated end of the scale (red when it raised the loss).
  const o = ((layer * 24 + 12) * png.width + head * 24 + 12) * 3;
  if (table.ranking[0].deltaRangeMeanLoss > 0 && table.ranking[0].deltaRangeMeanLoss >= -table.ranking[31].deltaRangeMeanLoss) assert.deepEqual([...png.rgb.subarray(o, o + 3)], [178, 24, 43]);
});

test('bad ablation specs and ranges exit 2 with one error line', () => {
  assertBadInput(cli('inspect', '--text-file', 'repeated.txt', '--ablate', '4.0'), /head 4\.0, but the model has 4 layers/);
  assertBadInput(cli('inspect', '--text-file', 'repeated.txt', '--ablate', '3.1,3.8'), /head 3\.8, but each layer has 8 heads/);
  assertBadInput(cli('inspect', '--text-file', 'repeated.txt', '--ablate', '3,1'), /--ablate must be a comma-separated list of LAYER\.HEAD/);
  assertBadInput(cli('inspect', '--text-file', 'repeated.txt', '--ablate', '3.1,'), /--ablate must be a comma-separated list/);
  assertBadInput(cli('inspect', '--text-file', 'repeated.txt', '--ablate', '3.1,3.1'), /head 3\.1 twice/);
  assertBadInput(cli('inspect', '--text-file', 'repeated.txt', '--ablate', '3.1', '--ablation', 'half'), /--ablation must be zero or mean/);
  assertBadInput(cli('inspect', '--text-file', 'repeated.txt', '--ablation', 'mean'), /--ablation needs --ablate/);
  assertBadInput(cli('rank-heads', '--text-file', 'repeated.txt', '--range', '9:3'), /--range must be START:END with START < END/);
  assertBadInput(cli('rank-heads', '--text-file', 'repeated.txt', '--range', 'a:b'), /--range must be START:END/);
  assertBadInput(cli('rank-heads', '--text-file', 'repeated.txt', '--range', '0:1'), /only the first token/);
  assertBadInput(cli('rank-heads', '--text-file', 'repeated.txt', '--range', '10:9999'), /ends past the \d+ inspected tokens/);
  assertBadInput(cli('rank-heads', '--text-file', 'repeated.txt', '--ablation', 'none'), /--ablation must be zero or mean/);
  assertBadInput(cli('rank-heads'), /--text-file/);
});
