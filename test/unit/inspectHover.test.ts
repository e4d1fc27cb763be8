// Editor hover wording and the compact per-token summary the panel posts for it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hoverMarkdown, OUT_OF_DATE_MARKDOWN, visibleToken } from '../../src/hoverText.js';
import type { TokenInfo } from '../../protocol/inspector.js';
import { findStrongestKeys, hoverSummary, strongestKeysOf, type StrongestKeys } from '../../webview/inspector/hoverSummary.js';

const tokens: TokenInfo[] = ['def', ' f', '(', 'x', ')', ':\n'].map((text, i) => ({ id: 100 + i, text, start: i * 2, end: i * 2 + text.length, line: 0, character: i * 2 }));

/** One layer, two heads, T = 6: head 0 previous-token, head 1 first-token. */
function attention(): Float32Array {
  const T = 6;
  const a = new Float32Array(2 * T * T);
  for (let i = 0; i < T; i++) {
    a[i * T + Math.max(0, i - 1)] = i === 0 ? 1 : 0.8;
    if (i > 0) a[i * T + i] = 0.2;
    a[T * T + i * T] = i === 0 ? 1 : 0.9;
    if (i > 0) a[T * T + i * T + i] = 0.1;
  }
  return a;
}

/** What the panel keeps of the layer for the hovers (its maps are dropped). */
function strongest(a: Float32Array): StrongestKeys[] {
  const s = strongestKeysOf(2, 6);
  for (let h = 0; h < 2; h++) findStrongestKeys(a.subarray(h * 36, (h + 1) * 36), 6, h, s);
  return [s];
}

test('summary: attended tokens of the chosen head, strongest heads, loss of predicting the token, next-token guesses', () => {
  const a = attention();
  const loss = Float32Array.from([1.5, 2.5, 0.5, 3, 0.25, NaN]);
  const top = Array.from({ length: 6 }, () => ({ ids: [7, 8], probs: [0.6, 0.3] }));
  const s = hoverSummary({ strongest: strongest(a), H: 2, T: 6, layer: 0, head: 0, chosen: a.subarray(0, 36), loss, top, tokenText: (id) => `t${id}`, k: 2 });
  assert.equal(s.tokens.length, 6);
  assert.deepEqual(s.tokens[3]!.attends, [{ index: 2, weight: Math.fround(0.8) }, { index: 3, weight: Math.fround(0.2) }]);
  assert.deepEqual(s.tokens[3]!.heads.map((h) => [h.head, h.index]), [[1, 0], [0, 2]]);
  assert.equal(s.tokens[3]!.loss, 0.5, 'loss of token 3 is nll[2]');
  assert.equal(s.tokens[0]!.loss, undefined);
  assert.deepEqual(s.tokens[0]!.heads, [], 'the first token has nothing earlier to attend to');
  assert.deepEqual(s.tokens[5]!.predictions, [{ text: 't7', p: 0.6 }, { text: 't8', p: 0.3 }]);
});

test('hover markdown names token, id, position, attention, heads and loss; whitespace shown', () => {
  const a = attention();
  const s = hoverSummary({ strongest: strongest(a), H: 2, T: 6, layer: 0, head: 0, chosen: a.subarray(0, 36), loss: new Float32Array(6).fill(1), top: [], tokenText: String, k: 2 });
  const md = hoverMarkdown({ tokens, index: 1, layer: 0, head: 0, summary: s.tokens[1], modelLabel: 'tiny' });
  assert.match(md, /token `·f` id 101, position 1 of 6 \(line 1, col 3\)/);
  assert.match(md, /Loss 1\.00 nats/);
  assert.match(md, /Attends most to \(L0H0\): `def` #0 0\.800/);
  assert.match(md, /Strongest heads: L0H1 → `def` 0\.90/);
  assert.equal(visibleToken(':\n\t`'), '`:↵→ˋ`');
  assert.match(hoverMarkdown({ tokens, index: 0, layer: 0, head: -1, modelLabel: 'tiny' }), /still being computed/);
  assert.match(OUT_OF_DATE_MARKDOWN, /out of date/);
});

test('with an ablated run, the summary carries its loss and guesses and the hover says them before → after', () => {
  const a = attention();
  const loss = Float32Array.from([1.5, 2.5, 0.5, 3, 0.25, NaN]);
  const after = Float32Array.from([1.75, 2.5, 4.5, 3, 0.25, NaN]);
  const top = Array.from({ length: 6 }, () => ({ ids: [7, 8], probs: [0.6, 0.3] }));
  const topAfter = Array.from({ length: 6 }, () => ({ ids: [8, 7], probs: [0.4, 0.35] }));
  const ablated = { ablation: { heads: ['0.1'], mode: 'zero' as const }, loss: after, top: topAfter };
  const s = hoverSummary({ strongest: strongest(a), H: 2, T: 6, layer: 0, head: 0, chosen: a.subarray(0, 36), loss, top, tokenText: (id) => `t${id}`, k: 2, ablated });
  assert.deepEqual(s.ablation, { heads: ['0.1'], mode: 'zero' });
  assert.equal(s.tokens[3]!.ablated!.loss, 4.5, 'ablated loss of token 3 is its nll[2]');
  assert.equal(s.tokens[0]!.ablated!.loss, undefined);
  const md = hoverMarkdown({ tokens, index: 3, layer: 0, head: 0, summary: s.tokens[3], modelLabel: 'tiny', ablation: s.ablation });
  assert.match(md, /With heads 0\.1 zero-ablated:/);
  assert.match(md, /loss 0\.50 → 4\.50 nats \(Δ \+4\.00\)/);
  assert.match(md, /top guess `t7` 0\.60 → `t8` 0\.40/);
  const clean = hoverSummary({ strongest: strongest(a), H: 2, T: 6, layer: 0, head: 0, chosen: a.subarray(0, 36), loss, top, tokenText: (id) => `t${id}`, k: 2 });
  assert.equal(clean.ablation, undefined);
  assert.doesNotMatch(hoverMarkdown({ tokens, index: 3, layer: 0, head: 0, summary: clean.tokens[3], modelLabel: 'tiny' }), /ablated/);
});
