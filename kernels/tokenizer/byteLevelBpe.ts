import { Tokenizer } from '@huggingface/tokenizers';
import { ModelFileError, isJsonObject, parseJsonText } from '../model/errors';
import { BYTE_TO_CHAR, tokenStringBytes } from './byteMap';
import type { CutRule, TextTokenizer, Token } from './textTokenizer';
import { printableTokenText, utf8Layout } from './utf8';

export type { Token } from './textTokenizer';

/** Largest token id accepted; real vocabularies stay far below it. */
const MAX_TOKEN_ID = (1 << 24) - 1;

const END_OF_TEXT = '<|endoftext|>';

/**
 * GPT-2's pre-tokenizer pattern, given as a Split pattern rather than through the library's ByteLevel
 * `use_regex`: the library translates a Split pattern's `\s` to Unicode White_Space, as the Rust
 * tokenizers (Oniguruma) and Python's `regex` read it, whereas its built-in ByteLevel regex uses
 * JavaScript's `\s`, which wrongly includes U+FEFF and misses U+0085.
 */
export const GPT2_SPLIT = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

interface Vocabulary {
  vocab: Map<string, number>;
  merges: [string, string][];
  /** Tokens matched literally in the input before BPE (Hugging Face "added tokens"). */
  special: Map<string, number>;
}

/**
 * GPT-2 byte-level BPE (GPT-2's pre-tokenizer regex, no prefix space), giving for each token its
 * range in the input's UTF-16 code units. The ids come from `@huggingface/tokenizers`; the ranges
 * are computed here from each token's bytes.
 *
 * Special tokens: `<|endoftext|>` (when the vocabulary has it) and, from a tokenizer.json, every
 * entry of `added_tokens` are matched where they are typed in the text and become their single
 * id — as Hugging Face tokenizers do (OpenAI's original encoder would split them into pieces).
 */
export class ByteLevelBpeTokenizer implements TextTokenizer {
  /** One more than the largest id (gaps included). */
  readonly vocabSize: number;
  /** Id of `<|endoftext|>`, when the vocabulary has it. */
  readonly eosTokenId: number | undefined;
  /** Texts matched literally in the input before the pre-tokenizer (`<|endoftext|>`, added tokens). */
  readonly specialTokens: readonly string[];
  readonly cutRule: CutRule = 'gpt2';
  readonly normalizesNfc = false;
  /** GPT-2's tokenizer adds nothing around the text. */
  readonly addedAround = { before: [], after: [] };

  private readonly engine: Tokenizer;
  private readonly idBytes: (Uint8Array | undefined)[];
  private readonly specialIds: Set<number>;

  private constructor(v: Vocabulary, file: string) {
    this.idBytes = [];
    for (const [token, id] of v.vocab) this.idBytes[id] = tokenStringBytes(token);
    for (const [content, id] of v.special) this.idBytes[id] = new TextEncoder().encode(content);
    this.vocabSize = this.idBytes.length;
    this.specialIds = new Set(v.special.values());
    this.specialTokens = [...v.special.keys()];
    this.eosTokenId = v.special.get(END_OF_TEXT) ?? v.vocab.get(END_OF_TEXT);
    try {
      this.engine = new Tokenizer(
        {
          model: { type: 'BPE', vocab: Object.fromEntries(v.vocab), merges: v.merges, unk_token: null },
          normalizer: null,
          pre_tokenizer: {
            type: 'Sequence',
            pretokenizers: [
              { type: 'Split', pattern: { Regex: GPT2_SPLIT }, behavior: 'Isolated', invert: false },
              { type: 'ByteLevel', add_prefix_space: false, use_regex: false, trim_offsets: false },
            ],
          },
          post_processor: null,
          decoder: null, // decode() works on the bytes directly
          added_tokens: [...v.special].map(([content, id]) => ({
            id,
            content,
            special: true,
            single_word: false,
            lstrip: false,
            rstrip: false,
            normalized: false,
          })),
        },
        {},
      );
    } catch (e) {
      throw new ModelFileError('bad-tokenizer', file, `could not be loaded (${(e as Error).message})`);
    }
  }

