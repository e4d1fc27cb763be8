// The first tokens of a long text from a prefix: the same ids and ranges as tokenizing all of it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ByteLevelBpeTokenizer, type Token } from '../../kernels/tokenizer/byteLevelBpe';
import { lastHardBoundary, tokenizePrefix, type TextSource } from '../../kernels/tokenizer/tokenizePrefix';
import { randomText as randomTextOf } from '../support/randomText';
import { mulberry32 as random, tinyTokenizerJson } from './tinyGpt2Folder';

const MODEL = 'media/models/tinycode-4l8h-1k';
const vocab = JSON.parse(readFileSync(`${MODEL}/vocab.json`, 'utf8')) as Record<string, number>;
const merges = readFileSync(`${MODEL}/merges.txt`, 'utf8').split('\n').slice(1).filter((l) => l !== '');
const embedded = ByteLevelBpeTokenizer.fromVocabAndMerges(JSON.stringify(vocab), ['#version: 0.2', ...merges].join('\n'));

/** The embedded vocabulary with added tokens that hold whitespace, span character classes and overlap. */
const withAdded = (() => {
  const json = tinyTokenizerJson() as { added_tokens: object[]; model: object };
  const added = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  json.added_tokens = [added(vocab['<|endoftext|>']!, '<|endoftext|>'), added(5000, '\n\n'), added(5001, 'a<b'), added(5002, '<|end'), added(5003, "x 's")];
  json.model = { ...json.model, vocab, merges };
  return ByteLevelBpeTokenizer.fromTokenizerJson(JSON.stringify(json));
})();

const FRAGMENTS = [
  'const', ' x', 'foo_bar', ' = ', '(', ')', '{', '}', ';', '=>', '0x1F', '123', '3.14', '"str"', "'s", "'ll", "'re", "don't", "'", '//', '/*', '*/', '+=',
  'ÄÖü', 'é', 'e\u0301', '😀', '👍🏽', '𝔘', '中文字符', '。', '，', '١٢٣', '<|endoftext|>', '<|end', '|>', 'a<b', '<', 'b', "x 's", '\ud800', '\udc00',
];
const SPACES = [' ', '  ', '    ', '\t', '\n', '\r\n', '\r', '\n\n', '\u00a0', '\u0085', '\ufeff', '\u3000', '\u2028'];

const randomText = (next: () => number, fragments: number) => randomTextOf(next, fragments, { words: FRAGMENTS, spaces: SPACES });

/** What a prefix must be: the whole text's first tokens, ids and ranges alike. */
function assertLeading(prefix: readonly Token[], full: readonly Token[], what: string): void {
  assert.ok(prefix.length <= full.length, what);
  assert.deepEqual(prefix, full.slice(0, prefix.length), what);
}

for (const [name, tok] of [['embedded vocabulary', embedded], ['added tokens with whitespace and overlaps', withAdded]] as const) {
  test(`${name}: a cut at the last hard boundary before any position gives the whole text's first tokens (random texts)`, () => {
    const next = random(name.length);
    let cuts = 0;
    for (let n = 0; n < 120; n++) {
      const text = randomText(next, 20 + Math.floor(next() * 300));
      const full = tok.encode(text);
      for (let k = 0; k < 12; k++) {
        const at = 1 + Math.floor(next() * (text.length - 1));
        const cut = lastHardBoundary(text, at, tok.specialTokens);
        assert.ok(cut <= at);
        if (cut === 0) continue;
        cuts++;
        const prefix = tok.encode(text.slice(0, cut));
        assertLeading(prefix, full, `${JSON.stringify(text)} cut at ${cut}`);
        assert.equal(prefix.at(-1)!.end, cut, 'the prefix ends on a token boundary of the whole text');
      }
    }
    assert.ok(cuts > 1000, `${cuts} cuts checked`);
  });
}

