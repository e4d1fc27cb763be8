// Head-detector scores, row statistics and the .npy writer used by the inspector panel, and the test
// reference the model's ablations are checked against (test/support/headAttention.ts).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { headLabel, layerHeadScores, patternKeys } from '../../kernels/inspect/headScores.js';
import { float32Npy } from '../../kernels/inspect/npy.js';
import { averageHeads, finiteRange, meanRowEntropy, meanWeightAboveDiagonal, rowSumRange, topIndices } from '../../kernels/inspect/rowStats.js';
import { headAttention } from '../support/headAttention.js';

/** A T×T pattern putting all weight of row i on key f(i) (clamped to the causal range). */
function oneHot(T: number, f: (i: number) => number): Float32Array {
  const a = new Float32Array(T * T);
  for (let i = 0; i < T; i++) a[i * T + Math.max(0, Math.min(i, f(i)))] = 1;
  return a;
}

test('pattern keys for a repeated sequence', () => {
  const ids = [5, 6, 7, 5, 6, 7];
  assert.deepEqual(patternKeys('duplicate', ids), [[], [], [], [0], [1], [2]]);
  assert.deepEqual(patternKeys('induction', ids), [[], [], [], [1], [2], [3]]);
  assert.deepEqual(patternKeys('previous', ids).slice(0, 3), [[], [0], [1]]);
});

test('each synthetic head scores 1 on its own pattern and gets that label', () => {
  const ids = [5, 6, 7, 8, 5, 6, 7, 8];
  const T = ids.length;
  const heads = [oneHot(T, (i) => i - 1), oneHot(T, () => 0), oneHot(T, (i) => (i >= 4 ? i - 3 : i)), oneHot(T, (i) => (i >= 4 ? i - 4 : i))];
  const layer = new Float32Array(4 * T * T);
  heads.forEach((h, k) => layer.set(h, k * T * T));
  const scores = layerHeadScores(layer, 4, T, ids);
  assert.deepEqual(scores.map((s) => headLabel(s)), ['previous', 'first', 'induction', 'duplicate']);
  assert.equal(scores[0]!.previous, 1);
  assert.equal(scores[2]!.induction, 1);
  assert.equal(scores[3]!.duplicate, 1);
  assert.ok(Number.isNaN(layerHeadScores(heads[0]!, 1, T, [1, 2, 3, 4, 9, 10, 11, 12])[0]!.induction), 'no repeat → NaN');
});

test('ablation reference: causal rows sum to 1 with a zero upper triangle; unscaled is sharper; unmasked puts weight above the diagonal', () => {
  const T = 12;
  const dh = 16;
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 4;
  const q = Float32Array.from({ length: T * dh }, rnd);
  const k = Float32Array.from({ length: T * dh }, rnd);
  const base = headAttention(q, k, T, dh, { scale: true, causal: true });
  const rs = rowSumRange(base, T);
  assert.ok(Math.abs(rs.min - 1) < 1e-6 && Math.abs(rs.max - 1) < 1e-6);
  assert.equal(meanWeightAboveDiagonal(base, T), 0);
  const noScale = headAttention(q, k, T, dh, { scale: false, causal: true });
  assert.ok(meanRowEntropy(noScale, T) < meanRowEntropy(base, T));
  const noMask = headAttention(q, k, T, dh, { scale: true, causal: false });
  assert.ok(meanWeightAboveDiagonal(noMask, T) > 0.3);
  // row 0 of a causal head attends only to itself
  assert.equal(base[0], 1);
});

test('row statistics', () => {
  assert.equal(meanRowEntropy(oneHot(4, (i) => i), 4), 0);
  const uniform = new Float32Array(16).fill(0.25);
  assert.ok(Math.abs(meanRowEntropy(uniform, 4) - Math.log(4)) < 1e-6);
  assert.deepEqual(finiteRange([3, -Infinity, -2, 8, NaN]), { min: -2, max: 8 });
  const avg = averageHeads(Float32Array.from([1, 0, 0, 1, 0, 1, 1, 0]), 2, 2);
  assert.deepEqual(Array.from(avg), [0.5, 0.5, 0.5, 0.5]);
  assert.deepEqual(topIndices([0.1, 0.5, 0.2, 0.9, 0.3], 0, 5, 3), [3, 1, 4]);
  assert.deepEqual(topIndices([0.1, 0.5, 0.2, 0.9, 0.3], 0, 2, 3), [1, 0]);
});

test('.npy files read back in NumPy with the right shape and values', () => {
  const data = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i / 7);
  const file = join(mkdtempSync(join(tmpdir(), 'npy-')), 'a.npy');
  writeFileSync(file, float32Npy(data, [2, 3, 4]));
  const out = execFileSync('/usr/bin/python3', ['-c', `import numpy as n; a=n.load('${file}'); print(a.shape, a.dtype, float(a[1,2,3]))`]).toString().trim();
  assert.equal(out, `(2, 3, 4) float32 ${Math.fround(23 / 7)}`);
});
