// Selection rules and offset → position mapping of the Inspect command, CRLF and astral characters included.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ByteLevelBpeTokenizer } from '../../kernels/tokenizer/byteLevelBpe.js';
import { tokenizePrefix, type TextSource } from '../../kernels/tokenizer/tokenizePrefix.js';
import { noticeText } from '../../webview/inspector/notices.js';
import { chooseRange, isBlank, LineIndex, tokenLimit, toTokenInfos, tokenIndexAt, truncateTokens } from '../../src/inspectSelection.js';

const crlf = 'const a = 1;\r\nlet b = "é😀";\r\n\r\nreturn a;';

test('LineIndex maps offsets in a CRLF text like VS Code', () => {
  const idx = new LineIndex(crlf);
  assert.deepEqual(idx.positionAt(0), { line: 0, character: 0 });
  assert.deepEqual(idx.positionAt(12), { line: 0, character: 12 });
  assert.deepEqual(idx.positionAt(13), { line: 0, character: 12 }, 'inside \\r\\n clamps to the line end');
  assert.deepEqual(idx.positionAt(14), { line: 1, character: 0 });
  const ret = crlf.indexOf('return');
  assert.deepEqual(idx.positionAt(ret), { line: 3, character: 0 });
  assert.deepEqual(idx.lineAt(ret + 2), { line: 3, start: ret, end: crlf.length });
  assert.deepEqual(idx.lineAt(crlf.indexOf('\r\n\r\n') + 2), { line: 2, start: crlf.indexOf('\r\n\r\n') + 2, end: crlf.indexOf('\r\n\r\n') + 2 });
  assert.deepEqual(new LineIndex('a\rb\nc').positionAt(4), { line: 2, character: 0 });
});

test('tokens of a selection map to document positions (selection starting mid-document, CRLF)', () => {
  const idx = new LineIndex(crlf);
  const base = crlf.indexOf('b = ');
  const text = crlf.slice(base, crlf.indexOf('return') + 6);
  const emoji = text.indexOf('😀');
  const toks = [
    { id: 1, text: 'b', start: 0, end: 1 },
    { id: 2, text: '😀', start: emoji, end: emoji + 2 },
    { id: 3, text: 'return', start: text.indexOf('return'), end: text.indexOf('return') + 6 },
  ];
  const infos = toTokenInfos(toks, base, idx);
  assert.deepEqual(infos.map((t) => [t.line, t.character]), [[1, 4], [1, 10], [3, 0]]);
  assert.equal(crlf.slice(base + toks[1]!.start, base + toks[1]!.end), '😀');
});

test('empty selection → current line, said; several → the first, said', () => {
  const idx = new LineIndex(crlf);
  const at = crlf.indexOf('b =');
  const r = chooseRange([{ start: at, end: at }], (o) => idx.lineAt(o));
  assert.deepEqual(r.range, { start: 14, end: crlf.indexOf('\r\n', 14) });
  assert.deepEqual(r.notices, [{ kind: 'currentLine', line: 1 }]);
  const m = chooseRange([{ start: 5, end: 2 }, { start: 20, end: 25 }], (o) => idx.lineAt(o));
  assert.deepEqual(m.range, { start: 2, end: 5 });
  assert.deepEqual(m.notices, [{ kind: 'firstOfSeveral', count: 2 }]);
});

/** A text read in slices, recording how far it was read. */
function slices(text: string): TextSource & { furthest: number } {
  const s = { length: text.length, furthest: 0, slice: (start: number, end: number) => ((s.furthest = Math.max(s.furthest, end)), text.slice(start, end)) };
  return s;
}

