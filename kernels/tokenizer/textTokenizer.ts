/** What the host, the CLI and the webview need of a tokenizer, whichever kind a model folder has. */

/** One token of an input text. */
export interface Token {
  id: number;
  /** The input text the token covers: `input.slice(start, end)`; a special token added around the text has its own text and no range. */
  text: string;
  /**
   * Its range in UTF-16 code units of the input. A token holding only part of a multi-byte character
   * covers that whole character, so neighbouring tokens may share a range. A token that stands for no
   * input (a BOS the post-processor adds, a "▁" the normalizer prepends) has start === end.
   */
  start: number;
  end: number;
}

/**
 * Where a text may be cut so that the tokens before the cut are the whole text's first tokens
 * (kernels/tokenizer/tokenizePrefix.ts says why each rule holds):
 * - `gpt2`: GPT-2's pre-tokenizer pattern (optionally after single-digit splitting);
 * - `llama3`: the Llama 3 / Qwen2 pre-tokenizer pattern (letters take one leading non-letter, digits run in groups);
 * - `spaces`: no pre-tokenizer pattern, spaces become "▁", and no vocabulary token has "▁" after another character (SentencePiece-style BPE, Llama 2);
 * - `whole`: none known, the whole text is tokenized.
 */
export type CutRule = 'gpt2' | 'llama3' | 'spaces' | 'whole';

export interface TextTokenizer {
  /** One more than the largest id (gaps included). */
  readonly vocabSize: number;
  /** The end-of-text id, when the tokenizer names one. */
  readonly eosTokenId: number | undefined;
  /** Texts matched literally in the input before the pre-tokenizer (added tokens). */
  readonly specialTokens: readonly string[];
  readonly cutRule: CutRule;
  /** Whether the text is NFC-normalized before it is cut into pieces. */
  readonly normalizesNfc: boolean;
  /** Ids the post-processor puts before and after the text's tokens, as Hugging Face's `tokenizer(text)` does (a BOS). */
  readonly addedAround: { readonly before: readonly number[]; readonly after: readonly number[] };
  /** The text's own tokens with their UTF-16 ranges (no post-processor specials). */
  encode(text: string): Token[];
  /** The text of a sequence of ids. */
  decode(ids: readonly number[]): string;
  /** A token as one printable line (escapes, `<0xNN>` for cut characters, `<unused N>` for unknown ids). */
  tokenText(id: number): string;
}

/** Tokens for `ids` that stand for no input text, placed at `at`. */
export function unplacedTokens(tokenizer: Pick<TextTokenizer, 'tokenText'>, ids: readonly number[], at: number): Token[] {
  return ids.map((id) => ({ id, text: tokenizer.tokenText(id), start: at, end: at }));
}
