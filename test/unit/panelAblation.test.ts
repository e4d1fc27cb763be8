// The panel's head-ablation arithmetic (webview/inspector/headAblation.ts) against plain re-implementations:
// Δloss, mean loss, total-variation change scores (0 up to the first ablated layer), marks, the export.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ablatedTokensJson, changeScores, HeadMarks, meanLossOfTokens, totalVariationSum, type AblatedRun } from '../../webview/inspector/headAblation.js';
import { tokenLossDelta } from '../../webview/inspector/deltaScale.js';
import type { DigestSource } from '../../webview/inspector/layerDigest.js';

/** A random row-stochastic causal (H, T, T) tensor per layer. */
function maps(L: number, H: number, T: number, seed: number): Float32Array[] {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: L }, () => {
    const m = new Float32Array(H * T * T);
    for (let h = 0; h < H; h++)
      for (let i = 0; i < T; i++) {
        let sum = 0;
        for (let j = 0; j <= i; j++) sum += m[(h * T + i) * T + j] = rand();
        for (let j = 0; j <= i; j++) m[(h * T + i) * T + j]! /= sum;
      }
    return m;
  });
}

const source = (m: Float32Array[], H: number, T: number) => (l: number): DigestSource => ({
  H,
  T,
  headRows: async (h, first, count) => m[l]!.slice((h * T + first) * T, (h * T + first + count) * T),
  between: async () => undefined,
});

test('change scores: mean over rows of ½·Σ|p − p′|, 0 at and before the first ablated layer', async () => {
  const [L, H, T] = [3, 2, 300];
  const a = maps(L, H, T, 1);
  const b = maps(L, H, T, 2);
  const into = new Float32Array(L * H).fill(NaN);
  const done: number[] = [];
  await changeScores(L, 0, source(a, H, T), source(b, H, T), into, (l) => done.push(l));
  assert.deepEqual(done, [0, 1, 2]);
  for (let l = 0; l < L; l++)
    for (let h = 0; h < H; h++) {
      let want = 0;
      if (l > 0) for (let i = 0; i < T * T; i++) want += Math.abs(a[l]![h * T * T + i]! - b[l]![h * T * T + i]!) / 2 / T;
      assert.ok(Math.abs(into[l * H + h]! - want) < 1e-5, `L${l}H${h}: ${into[l * H + h]} vs ${want}`);
    }
  assert.equal(totalVariationSum(Float32Array.from([1, 0, 0, 1]), Float32Array.from([0, 1, 0, 1]), 2, 2), 1);
});

test('Δloss, mean loss of tokens, marks in layer order, the export names before and after', () => {
  const clean = Float32Array.from([1, 2, 3, NaN]);
  const after = Float32Array.from([1.5, 2, 5, NaN]);
  assert.deepEqual(tokenLossDelta(after, clean), [undefined, 0.5, 0, 2]);
  assert.equal(meanLossOfTokens(clean), 2);
  assert.equal(meanLossOfTokens(after, 2, 4), 3.5, 'tokens 2 and 3: loss[1], loss[2]');
  const marks = new HeadMarks();
  marks.toggle({ layer: 3, head: 2 });
  marks.toggle({ layer: 2, head: 2 });
  marks.toggle({ layer: 3, head: 1 });
  assert.equal(marks.toggle({ layer: 0, head: 0 }), true);
  assert.equal(marks.toggle({ layer: 0, head: 0 }), false);
  assert.deepEqual(marks.list(), [{ layer: 2, head: 2 }, { layer: 3, head: 1 }, { layer: 3, head: 2 }]);
  const top = Array.from({ length: 4 }, () => ({ ids: [5], probs: [0.5] }));
  const run: AblatedRun = { heads: marks.list(), mode: 'mean', loss: after, top, change: new Float32Array(0) };
  const tokens = [0, 1, 2, 3].map((i) => ({ id: i, text: `t${i}`, start: i, end: i + 1, line: 0, character: i }));
  const json = ablatedTokensJson(run, { loss: clean, top }, tokens, (id) => `w${id}`, 'tiny', 'wasm') as { ablation: unknown; tokens: { loss: number | null; lossBefore: number | null; top: unknown }[] };
  assert.deepEqual(json.ablation, { heads: ['2.2', '3.1', '3.2'], mode: 'mean' });
  assert.deepEqual(json.tokens.map((t) => [t.lossBefore, t.loss]), [[null, null], [1, 1.5], [2, 2], [3, 5]]);
  assert.deepEqual(json.tokens[1]!.top, [{ id: 5, text: 'w5', p: 0.5 }]);
});