test('tokenizePrefix on long random texts: at least the wanted tokens, all of them the whole text\'s first', () => {
  const next = random(7);
  for (let n = 0; n < 12; n++) {
    const text = randomText(next, 3000 + Math.floor(next() * 6000));
    const full = withAdded.encode(text);
    for (const wanted of [1, 100, 1024]) {
      const r = tokenizePrefix(withAdded, text, wanted);
      assertLeading(r.tokens, full, `text ${n}, ${wanted} wanted`);
      assert.ok(r.tokens.length >= Math.min(wanted, full.length));
      assert.equal(r.totalChars, text.length);
      if (r.tokenizedChars === text.length) assert.equal(r.tokens.length, full.length);
      else assert.ok(r.tokenizedChars < text.length && r.tokens.at(-1)!.end === r.tokenizedChars);
    }
  }
});

test('a text shorter than needed is tokenized whole, once', () => {
  const text = "const s = 'it's';\r\n  return 😀 + 中文;\n";
  const r = tokenizePrefix(embedded, text, 1024);
  assert.deepEqual(r, { tokens: embedded.encode(text), tokenizedChars: text.length, totalChars: text.length });
  assert.deepEqual(tokenizePrefix(embedded, '', 5), { tokens: [], tokenizedChars: 0, totalChars: 0 });
  const justEnough = 'x = 1;\n'.repeat(2000);
  const all = embedded.encode(justEnough);
  assert.deepEqual(tokenizePrefix(embedded, justEnough, all.length).tokens, all, 'exactly as many tokens as wanted');
});

test('a piece longer than the first guess: the prefix grows until a hard boundary past it', () => {
  const text = 'x = 1; ' + 'abcdefghij'.repeat(3000) + ' end(); '.repeat(500);
  const r = tokenizePrefix(embedded, text, 10);
  const full = embedded.encode(text);
  assertLeading(r.tokens, full, 'long piece');
  assert.ok(r.tokenizedChars >= 7 + 30000 && r.tokenizedChars < text.length, `${r.tokenizedChars} chars`);
  const spaces = ' '.repeat(50000) + 'x';
  assert.deepEqual(tokenizePrefix(embedded, spaces, 3).tokens, embedded.encode(spaces), 'whitespace has no hard boundary: all of it');
});

test('a 1 MB line of minified code without spaces: 1024 tokens from a few KB, equal to the whole line\'s first', () => {
  const next = random(3);
  const parts = ['a', 'b', 'fn', 'x1', '=', '(', ')', '{', '}', ';', '+', '.', ',', '"s"', '0', '42', '=>', '[', ']', '!', '&&', '?', ':'];
  let line = '';
  while (line.length < 1_000_000) line += parts[Math.floor(next() * parts.length)];
  const r = tokenizePrefix(embedded, line, 1024);
  assert.ok(r.tokens.length >= 1024);
  assert.ok(r.tokenizedChars < 16_384, `${r.tokenizedChars} chars tokenized`);
  assertLeading(r.tokens, embedded.encode(line), '1 MB line');
});

test('a source read in slices: only a bounded head is read, and a slice one short at a CRLF changes nothing', () => {
  const text = 'let a = 1;\r\n'.repeat(200_000);
  const head = embedded.encode(text.slice(0, 100_000));
  let furthest = 0;
  const source: TextSource = {
    length: text.length,
    slice(start, end) {
      furthest = Math.max(furthest, end);
      // An editor's position cannot fall between \r and \n: the slice stops before the \r.
      const stop = text[end - 1] === '\r' && text[end] === '\n' ? end - 1 : end;
      return text.slice(start, stop);
    },
  };
  for (const wanted of [1, 513, 1024]) {
    const r = tokenizePrefix(embedded, source, wanted);
    assert.ok(r.tokens.length >= wanted && r.totalChars === text.length);
    assertLeading(r.tokens, head.slice(0, r.tokens.length), `${wanted} wanted`);
  }
  assert.ok(furthest <= 32_768, `read up to ${furthest} of ${text.length}`);
});
