/**
 * What text an inspection covers and how its tokens map onto the document: pure functions (no vscode),
 * so the rules — empty selection → current line, several → the first, too long → truncated — are tested
 * without an editor. Offsets are UTF-16 code units, as in VS Code's `TextDocument.offsetAt`.
 */
import type { SelectionNotice, TokenInfo } from '../protocol/inspector.js';
import type { PrefixTokens, TextSource } from '../kernels/tokenizer/tokenizePrefix.js';

export interface OffsetRange {
  start: number;
  end: number;
}

export interface Position {
  line: number;
  character: number;
}

/** Offset ↔ position of a document; `vscode.TextDocument` satisfies it through a thin adapter. */
export interface PositionMapper {
  positionAt(offset: number): Position;
}

export interface ChosenRange {
  range: OffsetRange;
  notices: SelectionNotice[];
}

/**
 * The range to inspect. `selections` are in the editor's order (the primary one first);
 * `lineAt(offset)` gives the line holding an offset (without its line break) and its number.
 */
export function chooseRange(selections: readonly OffsetRange[], lineAt: (offset: number) => OffsetRange & { line: number }): ChosenRange {
  const notices: SelectionNotice[] = [];
  const first = selections[0] ?? { start: 0, end: 0 };
  if (selections.length > 1) notices.push({ kind: 'firstOfSeveral', count: selections.length });
  if (first.start !== first.end) return { range: { start: Math.min(first.start, first.end), end: Math.max(first.start, first.end) }, notices };
  const line = lineAt(first.start);
  notices.push({ kind: 'currentLine', line: line.line });
  return { range: { start: line.start, end: line.end }, notices };
}

/** Characters of a text read at a time when looking for one that is not whitespace. */
const BLANK_SCAN_CHARS = 1 << 16;

/** True when there is nothing a model could read: empty or only whitespace. Reads a huge text in slices, stopping at the first non-blank one. */
export function isBlank(text: TextSource): boolean {
  for (let at = 0; at < text.length; at += BLANK_SCAN_CHARS) {
    if (/\S/.test(text.slice(at, Math.min(text.length, at + BLANK_SCAN_CHARS)))) return false;
  }
  return true;
}

export interface RawToken {
  id: number;
  text: string;
  start: number;
  end: number;
}

/** How many tokens an inspection keeps at most. */
export function tokenLimit(maxTokens: number, context: number): number {
  return Math.max(1, Math.min(maxTokens, context));
}

/**
 * Keeps at most `tokenLimit(maxTokens, context)` tokens of a text's tokenized prefix, saying so when
 * it cuts (or when the text goes on past the prefix): how many tokens and characters were kept, the
 * text's length, its token count when it was tokenized whole, and the limit that bites (the smaller;
 * `maxTokensIs` names what set maxTokens: the setting, or the memory budget when the user never set it).
 */
export function truncateTokens<T extends { end: number }>(
  prefix: PrefixTokens<T>,
  maxTokens: number,
  context: number,
  maxTokensIs: 'maxTokens' | 'memoryBudget' = 'maxTokens',
): { kept: T[]; notice?: SelectionNotice } {
  const limit = tokenLimit(maxTokens, context);
  const whole = prefix.tokenizedChars === prefix.totalChars;
  if (whole && prefix.tokens.length <= limit) return { kept: prefix.tokens.slice() };
  const kept = prefix.tokens.slice(0, limit);
  return {
    kept,
    notice: {
      kind: 'truncated',
      keptTokens: kept.length,
      limit: context <= maxTokens ? 'context' : maxTokensIs,
      inspectedChars: kept.at(-1)?.end ?? 0,
      totalChars: prefix.totalChars,
      ...(whole ? { tokens: prefix.tokens.length } : {}),
    },
  };
}

/** Token offsets (relative to the inspected text) → protocol tokens with editor positions. */
export function toTokenInfos(tokens: readonly RawToken[], baseOffset: number, doc: PositionMapper): TokenInfo[] {
  return tokens.map((t) => {
    const p = doc.positionAt(baseOffset + t.start);
    return { id: t.id, text: t.text, start: t.start, end: t.end, line: p.line, character: p.character };
  });
}

/** Document range (offsets) of a token. */
export function tokenDocumentRange(t: { start: number; end: number }, baseOffset: number): OffsetRange {
  return { start: baseOffset + t.start, end: baseOffset + t.end };
}

/** The token whose [start, end) holds `offset` (relative to the inspected text); binary search, -1 if none. */
export function tokenIndexAt(tokens: readonly { start: number; end: number }[], offset: number): number {
  let lo = 0;
  let hi = tokens.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const t = tokens[mid]!;
    if (offset < t.start) hi = mid - 1;
    else if (offset >= t.end) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** Lines of a text with VS Code's rules (\n, \r\n and lone \r all end a line): positionAt and lineAt for tests and the CLI. */
export class LineIndex implements PositionMapper {
  private readonly starts: number[] = [0];
  private readonly ends: number[] = [];

  constructor(private readonly text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 13 || c === 10) {
        this.ends.push(i);
        if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
        this.starts.push(i + 1);
      }
    }
    this.ends.push(text.length);
  }

  positionAt(offset: number): Position {
    const o = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: Math.min(o, this.ends[lo]!) - this.starts[lo]! };
  }

  lineAt(offset: number): OffsetRange & { line: number } {
    const { line } = this.positionAt(offset);
    return { line, start: this.starts[line]!, end: this.ends[line]! };
  }
}
