/**
 * The first tokens of a long text without tokenizing all of it.
 *
 * GPT-2's tokenizer first cuts out special tokens, then splits the rest into pieces with its
 * pre-tokenizer pattern, and BPE encodes each piece on its own. So the tokens of a prefix that ends on
 * a piece boundary which the whole text has too are exactly the whole text's first tokens. A boundary
 * the pattern cannot see across ("hard") is one between two characters of different classes (letter,
 * number, whitespace, other), the first not whitespace and not an apostrophe, no special token across it:
 * - every alternative of the pattern runs over characters of one class (after an optional leading
 *   space), so no piece holds both characters, and a piece ending there read the second character only
 *   to stop, as it stops at the end of the text;
 * - a whitespace run ending there would be cut by `\s+(?!\S)` according to what follows, hence the
 *   first character is not whitespace; an apostrophe could begin a contraction (`'s`) across it.
 * The prefix starts at a few characters per wanted token and doubles until it holds enough tokens.
 */
import type { Token } from './byteLevelBpe.js';

/** What of a tokenizer this needs: `ByteLevelBpeTokenizer` satisfies it. */
export interface PrefixTokenizer {
  encode(text: string): Token[];
  /** Texts matched literally before the pre-tokenizer runs. */
  readonly specialTokens: readonly string[];
}

/**
 * A text read in slices, so that a huge editor selection is never copied whole. `slice` may be one
 * code unit short at an end that falls inside a CRLF (editors do not split one).
 */
export interface TextSource {
  readonly length: number;
  slice(start: number, end: number): string;
}

export interface PrefixTokens<T = Token> {
  /** The tokens of the text's first `tokenizedChars` code units: the same ids and ranges as the whole text's first tokens. */
  tokens: T[];
  tokenizedChars: number;
  totalChars: number;
}

/** First guess of the prefix length, in characters per wanted token (GPT-2 averages about 4 on code). */
const CHARS_PER_TOKEN = 8;
const MIN_PREFIX_CHARS = 1024;

/** At least the first `wanted` tokens of `source` (all of them when it has fewer), tokenizing as little as it can. */
export function tokenizePrefix(tokenizer: PrefixTokenizer, source: TextSource | string, wanted: number): PrefixTokens {
  const text = typeof source === 'string' ? stringSource(source) : source;
  const specials = tokenizer.specialTokens.filter((s) => s.length > 1);
  // Characters read beyond a candidate cut: a surrogate pair's second half, or a special token across it.
  const lookahead = Math.max(2, ...specials.map((s) => s.length));
  for (let size = Math.max(MIN_PREFIX_CHARS, wanted * CHARS_PER_TOKEN); ; size *= 2) {
    if (size + lookahead >= text.length) {
      const all = text.slice(0, text.length);
      return { tokens: tokenizer.encode(all), tokenizedChars: all.length, totalChars: text.length };
    }
    const head = text.slice(0, size + lookahead);
    const cut = lastHardBoundary(head, head.length - lookahead, specials);
    if (cut > 0) {
      const tokens = tokenizer.encode(head.slice(0, cut));
      if (tokens.length >= wanted) return { tokens, tokenizedChars: cut, totalChars: text.length };
    }
  }
}

function stringSource(s: string): TextSource {
  return { length: s.length, slice: (start, end) => s.slice(start, end) };
}

/** The last hard boundary at or before `limit` (0 when there is none); `text` holds `lookahead` more characters. */
export function lastHardBoundary(text: string, limit: number, specials: readonly string[]): number {
  for (let b = limit; b > 0; b--) if (isHardBoundary(text, b, specials)) return b;
  return 0;
}

type CharClass = 'space' | 'letter' | 'number' | 'other';

const SPACE = /^\p{White_Space}$/u;
const LETTER = /^\p{L}$/u;
const NUMBER = /^\p{N}$/u;

/** The class of a code point as the pre-tokenizer's `\s`, `\p{L}`, `\p{N}` see it (Unicode White_Space, as the tokenizer reads `\s`). */
function classOf(codePoint: string): CharClass {
  if (SPACE.test(codePoint)) return 'space';
  if (LETTER.test(codePoint)) return 'letter';
  if (NUMBER.test(codePoint)) return 'number';
  return 'other';
}

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** A cut inside a surrogate pair sees two halves of class other, the same class: never hard. */
function isHardBoundary(text: string, b: number, specials: readonly string[]): boolean {
  const prev = text.charCodeAt(b - 1);
  const next = text.charCodeAt(b);
  if (prev === 0x27) return false; // an apostrophe may begin a contraction: 's 't 're 've 'm 'll 'd
  const before = classOf(isLow(prev) && b >= 2 && isHigh(text.charCodeAt(b - 2)) ? text.slice(b - 2, b) : text[b - 1]!);
  if (before === 'space') return false;
  const after = classOf(isHigh(next) && isLow(text.charCodeAt(b + 1)) ? text.slice(b, b + 2) : text[b]!);
  if (before === after) return false;
  return !specials.some((s) => spans(text, b, s));
}

/** Whether an occurrence of `special` in `text` starts before `b` and ends after it. */
function spans(text: string, b: number, special: string): boolean {
  for (let i = Math.max(0, b - special.length + 1); i < b; i++) if (text.startsWith(special, i)) return true;
  return false;
}
