// Selection rules and offset → position mapping of the Inspect command, CRLF and astral characters included.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseRange, isBlank, LineIndex, toTokenInfos, tokenIndexAt, truncateTokens } from '../../src/inspectSelection.js';

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

test('truncation names the limit that bites', () => {
  const toks = Array.from({ length: 10 }, (_, i) => i);
  assert.deepEqual(truncateTokens(toks, 20, 1024), { kept: toks });
  assert.deepEqual(truncateTokens(toks, 4, 1024).notice, { kind: 'truncated', tokens: 10, keptTokens: 4, limit: 'maxTokens' });
  assert.deepEqual(truncateTokens(toks, 40, 6).notice, { kind: 'truncated', tokens: 10, keptTokens: 6, limit: 'context' });
  assert.equal(truncateTokens(toks, 4, 6).kept.length, 4);
});

test('blank text and token lookup by offset', () => {
  assert.equal(isBlank(' \r\n\t '), true);
  assert.equal(isBlank(''), true);
  assert.equal(isBlank(' x '), false);
  const toks = [{ start: 0, end: 3 }, { start: 3, end: 4 }, { start: 4, end: 9 }];
  assert.deepEqual([0, 2, 3, 4, 8, 9, -1].map((o) => tokenIndexAt(toks, o)), [0, 0, 1, 2, 2, -1, -1]);
});
