/**
 * What text an inspection covers and how its tokens map onto the document: pure functions (no vscode),
 * so the rules — empty selection → current line, several → the first, too long → truncated — are tested
 * without an editor. Offsets are UTF-16 code units, as in VS Code's `TextDocument.offsetAt`.
 */
import type { SelectionNotice, TokenInfo } from '../protocol/inspector.js';

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

/** True when there is nothing a model could read: empty or only whitespace. */
export function isBlank(text: string): boolean {
  return text.trim().length === 0;
}

export interface RawToken {
  id: number;
  text: string;
  start: number;
  end: number;
}

/**
 * Keeps at most min(maxTokens, context) tokens, saying so when it cuts.
 * The limit that bites (the smaller) is the one named in the notice.
 */
export function truncateTokens<T>(tokens: readonly T[], maxTokens: number, context: number): { kept: T[]; notice?: SelectionNotice } {
  const limit = Math.max(1, Math.min(maxTokens, context));
  if (tokens.length <= limit) return { kept: tokens.slice() };
  return {
    kept: tokens.slice(0, limit),
    notice: { kind: 'truncated', tokens: tokens.length, keptTokens: limit, limit: context <= maxTokens ? 'context' : 'maxTokens' },
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
