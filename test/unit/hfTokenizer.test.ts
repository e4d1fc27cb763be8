// tokenizer.json tokenizers of the Llama family (Llama 2: SentencePiece-style BPE with byte fallback;
// Llama 3 and Qwen3: byte-level BPE behind a Split pattern, Qwen3 with NFC) on their real files: ids equal
// to a second implementation (@lenml/tokenizers), UTF-16 ranges that cover the text, prefixes equal to the
// whole text's first tokens, and the post-processor's BOS as a token without a range.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ModelFileError } from '../../kernels/model/errors';
import { loadFolderTokenizer } from '../../kernels/model/modelFolder';
import { HfTokenizer } from '../../kernels/tokenizer/hfTokenizer';
import type { Token } from '../../kernels/tokenizer/textTokenizer';
import { boundaryRule, lastHardBoundary, tokenizePrefix } from '../../kernels/tokenizer/tokenizePrefix';
import { nodeFolderReader } from '../../node/folderReader';
import { tokenIndexAt } from '../../src/inspectSelection';
import { LLAMA_TOKENIZERS, llamaTokenizerDir, llamaTokenizerFiles, referenceTokenizer, referenceTokenizerOf, type LlamaTokenizerName } from '../support/llamaTokenizers';
import { randomText as randomTextOf } from '../support/randomText';
import { mulberry32 as random } from './tinyGpt2Folder';

const tokenizers = new Map<LlamaTokenizerName, HfTokenizer>();
function tokenizer(name: LlamaTokenizerName): HfTokenizer {
  let t = tokenizers.get(name);
  if (!t) {
    const { json, config } = llamaTokenizerFiles(name);
    t = HfTokenizer.fromFiles(json, config);
    tokenizers.set(name, t);
  }
  return t;
}

const SAMPLES = [
  'Hello world',
  'function add(a: number, b: number): number {\r\n  return a + b; // 12345678\r\n}\r\n',
  'def f(x):\n\tif x >= 10_000:\n\t\treturn "big"\n    return None\n\n\n',
  '日本語のテキスト、中文字符。Ελληνικά, русский, العربية, हिन्दी, 한국어',
  'emoji 👩‍👩‍👧 🎉👍🏽 flags 🇫🇷 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  'decomposed: cafe\u0301 e\u0301te\u0301 \u1100\u1161\u11a8 and composed: café été 각',
  '   leading and trailing spaces   ',
  "it's we'll THEY'RE don't",
  'a<|endoftext|>b <s> c </s> <|begin_of_text|> <|im_start|>user',
  'line one\rline two\r\nline three\u2028four\u0085five\ufeffsix\u00a0seven',
  'x',
  ' ',
  '\n',
];

/**
 * The ranges in order, each within the text, and the text spelled by them once each: neighbours may share
 * the character a cut falls in, and only whitespace (that a stripping special drops) may lie between them.
 */
function assertCovers(text: string, tokens: readonly Token[], what: string): void {
  let spelled = '';
  let lastStart = 0;
  let lastEnd = 0;
  for (const [i, t] of tokens.entries()) {
    assert.ok(t.start <= t.end && t.end <= text.length, `${what}: token ${i} [${t.start}, ${t.end})`);
    assert.ok(t.start >= lastStart && t.end >= lastEnd, `${what}: token ${i} out of order`);
    assert.equal(t.text, text.slice(t.start, t.end), `${what}: token ${i} text`);
    const gap = text.slice(lastEnd, Math.max(lastEnd, t.start));
    spelled += gap.trim() === '' ? gap : '\u0000';
    spelled += text.slice(Math.max(lastEnd, t.start), t.end);
    lastStart = t.start;
    lastEnd = Math.max(lastEnd, t.end);
  }
  spelled += text.slice(lastEnd).trim() === '' ? text.slice(lastEnd) : '\u0000';
  assert.equal(spelled, text, `${what}: the tokens cover the text`);
}

