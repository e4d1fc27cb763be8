/**
 * The first tokens of a long text without tokenizing all of it.
 *
 * A tokenizer first cuts out special tokens, then splits the rest into pieces (its pre-tokenizer), and BPE
 * encodes each piece on its own. So the tokens of a prefix that ends on a piece boundary which the whole
 * text has too are exactly the whole text's first tokens. Which boundaries are "hard" (the same in any
 * text that goes on after them) depends on the tokenizer's cut rule (textTokenizer.ts); in all of them
 * no special token may lie across the boundary.
 * - `gpt2`, between two characters of different classes (letter, number, whitespace, other), the first
 *   not whitespace and not an apostrophe: every alternative of GPT-2's pattern runs over characters of
 *   one class (after an optional leading space), so no piece holds both characters, and a piece ending
 *   there read the second character only to stop, as it stops at the end of the text; a whitespace run
 *   ending there would be cut by `\s+(?!\S)` according to what follows, hence the first character is not
 *   whitespace; an apostrophe could begin a contraction (`'s`) across it. Splitting digits first (SmolLM2)
 *   only adds boundaries inside number runs.
 * - `llama3`, as `gpt2` except where the Llama 3 / Qwen pattern joins classes: a letter run takes one
 *   leading character that is not a letter, number or line break (`[^\r\n\p{L}\p{N}]?\p{L}+`), and a run
 *   of other characters takes the line breaks after it (` ?[^\s\p{L}\p{N}]+[\r\n]*`); so "other → letter"
 *   and "other → line break" are not hard.
 * - `spaces` (SentencePiece-style BPE over the whole text, spaces as "▁"), before a space (or a typed "▁")
 *   that follows a character other than these: a token holding both would have "▁" after another character, and the
 *   tokenizer was accepted for this rule only because its vocabulary has no such token (hfTokenizer.ts),
 *   so no merge ever joins the two sides and BPE of the whole is BPE of each side.
 * - With NFC normalization, not before a combining mark, which NFC could join to the character before it.
 * - `whole`: none known; the whole text is tokenized.
 * The prefix starts at a few characters per wanted token and doubles until it holds enough tokens.
 * Specials the post-processor adds (a BOS) are placed as Hugging Face's `tokenizer(text)` places them:
 * those before the text at offset 0 without a range, those after it only when the whole text was tokenized.
 */
import { unplacedTokens, type CutRule, type TextTokenizer, type Token } from './textTokenizer.js';

/** What of a tokenizer this needs: every TextTokenizer satisfies it. */
export type PrefixTokenizer = Pick<TextTokenizer, 'encode' | 'specialTokens' | 'cutRule' | 'normalizesNfc' | 'addedAround' | 'tokenText'>;

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
  const before = unplacedTokens(tokenizer, tokenizer.addedAround.before, 0);
  const { tokens, tokenizedChars, totalChars } = textPrefix(tokenizer, typeof source === 'string' ? stringSource(source) : source, wanted - before.length);
  const after = tokenizedChars === totalChars ? unplacedTokens(tokenizer, tokenizer.addedAround.after, tokenizedChars) : [];
  return { tokens: before.length + after.length === 0 ? tokens : [...before, ...tokens, ...after], tokenizedChars, totalChars };
}

/** The text's own tokens (no post-processor specials) of a prefix holding at least `wanted` of them. */
function textPrefix(tokenizer: PrefixTokenizer, text: TextSource, wanted: number): PrefixTokens {
  const rule = boundaryRule(tokenizer);
  const specials = tokenizer.specialTokens.filter((s) => s.length > 1);
  // Characters read beyond a candidate cut: a surrogate pair's second half, or a special token across it.
  const lookahead = Math.max(2, ...specials.map((s) => s.length));
  for (let size = Math.max(MIN_PREFIX_CHARS, wanted * CHARS_PER_TOKEN); ; size *= 2) {
    if (!rule || size + lookahead >= text.length) {
      const all = text.slice(0, text.length);
      return { tokens: tokenizer.encode(all), tokenizedChars: all.length, totalChars: text.length };
    }
    const head = text.slice(0, size + lookahead);
    const cut = lastHardBoundary(head, head.length - lookahead, specials, rule);
    if (cut > 0) {
      const tokens = tokenizer.encode(head.slice(0, cut));
      if (tokens.length >= wanted) return { tokens, tokenizedChars: cut, totalChars: text.length };
    }
  }
}

function stringSource(s: string): TextSource {
  return { length: s.length, slice: (start, end) => s.slice(start, end) };
}

/** Whether a cut between the characters before and after it is a hard boundary (before the specials check). */
export type BoundaryRule = (text: string, b: number) => boolean;

export function boundaryRule(t: Pick<TextTokenizer, 'cutRule' | 'normalizesNfc'>): BoundaryRule | undefined {
  const rule = RULES[t.cutRule];
  if (!rule || !t.normalizesNfc) return rule;
  return (text, b) => !MARK.test(codePointAt(text, b)) && rule(text, b);
}

/** The last hard boundary at or before `limit` (0 when there is none); `text` holds `lookahead` more characters. */
export function lastHardBoundary(text: string, limit: number, specials: readonly string[], rule: BoundaryRule = RULES.gpt2!): number {
  for (let b = limit; b > 0; b--) if (rule(text, b) && !specials.some((s) => spans(text, b, s))) return b;
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

const MARK = /^\p{M}$/u;
const LINE_BREAK = /^[\r\n]$/;

/** The code point at `i` (both halves of a surrogate pair; a lone half as itself). */
function codePointAt(text: string, i: number): string {
  return isHigh(text.charCodeAt(i)) && isLow(text.charCodeAt(i + 1)) ? text.slice(i, i + 2) : text[i]!;
}
/** The code point that ends just before `b`. */
function codePointBefore(text: string, b: number): string {
  return isLow(text.charCodeAt(b - 1)) && b >= 2 && isHigh(text.charCodeAt(b - 2)) ? text.slice(b - 2, b) : text[b - 1]!;
}

/** GPT-2's rule; a cut inside a surrogate pair sees two halves of class other, the same class: never hard. */
function gpt2Boundary(text: string, b: number): boolean {
  if (text.charCodeAt(b - 1) === 0x27) return false; // an apostrophe may begin a contraction: 's 't 're 've 'm 'll 'd
  const before = classOf(codePointBefore(text, b));
  if (before === 'space') return false;
  return before !== classOf(codePointAt(text, b));
}

function llama3Boundary(text: string, b: number): boolean {
  if (!gpt2Boundary(text, b)) return false;
  if (classOf(codePointBefore(text, b)) !== 'other') return true;
  const after = codePointAt(text, b);
  return classOf(after) !== 'letter' && !LINE_BREAK.test(after);
}

/** A "▁" typed in the text is a space to the model. */
const isMetaSpace = (c: number) => c === 0x20 || c === 0x2581;

function spacesBoundary(text: string, b: number): boolean {
  return isMetaSpace(text.charCodeAt(b)) && !isMetaSpace(text.charCodeAt(b - 1));
}

const RULES: Record<CutRule, BoundaryRule | undefined> = { gpt2: gpt2Boundary, llama3: llama3Boundary, spaces: spacesBoundary, whole: undefined };

/** Whether an occurrence of `special` in `text` starts before `b` and ends after it. */
function spans(text: string, b: number, special: string): boolean {
  for (let i = Math.max(0, b - special.length + 1); i < b; i++) if (text.startsWith(special, i)) return true;
  return false;
}
