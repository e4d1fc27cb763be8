import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ModelFileError } from '../../kernels/model/errors';
import { ByteLevelBpeTokenizer, type Token } from '../../kernels/tokenizer/byteLevelBpe';
import { tinyTokenizerJson } from './tinyGpt2Folder';

const MODEL = 'media/models/tinycode-4l8h-1k';
const fixture = JSON.parse(readFileSync('test/fixtures/tokenizer/cases.json', 'utf8')) as {
  cases: { name: string; text: string; ids: number[] }[];
  synthetic: { vocab: Record<string, number>; merges: string[]; cases: { name: string; text: string; ids: number[] }[] };
};
const embedded = ByteLevelBpeTokenizer.fromVocabAndMerges(
  readFileSync(`${MODEL}/vocab.json`, 'utf8'),
  readFileSync(`${MODEL}/merges.txt`, 'utf8'),
);
const utf8 = (s: string) => new TextEncoder().encode(s);

/** The offsets contract: byte spans tile the input, each range covers its bytes, ranges are monotone. */
function checkOffsets(tok: ByteLevelBpeTokenizer, text: string, tokens: Token[]): void {
  const input = utf8(text);
  let byte = 0;
  let prev: Token | undefined;
  for (const t of tokens) {
    const bytes = tok.tokenBytes(t.id)!;
    assert.deepEqual(input.subarray(byte, byte + bytes.length), bytes, `token ${t.id} spells the input at byte ${byte}`);
    assert.ok(t.start < t.end && t.end <= text.length);
    assert.equal(t.text, text.slice(t.start, t.end));
    const sliceStart = utf8(text.slice(0, t.start)).length;
    const sliceEnd = utf8(text.slice(0, t.end)).length;
    assert.ok(sliceStart <= byte && byte + bytes.length <= sliceEnd, `token ${t.id} lies inside its range`);
    if (prev) {
      // Monotone without gaps; a token may start inside the previous one's range only by sharing a character.
      assert.ok(prev.start <= t.start && t.start <= prev.end && prev.end <= t.end, 'ranges are monotone');
    } else {
      assert.equal(t.start, 0);
    }
    byte += bytes.length;
    prev = t;
  }
  assert.equal(byte, input.length, 'token bytes cover the whole input');
  if (prev) assert.equal(prev.end, text.length);
}

for (const c of fixture.cases) {
  test(`embedded model, ${c.name}: ids equal the Python reference; offsets are exact`, () => {
    const tokens = embedded.encode(c.text);
    assert.deepEqual(tokens.map((t) => t.id), c.ids);
    checkOffsets(embedded, c.text, tokens);
    assert.equal(embedded.decode(c.ids), c.text);
  });
}

test('synthetic vocabulary: the split treats U+FEFF and U+0085 as Unicode does, not as JavaScript\'s \\s', () => {
  const s = fixture.synthetic;
  const tok = ByteLevelBpeTokenizer.fromVocabAndMerges(JSON.stringify(s.vocab), ['#version: 0.2', ...s.merges].join('\n'));
  for (const c of s.cases) {
    const tokens = tok.encode(c.text);
    assert.deepEqual(tokens.map((t) => t.id), c.ids, c.name);
    checkOffsets(tok, c.text, tokens);
  }
});

test('a multi-byte character split over several tokens maps every piece to the whole character', () => {
  const text = 'a👨‍👩‍👧b';
  const tokens = embedded.encode(text);
  checkOffsets(embedded, text, tokens);
  const man = tokens.filter((t) => t.text === '👨');
  assert.ok(man.length > 1, 'the emoji is several byte tokens in this vocabulary');
  for (const t of man) assert.deepEqual([t.start, t.end], [1, 3]);
});

test('<|endoftext|> typed in the text is the special token (as Hugging Face does); a partial one is plain text', () => {
  const text = 'x<|endoftext|>y <|endoftext';
  const tokens = embedded.encode(text);
  const eos = tokens.filter((t) => t.id === embedded.eosTokenId);
  assert.equal(eos.length, 1);
  assert.deepEqual([eos[0].start, eos[0].end, eos[0].text], [1, 14, '<|endoftext|>']);
  assert.equal(embedded.eosTokenId, 4095);
  assert.equal(embedded.tokenText(4095), '<|endoftext|>');
  checkOffsets(embedded, text, tokens);
});

test('lone surrogates become U+FFFD bytes and keep one code unit each', () => {
  const text = 'a\ud800b\udc00';
  const tokens = embedded.encode(text);
  checkOffsetsLoose(tokens, text);
  assert.equal(embedded.decode(tokens.map((t) => t.id)), 'a\ufffdb\ufffd');
});

function checkOffsetsLoose(tokens: Token[], text: string): void {
  assert.equal(tokens[0].start, 0);
  assert.equal(tokens.at(-1)!.end, text.length);
  for (let i = 1; i < tokens.length; i++) assert.ok(tokens[i].start >= tokens[i - 1].start && tokens[i].end >= tokens[i - 1].end);
}

