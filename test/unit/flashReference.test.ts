// The TS reference attention against a naive softmax(QKᵀ/√d)V that materializes the whole (T,T) matrix.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { elementCount, maxAbsDiff, randomInputs, referenceAttention, referenceAttentionRows, referenceRows, rowAgreement, type AttentionShape } from '../../kernels/flash/reference.js';
import { fromHalfBits, toHalfBits } from '../../kernels/flash/half.js';

function naiveAttention(q: Float32Array, k: Float32Array, v: Float32Array, s: AttentionShape): Float64Array {
  const { seqLen: T, headDim: D } = s;
  const out = new Float64Array(q.length);
  for (let bh = 0; bh < s.batch * s.heads; bh++) {
    const o = bh * T * D;
    const scores = Array.from({ length: T }, (_, i) =>
      Array.from({ length: T }, (_, j) => {
        if (s.causal && j > i) return -Infinity;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[o + i * D + d] * k[o + j * D + d];
        return dot / Math.sqrt(D);
      }),
    );
    for (let i = 0; i < T; i++) {
      const e = scores[i].map((x) => Math.exp(x));
      const z = e.reduce((a, b) => a + b, 0);
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let j = 0; j < T; j++) acc += (e[j] / z) * v[o + j * D + d];
        out[o + i * D + d] = acc;
      }
    }
  }
  return out;
}

for (const causal of [true, false]) {
  test(`reference attention equals naive softmax(QKᵀ/√d)V (causal=${causal})`, () => {
    const s = { batch: 2, heads: 3, seqLen: 13, headDim: 8, causal };
    const n = 2 * 3 * 13 * 8;
    const [q, k, v] = [1, 2, 3].map((seed) => randomInputs(n, seed));
    assert.ok(maxAbsDiff(referenceAttention(q, k, v, s), naiveAttention(q, k, v, s)) < 1e-6);
  });
}

test('causal row 0 attends only to key 0', () => {
  const s = { batch: 1, heads: 1, seqLen: 4, headDim: 4, causal: true };
  const [q, k, v] = [5, 6, 7].map((seed) => randomInputs(16, seed));
  const o = referenceAttention(q, k, v, s);
  assert.deepEqual([...o.slice(0, 4)], [...v.slice(0, 4)]);
});

test('half conversion round-trips representable values and rounds to nearest', () => {
  for (const x of [0, 1, -2.5, 65504, 6.103515625e-5, 5.960464477539063e-8]) assert.equal(fromHalfBits(toHalfBits(x)), x);
  assert.equal(fromHalfBits(toHalfBits(1 + 2 ** -11)), 1);
  assert.equal(fromHalfBits(toHalfBits(1e6)), Infinity);
});

test('a large shape is checked on evenly spaced rows and its last, equal to the full reference there', () => {
  const big: AttentionShape = { batch: 2, heads: 3, seqLen: 512, headDim: 32, causal: true };
  const rows = referenceRows(big, 2 ** 22);
  const n = big.batch * big.heads * big.seqLen;
  assert.ok(rows.length > 2 && rows.length < n, `${rows.length} of ${n} rows`);
  assert.equal(rows[0], 0);
  assert.equal(rows.at(-1), n - 1);
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i] > rows[i - 1]);
  const [q, k, v] = [1, 2, 3].map((seed) => randomInputs(elementCount(big), seed));
  const full = referenceAttention(q, k, v, big);
  const ref = { rows, o: referenceAttentionRows(q, k, v, big, rows) };
  assert.equal(rowAgreement(full, ref, big.headDim), 0);
  const wrong = full.slice();
  wrong[(n - 1) * big.headDim] += 1e-3;
  assert.ok(Math.abs(rowAgreement(wrong, ref, big.headDim) - 1e-3) < 1e-6, 'a wrong last row is seen');
  assert.equal(referenceRows({ ...big, seqLen: 64 }).length, big.batch * big.heads * 64, 'small shapes: every row');
});