  /** From GPT-2's `vocab.json` (token → id) and `merges.txt` (one "left right" pair per line, by rank). */
  static fromVocabAndMerges(vocabJson: string, mergesTxt: string): ByteLevelBpeTokenizer {
    const vocab = parseVocab(parseJsonText(vocabJson, 'vocab.json', 'bad-tokenizer'), 'vocab.json');
    const merges = parseMergesText(mergesTxt);
    checkMerges(merges, vocab, 'merges.txt');
    const special = new Map<string, number>();
    const eos = vocab.get(END_OF_TEXT);
    if (eos !== undefined) special.set(END_OF_TEXT, eos);
    return new ByteLevelBpeTokenizer({ vocab, merges, special }, 'vocab.json');
  }

  /** From a Hugging Face `tokenizer.json` holding a byte-level BPE model (GPT-2 style, no normalizer). */
  static fromTokenizerJson(json: string): ByteLevelBpeTokenizer {
    const file = 'tokenizer.json';
    const bad = (detail: string): never => {
      throw new ModelFileError('bad-tokenizer', file, detail);
    };
    const root = parseJsonText(json, file, 'bad-tokenizer');
    if (!isJsonObject(root)) bad('must hold a JSON object');
    const r = root as Record<string, unknown>;
    const model = r.model;
    if (!isJsonObject(model) || (model.type !== undefined && model.type !== 'BPE')) bad('model must be a BPE model');
    const m = model as Record<string, unknown>;
    for (const key of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
      if (m[key] !== undefined && m[key] !== null && m[key] !== '') bad(`model.${key} is not supported by byte-level BPE`);
    }
    if (m.byte_fallback === true) bad('model.byte_fallback is not supported by byte-level BPE');
    if (m.dropout !== undefined && m.dropout !== null && m.dropout !== 0) bad('model.dropout is not supported');
    if (r.normalizer !== undefined && r.normalizer !== null) bad('a normalizer is not supported (GPT-2 has none)');
    const pre = r.pre_tokenizer;
    if (!isJsonObject(pre) || pre.type !== 'ByteLevel' || pre.add_prefix_space === true || pre.use_regex === false) {
      bad('pre_tokenizer must be ByteLevel with add_prefix_space false (GPT-2\'s)');
    }
    const vocab = parseVocab(m.vocab, file);
    if (!Array.isArray(m.merges)) bad('model.merges must be a list');
    const merges = (m.merges as unknown[]).map((x, i): [string, string] => {
      if (typeof x === 'string') return splitMerge(x, i + 1, file);
      if (Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && typeof x[1] === 'string') return [x[0], x[1]];
      return bad(`merge ${i + 1} must be "left right" or [left, right]`);
    });
    checkMerges(merges, vocab, file);
    const special = new Map<string, number>();
    const added = r.added_tokens ?? [];
    if (!Array.isArray(added)) bad('added_tokens must be a list');
    const tokenOfId = new Map([...vocab].map(([token, id]) => [id, token]));
    const usedSpecialIds = new Set<number>();
    for (const t of added as unknown[]) {
      if (!isJsonObject(t) || typeof t.content !== 'string' || t.content === '' || !isTokenId(t.id)) {
        bad('each added token needs a non-empty content and an integer id');
      }
      const tok = t as { content: string; id: number };
      const owner = tokenOfId.get(tok.id);
      if ((owner !== undefined && owner !== tok.content) || special.has(tok.content) || usedSpecialIds.has(tok.id)) {
        bad(`added token ${JSON.stringify(tok.content).slice(0, 40)} has id ${tok.id}, which another token already has`);
      }
      special.set(tok.content, tok.id);
      usedSpecialIds.add(tok.id);
    }
    return new ByteLevelBpeTokenizer({ vocab, merges, special }, file);
  }