test('empty text, vocabulary size, printable token text, decode of unknown ids', () => {
  assert.deepEqual(embedded.encode(''), []);
  assert.equal(embedded.vocabSize, 4096);
  assert.equal(embedded.tokenText(198), '\\n');
  assert.equal(embedded.tokenText(197), '\\t');
  assert.equal(embedded.tokenText(220), ' ');
  assert.equal(embedded.tokenText(127), '<0xC3>'); // the lead byte of a two-byte character, alone
  assert.equal(embedded.tokenText(99999), '<unused 99999>');
  assert.equal(embedded.decode([71, 99999]), 'h\ufffd');
});

test('tokenizer.json gives the same ids as vocab.json + merges.txt (both merge notations)', () => {
  const json = tinyTokenizerJson() as { model: { merges: unknown[]; vocab: Record<string, number> } };
  const fromJson = ByteLevelBpeTokenizer.fromTokenizerJson(JSON.stringify(json));
  const fromPairs = ByteLevelBpeTokenizer.fromTokenizerJson(
    JSON.stringify({ ...json, model: { ...json.model, merges: (json.model.merges as string[]).map((m) => m.split(' ')) } }),
  );
  const fromFiles = ByteLevelBpeTokenizer.fromVocabAndMerges(JSON.stringify(json.model.vocab), (json.model.merges as string[]).join('\n'));
  for (const text of ['the thin then  in<|endoftext|>é', fixture.cases[0].text]) {
    const ids = fromFiles.encode(text).map((t) => t.id);
    assert.deepEqual(fromJson.encode(text).map((t) => t.id), ids);
    assert.deepEqual(fromPairs.encode(text).map((t) => t.id), ids);
  }
  assert.equal(fromJson.eosTokenId, json.model.vocab['<|endoftext|>']);
});

test('the embedded vocabulary as a GPT-2-style tokenizer.json gives the reference ids too', () => {
  const vocab = JSON.parse(readFileSync(`${MODEL}/vocab.json`, 'utf8')) as Record<string, number>;
  const merges = readFileSync(`${MODEL}/merges.txt`, 'utf8').split('\n').slice(1).filter((l) => l !== '');
  const json = tinyTokenizerJson() as { added_tokens: { id: number }[]; model: object };
  json.added_tokens[0].id = vocab['<|endoftext|>'];
  json.model = { ...json.model, vocab, merges };
  const tok = ByteLevelBpeTokenizer.fromTokenizerJson(JSON.stringify(json));
  for (const c of fixture.cases) assert.deepEqual(tok.encode(c.text).map((t) => t.id), c.ids, c.name);
});

test('broken tokenizer files are bad-tokenizer errors naming the file', () => {
  const vocab = tinyTokenizerJson() as { model: { vocab: Record<string, number> } };
  const v = vocab.model.vocab;
  const bad = (fn: () => unknown, file: string, pattern: RegExp) => {
    assert.throws(fn, (e) => e instanceof ModelFileError && e.code === 'bad-tokenizer' && e.file === file && pattern.test(e.message));
  };
  bad(() => ByteLevelBpeTokenizer.fromVocabAndMerges('{', ''), 'vocab.json', /not valid JSON/);
  bad(() => ByteLevelBpeTokenizer.fromVocabAndMerges('[]', ''), 'vocab.json', /JSON object/);
  bad(() => ByteLevelBpeTokenizer.fromVocabAndMerges(JSON.stringify({ ...v, x: -1 }), ''), 'vocab.json', /integer id/);
  bad(() => ByteLevelBpeTokenizer.fromVocabAndMerges(JSON.stringify({ ...v, zz: 3 }), ''), 'vocab.json', /id 3 is given to two tokens/);
  const noA = { ...v };
  delete noA.a;
  bad(() => ByteLevelBpeTokenizer.fromVocabAndMerges(JSON.stringify(noA), ''), 'vocab.json', /byte 0x61/);
  bad(() => ByteLevelBpeTokenizer.fromVocabAndMerges(JSON.stringify(v), 'a b c'), 'merges.txt', /merge 1/);
  bad(() => ByteLevelBpeTokenizer.fromVocabAndMerges(JSON.stringify(v), '#version: 0.2\nx y'), 'merges.txt', /merge 1 \("x y"\) uses "xy"/);
  const tj = (patch: object) => () => ByteLevelBpeTokenizer.fromTokenizerJson(JSON.stringify({ ...vocab, ...patch }));
  bad(tj({ model: { type: 'WordPiece', vocab: v } }), 'tokenizer.json', /BPE/);
  bad(tj({ normalizer: { type: 'NFC' } }), 'tokenizer.json', /normalizer/);
  bad(tj({ pre_tokenizer: { type: 'Metaspace' } }), 'tokenizer.json', /ByteLevel/);
  bad(tj({ pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true } }), 'tokenizer.json', /add_prefix_space/);
  bad(tj({ added_tokens: [{ id: 'x', content: 'y' }] }), 'tokenizer.json', /added token/);
  bad(tj({ added_tokens: [{ id: 3, content: '<|x|>' }] }), 'tokenizer.json', /id 3, which another token already has/);
  bad(tj({ added_tokens: [{ id: 300, content: '<|x|>' }, { id: 300, content: '<|y|>' }] }), 'tokenizer.json', /id 300/);
  bad(() => ByteLevelBpeTokenizer.fromTokenizerJson('nope'), 'tokenizer.json', /not valid JSON/);
});