for (const name of LLAMA_TOKENIZERS) {
  test(`${name}: ids equal @lenml/tokenizers' (with the post-processor's specials) on code, scripts, emoji, CRLF, decomposed text`, () => {
    const tok = tokenizer(name);
    const reference = referenceTokenizer(name);
    for (const text of SAMPLES) {
      const ours = tokenizePrefix(tok, text, 1_000_000).tokens.map((t) => t.id);
      assert.deepEqual(ours, reference(text), `${name} ${JSON.stringify(text)}`);
    }
  });

  test(`${name}: every token's UTF-16 range is in order and the ranges cover the text`, () => {
    const tok = tokenizer(name);
    for (const text of SAMPLES) assertCovers(text, tok.encode(text), `${name} ${JSON.stringify(text)}`);
  });

  test(`${name}: a cut at the last hard boundary gives the whole text's first tokens (random texts)`, () => {
    const tok = tokenizer(name);
    const rule = boundaryRule(tok);
    assert.ok(rule, `${name} has a cut rule (${tok.cutRule})`);
    const next = random(name.length * 31);
    let cuts = 0;
    for (let n = 0; n < 40; n++) {
      const text = randomText(next, 20 + Math.floor(next() * 200));
      const full = tok.encode(text);
      for (let k = 0; k < 10; k++) {
        const at = 1 + Math.floor(next() * (text.length - 1));
        const cut = lastHardBoundary(text, at, tok.specialTokens, rule);
        if (cut === 0) continue;
        cuts++;
        const prefix = tok.encode(text.slice(0, cut));
        assert.deepEqual(prefix, full.slice(0, prefix.length), `${name} ${JSON.stringify(text)} cut at ${cut}`);
        assert.equal(prefix.at(-1)!.end, cut, 'the prefix ends on a token boundary of the whole text');
      }
    }
    assert.ok(cuts > 200, `${cuts} cuts checked`);
  });

  test(`${name}: tokenizePrefix of a long text holds the wanted tokens, equal to the whole text's first`, () => {
    const tok = tokenizer(name);
    const text = randomText(random(5), 8000);
    const full = tokenizePrefix(tok, text, Number.MAX_SAFE_INTEGER).tokens;
    for (const wanted of [1, 100, 1024]) {
      const r = tokenizePrefix(tok, text, wanted);
      assert.ok(r.tokens.length >= wanted && r.tokenizedChars < text.length, `${name}: ${r.tokens.length} tokens from ${r.tokenizedChars} chars`);
      assert.deepEqual(r.tokens, full.slice(0, r.tokens.length), `${name}, ${wanted} wanted`);
    }
  });
}

test('Llama 2: the BOS its post-processor adds is a token without a range; the prepended "▁" belongs to the first word', () => {
  const tok = tokenizer('llama2');
  assert.deepEqual(tok.addedAround, { before: [1], after: [] });
  const r = tokenizePrefix(tok, 'Hello world', 10);
  assert.deepEqual(r.tokens[0], { id: 1, text: '<s>', start: 0, end: 0 });
  assert.deepEqual(r.tokens.slice(1).map((t) => [t.text, t.start, t.end]), [['Hello', 0, 5], [' world', 5, 11]]);
});

test('Llama 2: byte-fallback pieces of one character all cover that character', () => {
  const tok = tokenizer('llama2');
  const text = 'a 🦙 b';
  const tokens = tok.encode(text);
  const pieces = tokens.filter((t) => /^<0x[0-9A-F]{2}>$/.test(tok.tokenText(t.id)));
  assert.ok(pieces.length >= 2, `byte pieces: ${tokens.map((t) => tok.tokenText(t.id)).join(' | ')}`);
  for (const p of pieces) assert.deepEqual([p.start, p.end, p.text], [2, 4, '🦙']);
  assertCovers(text, tokens, 'llama');
});

test('a SmolLM2-style tokenizer.json (single digits, then GPT-2\'s byte-level regex) on the embedded vocabulary: ids equal @lenml/tokenizers\', prefixes cut by the gpt2 rule', () => {
  const dir = 'media/models/tinycode-4l8h-1k';
  const vocab = JSON.parse(readFileSync(`${dir}/vocab.json`, 'utf8')) as Record<string, number>;
  const merges = readFileSync(`${dir}/merges.txt`, 'utf8').split('\n').slice(1).filter((l) => l !== '');
  const json = {
    version: '1.0',
    added_tokens: [{ id: vocab['<|endoftext|>'], content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }] },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges },
  };
  const config = { tokenizer_class: 'GPT2Tokenizer', eos_token: '<|endoftext|>', bos_token: '<|endoftext|>' };
  const tok = HfTokenizer.fromFiles(JSON.stringify(json), JSON.stringify(config));
  assert.equal(tok.cutRule, 'gpt2');
  const reference = referenceTokenizerOf(json, config);
  // Not U+0085/U+FEFF: the reference uses JavaScript's \s there, where the Rust tokenizers do not (see byteLevelBpe.ts).
  for (const text of SAMPLES.filter((t) => !/[\u0085\ufeff]/.test(t))) {
    assert.deepEqual(tokenizePrefix(tok, text, 1_000_000).tokens.map((t) => t.id), reference(text), JSON.stringify(text));
    assertCovers(text, tok.encode(text), JSON.stringify(text));
  }
  const text = randomText(random(11), 3000);
  const full = tok.encode(text);
  const r = tokenizePrefix(tok, text, 200);
  assert.ok(r.tokenizedChars < text.length && r.tokens.length >= 200);
  assert.deepEqual(r.tokens, full.slice(0, r.tokens.length));
});