  /** Splits `text` into tokens with their UTF-16 ranges. */
  encode(text: string): Token[] {
    if (text.length === 0) return [];
    const ids = this.engine.encode(text, { add_special_tokens: false }).ids;
    const layout = utf8Layout(text);
    const tokens: Token[] = [];
    let b = 0;
    for (const id of ids) {
      const bytes = this.idBytes[id];
      if (bytes === undefined || b + bytes.length > layout.bytes.length) throw new Error(`tokenizer produced an unknown or misplaced id ${id}`);
      for (let k = 0; k < bytes.length; k++) {
        if (layout.bytes[b + k] !== bytes[k]) throw new Error(`tokenizer output does not spell the input at byte ${b + k}`);
      }
      const start = bytes.length > 0 ? layout.charStart[b] : b < layout.bytes.length ? layout.charStart[b] : text.length;
      const end = bytes.length > 0 ? layout.charEnd[b + bytes.length - 1] : start;
      tokens.push({ id, text: text.slice(start, end), start, end });
      b += bytes.length;
    }
    if (b !== layout.bytes.length) throw new Error('tokenizer output does not cover the whole input');
    return tokens;
  }

  /** The text of a sequence of ids (bytes that do not form UTF-8 become U+FFFD; unknown ids too). */
  decode(ids: readonly number[]): string {
    const parts = ids.map((id) => this.idBytes[id] ?? REPLACEMENT);
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    return new TextDecoder().decode(all);
  }

  /**
   * A token as one printable line, for lists of predictions: its text with `\n`, `\r`, `\t` and other
   * control characters escaped, bytes of a cut multi-byte character as `<0xNN>`, unknown ids as `<unused N>`.
   */
  tokenText(id: number): string {
    const bytes = this.idBytes[id];
    if (bytes === undefined) return `<unused ${id}>`;
    if (this.specialIds.has(id)) return new TextDecoder().decode(bytes);
    return printableTokenText(bytes);
  }

  /** The raw bytes a token stands for (undefined for an unused id). */
  tokenBytes(id: number): Uint8Array | undefined {
    return this.idBytes[id];
  }
}

const REPLACEMENT = new Uint8Array([0xef, 0xbf, 0xbd]);

function isTokenId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_TOKEN_ID;
}

function parseVocab(json: unknown, file: string): Map<string, number> {
  if (!isJsonObject(json)) throw new ModelFileError('bad-tokenizer', file, 'must hold the vocabulary as a JSON object of token → id');
  const vocab = new Map<string, number>();
  const seen = new Set<number>();
  for (const [token, id] of Object.entries(json)) {
    if (token === '' || !isTokenId(id)) {
      throw new ModelFileError('bad-tokenizer', file, `entry ${JSON.stringify(token).slice(0, 40)} needs a non-empty token and an integer id from 0 to ${MAX_TOKEN_ID}`);
    }
    if (seen.has(id)) throw new ModelFileError('bad-tokenizer', file, `id ${id} is given to two tokens`);
    seen.add(id);
    vocab.set(token, id);
  }
  for (let b = 0; b < 256; b++) {
    if (!vocab.has(BYTE_TO_CHAR[b])) {
      throw new ModelFileError('bad-tokenizer', file, `lacks the token of byte 0x${b.toString(16).padStart(2, '0')}, so some text could not be encoded`);
    }
  }
  return vocab;
}

function parseMergesText(text: string): [string, string][] {
  const lines = text.split(/\r?\n/);
  const first = lines[0]?.startsWith('#version') ? 1 : 0;
  const merges: [string, string][] = [];
  for (let i = first; i < lines.length; i++) {
    if (lines[i] !== '') merges.push(splitMerge(lines[i], i + 1, 'merges.txt'));
  }
  return merges;
}

function splitMerge(line: string, where: number, file: string): [string, string] {
  const parts = line.split(' ');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
    throw new ModelFileError('bad-tokenizer', file, `merge ${where} must be two tokens separated by one space, not ${JSON.stringify(line.slice(0, 40))}`);
  }
  return [parts[0], parts[1]];
}

/** Every merge's parts and result must be tokens of the vocabulary (as Hugging Face tokenizers require). */
function checkMerges(merges: readonly [string, string][], vocab: ReadonlyMap<string, number>, file: string): void {
  merges.forEach(([a, b], i) => {
    for (const t of [a, b, a + b]) {
      if (!vocab.has(t)) throw new ModelFileError('bad-tokenizer', file, `merge ${i + 1} ("${a} ${b}") uses "${t.slice(0, 40)}", which is not in the vocabulary`);
    }
  });
}