test('truncation names the limit that bites, how many characters were inspected, and the total when known', () => {
  const toks = Array.from({ length: 10 }, (_, i) => ({ end: i + 1 }));
  const whole = { tokens: toks, tokenizedChars: 10, totalChars: 10 };
  assert.deepEqual(truncateTokens(whole, 20, 1024), { kept: toks });
  assert.deepEqual(truncateTokens(whole, 4, 1024).notice, { kind: 'truncated', tokens: 10, keptTokens: 4, limit: 'maxTokens', inspectedChars: 4, totalChars: 10 });
  assert.deepEqual(truncateTokens(whole, 40, 6).notice, { kind: 'truncated', tokens: 10, keptTokens: 6, limit: 'context', inspectedChars: 6, totalChars: 10 });
  assert.equal(truncateTokens(whole, 4, 6).kept.length, 4);
  // maxTokens set by the memory budget (the user never set it) is named so; the context still wins when smaller.
  assert.deepEqual(truncateTokens(whole, 4, 1024, 'memoryBudget').notice, { kind: 'truncated', tokens: 10, keptTokens: 4, limit: 'memoryBudget', inspectedChars: 4, totalChars: 10 });
  assert.deepEqual(truncateTokens(whole, 40, 6, 'memoryBudget').notice, { kind: 'truncated', tokens: 10, keptTokens: 6, limit: 'context', inspectedChars: 6, totalChars: 10 });
  const head = { tokens: toks, tokenizedChars: 10, totalChars: 24_000_000 };
  assert.deepEqual(truncateTokens(head, 4, 1024).notice, { kind: 'truncated', keptTokens: 4, limit: 'maxTokens', inspectedChars: 4, totalChars: 24_000_000 }, 'a text tokenized only in part has no total');
  assert.equal(noticeText(truncateTokens(head, 4, 1024).notice!), 'Truncated: only the first 4 tokens are inspected (the attentionInspector.maxTokens setting): the first 4 of 24,000,000 characters; the rest was not tokenized.');
  assert.equal(noticeText(truncateTokens(whole, 40, 6).notice!), "Truncated: the text has 10 tokens; only the first 6 are inspected (the model's context length): the first 6 of 10 characters.");
  assert.equal(tokenLimit(512, 1024), 512);
  assert.equal(tokenLimit(4096, 1024), 1024);
});

test('a 20 MB selection: 512 tokens from a bounded head, the notice says how much of it was inspected', () => {
  const model = 'media/models/tinycode-4l8h-1k';
  const tok = ByteLevelBpeTokenizer.fromVocabAndMerges(readFileSync(`${model}/vocab.json`, 'utf8'), readFileSync(`${model}/merges.txt`, 'utf8'));
  const line = readFileSync('samples/attention.ts', 'utf8').replace(/\s*\n\s*/g, ' ');
  const text = line.repeat(Math.ceil(20_000_000 / line.length));
  const source = slices(text);
  assert.equal(isBlank(source), false);
  const { kept, notice } = truncateTokens(tokenizePrefix(tok, source, tokenLimit(512, 1024)), 512, 1024);
  assert.deepEqual(kept, tok.encode(text.slice(0, 20_000)).slice(0, 512));
  assert.deepEqual(notice, { kind: 'truncated', keptTokens: 512, limit: 'maxTokens', inspectedChars: kept[511]!.end, totalChars: text.length });
  assert.ok(source.furthest < 65_536 * 2, `read ${source.furthest} characters of ${text.length}`);
});

test('blank text and token lookup by offset', () => {
  const blank = (s: string) => isBlank(slices(s));
  assert.equal(blank(' \r\n\t '), true);
  assert.equal(blank(''), true);
  assert.equal(blank(' x '), false);
  assert.equal(blank(' '.repeat(300_000)), true);
  assert.equal(blank(' '.repeat(300_000) + 'x'), false);
  const early = slices('x' + ' '.repeat(20_000_000));
  assert.equal(isBlank(early), false);
  assert.ok(early.furthest <= 65_536, 'stops at the first slice with text');
  const toks = [{ start: 0, end: 3 }, { start: 3, end: 4 }, { start: 4, end: 9 }];
  assert.deepEqual([0, 2, 3, 4, 8, 9, -1].map((o) => tokenIndexAt(toks, o)), [0, 0, 1, 2, 2, -1, -1]);
});