test('hover lookup: every offset of the text finds a token that holds it, never one without a range', () => {
  const tok = tokenizer('llama2');
  const text = '中 a 🦙\n  b';
  const tokens = tokenizePrefix(tok, text, 100).tokens;
  assert.ok(tokens.filter((t) => t.start === t.end).length >= 2, 'the BOS and the prepended "▁" before 中 have no range');
  for (let offset = 0; offset < text.length; offset++) {
    const i = tokenIndexAt(tokens, offset);
    assert.ok(i >= 0 && tokens[i]!.start <= offset && offset < tokens[i]!.end, `offset ${offset}`);
  }
});

test('Qwen3 normalizes to NFC: a decomposed é is one token covering both code units; Llama 3 (no normalizer) keeps them apart', () => {
  const text = 'cafe\u0301';
  const qwen = tokenizer('qwen3').encode(text);
  assert.ok(tokenizer('qwen3').normalizesNfc);
  assert.equal(qwen.at(-1)!.end, 5);
  assert.ok(qwen.every((t) => t.end <= 3 || (t.start <= 3 && t.end === 5)), JSON.stringify(qwen));
  assert.deepEqual(tokenizer('qwen3').encode(text).map((t) => t.id), tokenizer('qwen3').encode('café').map((t) => t.id));
  assert.equal(tokenizer('llama3').normalizesNfc, false);
});

test('Llama 3 and Qwen3 add no specials around the text (their post-processor is ByteLevel); their EOS comes from tokenizer_config.json', () => {
  for (const name of ['llama3', 'qwen3'] as const) assert.deepEqual(tokenizer(name).addedAround, { before: [], after: [] });
  assert.equal(tokenizer('llama3').eosTokenId, 128001);
  assert.equal(tokenizer('qwen3').eosTokenId, 151645);
  assert.equal(tokenizer('llama2').eosTokenId, 2);
});

test('a model folder with only tokenizer.json + tokenizer_config.json loads through HfTokenizer', async () => {
  const { tokenizer: tok, file } = await loadFolderTokenizer(nodeFolderReader(llamaTokenizerDir('llama2')));
  assert.equal(file, 'tokenizer.json');
  assert.ok(tok instanceof HfTokenizer);
  assert.deepEqual(tokenizePrefix(tok, 'Hi', 4).tokens.map((t) => t.id), referenceTokenizer('llama2')('Hi'));
});

test('tokenizer.json files it cannot give offsets for are refused with a bad-tokenizer error naming the part', () => {
  const base = JSON.parse(llamaTokenizerFiles('qwen3').json) as Record<string, unknown>;
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...base, model: { type: 'WordPiece', vocab: {} } }, /BPE model/],
    [{ ...base, normalizer: { type: 'Lowercase' } }, /normalizer "Lowercase" is not supported/],
    [{ ...base, pre_tokenizer: { type: 'BertPreTokenizer' } }, /pre_tokenizer "BertPreTokenizer" is not supported/],
    [{ ...base, model: { ...(base.model as object), merges: 'not a list' } }, /merges list/],
    [{ ...base, pre_tokenizer: { type: 'Sequence', pretokenizers: 3 } }, /Sequence must list/],
  ];
  for (const [json, message] of cases) {
    assert.throws(() => HfTokenizer.fromFiles(JSON.stringify(json)), (e: unknown) => e instanceof ModelFileError && e.code === 'bad-tokenizer' && message.test(e.message), String(message));
  }
  assert.throws(() => HfTokenizer.fromFiles('{"model": '), (e: unknown) => e instanceof ModelFileError && e.code === 'bad-tokenizer');
  assert.throws(() => HfTokenizer.fromFiles(JSON.stringify(base), '[]'), (e: unknown) => e instanceof ModelFileError && e.file === 'tokenizer_config.json');
});

const FRAGMENTS = [
  'const', ' x', 'foo_bar', ' = ', '(', ')', '{', '}', ';', '=>', '0x1F', '123', '4567', '3.14', '"str"', "'s", "'LL", "'re", "don't", "'", '//', '+=',
  'ÄÖü', 'é', 'e\u0301', '\u0301', '😀', '👍🏽', '🦙', '𝔘', '中文字符', '。', '，', '١٢٣', '<s>', '</s>', '<|endoftext|>', '<|im_start|>', '<|end', '|>', '.\n', '!\r\n',
  'Hello', 'world', '▁', 'ﬁ',
];
const SPACES = [' ', '  ', '    ', '\t', '\n', '\r\n', '\r', '\n\n', '\u00a0', '\u3000'];

const randomText = (next: () => number, fragments: number) => randomTextOf(next, fragments, { words: FRAGMENTS, spaces: SPACES });
