/**
 * A Hugging Face `tokenizer.json` (+ `tokenizer_config.json`) of the kinds Llama-family models ship:
 * byte-level BPE behind a Split pattern (Llama 3, Qwen2/3, SmolLM2) and SentencePiece-style BPE with
 * "▁" for spaces and byte fallback (Llama 2, TinyLlama). The ids come from `@huggingface/tokenizers`;
 * each token's UTF-16 range in the input is computed here from the bytes the token spells, laid against
 * the input's bytes after the normalizer (NFC, or spaces as "▁" and a prepended "▁").
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { ModelFileError, isJsonObject, parseJsonText } from '../model/errors';
import { GPT2_SPLIT } from './byteLevelBpe';
import { tokenStringBytes } from './byteMap';
import type { CutRule, TextTokenizer, Token } from './textTokenizer';
import { nfcLayout, printableTokenText, utf8Layout, type Utf8Layout } from './utf8';

const FILE = 'tokenizer.json';
const CONFIG_FILE = 'tokenizer_config.json';
const METASPACE = '▁';
/** Text every accepted tokenizer must spell back: letters, spaces, a line break, digits, an accent, CJK, an emoji. */
const PROBE = 'the cat\n  é 123 中文 👍 in';

/** The pre-tokenizer patterns of Llama 3 (digits in threes) and Qwen2/3 (single digits). */
const LLAMA3_SPLITS = new Set([
  String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
  String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
]);

type Json = Record<string, unknown>;

interface Shape {
  /** Tokens spell bytes through GPT-2's byte map (else: their UTF-8, `<0xNN>` as one byte). */
  byteLevel: boolean;
  /** Spaces become "▁" before the model sees them (SentencePiece style). */
  spacesAsMeta: boolean;
  /** A "▁" is put before the text (and may be before the text after an added token) that the input does not have. */
  prependsSpace: boolean;
  nfc: boolean;
  cutRule: CutRule;
  /** The tokenizer.json handed to the library (GPT-2's ByteLevel regex given as a Split pattern, see byteLevelBpe.ts). */
  engineJson: Json;
}

export class HfTokenizer implements TextTokenizer {
  readonly vocabSize: number;
  readonly eosTokenId: number | undefined;
  readonly specialTokens: readonly string[];
  readonly cutRule: CutRule;
  readonly normalizesNfc: boolean;
  readonly addedAround: { before: number[]; after: number[] };

  private readonly engine: Tokenizer;
  private readonly idBytes: (Uint8Array | undefined)[] = [];
  private readonly addedIds = new Set<number>();
  /** Added tokens that swallow whitespace beside them (lstrip/rstrip), so the input has bytes no token spells. */
  private readonly stripping = new Set<number>();
  private readonly byteLevel: boolean;
  private readonly prependsSpace: boolean;
  private readonly spacesAsMeta: boolean;

  private constructor(root: Json, config: Json, shape: Shape) {
    this.spacesAsMeta = shape.spacesAsMeta;
    this.byteLevel = shape.byteLevel;
    this.prependsSpace = shape.prependsSpace;
    this.cutRule = shape.cutRule;
    this.normalizesNfc = shape.nfc;
    try {
      this.engine = new Tokenizer(shape.engineJson, config);
    } catch (e) {
      throw new ModelFileError('bad-tokenizer', FILE, `could not be loaded (${(e as Error).message})`);
    }
    const model = root.model as Json;
    const byteFallback = model.byte_fallback === true;
    for (const [token, id] of this.engine.get_vocab(false)) this.idBytes[id] = this.surfaceBytes(token, byteFallback);
    for (const [id, t] of this.engine.get_added_tokens_decoder()) {
      this.idBytes[id] = new TextEncoder().encode(t.content);
      this.addedIds.add(id);
      if (t.lstrip || t.rstrip) this.stripping.add(id);
    }
    this.vocabSize = this.idBytes.length;
    this.specialTokens = [...this.engine.get_added_tokens_decoder().values()].map((t) => t.content);
    this.eosTokenId = tokenOf(config.eos_token, this.engine);
    this.addedAround = this.postProcessorSpecials();
    // A file whose parts do not fit together (a byte-level vocabulary without the ByteLevel pre-tokenizer)
    // gives ids that do not spell the text: refused here rather than at the first inspection.
    this.encode(PROBE);
  }

  /** From a tokenizer.json's text and, when the folder has one, tokenizer_config.json's. */
  static fromFiles(tokenizerJson: string, configJson?: string): HfTokenizer {
    return HfTokenizer.fromParsed(parseJsonText(tokenizerJson, FILE, 'bad-tokenizer'), configJson);
  }

  /** From a tokenizer.json already parsed (the loader looks at it first: one parse of a file of megabytes). */
  static fromParsed(root: unknown, configJson?: string): HfTokenizer {
    if (!isJsonObject(root)) throw bad('must hold a JSON object');
    const config = configJson === undefined ? {} : parseJsonText(configJson, CONFIG_FILE, 'bad-tokenizer');
    if (!isJsonObject(config)) throw new ModelFileError('bad-tokenizer', CONFIG_FILE, 'must hold a JSON object');
    return new HfTokenizer(root, config, shapeOf(root));
  }

  encode(text: string): Token[] {
    if (text.length === 0) return [];
    const ids = this.engine.encode(text, { add_special_tokens: false }).ids;
    return this.place(text, ids);
  }

  decode(ids: readonly number[]): string {
    return this.engine.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  tokenText(id: number): string {
    const bytes = this.idBytes[id];
    if (bytes === undefined) return `<unused ${id}>`;
    if (this.addedIds.has(id)) return new TextDecoder().decode(bytes);
    return printableTokenText(bytes);
  }

  /**
   * Lays each token's bytes against the normalized input's bytes (NFC; spaces as "▁", which keeps every
   * UTF-16 offset). Bytes no token spells are allowed only where the tokenizer drops them: whitespace beside
   * a stripping added token. At the start of the text (or of the text after an added token) a token's
   * leading "▁" may be the one the normalizer prepends, which the input lacks: the token starts after it.
   */
  private place(text: string, ids: readonly number[]): Token[] {
    const layout: Utf8Layout = this.normalizesNfc ? nfcLayout(text) : utf8Layout(this.spacesAsMeta ? text.replaceAll(' ', METASPACE) : text);
    const input = layout.bytes;
    let b = 0;
    /** Steps over whitespace a stripping added token dropped, up to where `next` (the next token's bytes) begins. */
    const skipSpaces = (next?: Uint8Array) => {
      while (b < input.length && WHITESPACE.test(text[layout.charStart[b]!]!) && !(next && startsAt(input, b, next))) b++;
    };
    const tokens: Token[] = [];
    let prevStrips = false;
    let segmentStart = true;
    for (const id of ids) {
      let bytes = this.idBytes[id];
      if (bytes === undefined) throw bad(`gives id ${id}, which is in neither its vocabulary nor its added tokens`);
      const added = this.addedIds.has(id);
      if (prevStrips || this.stripping.has(id)) skipSpaces(bytes);
      if (segmentStart && !added && this.prependsSpace && startsWithMeta(bytes) && startsAt(input, b, bytes.subarray(META_BYTES.length))) {
        bytes = bytes.subarray(META_BYTES.length);
      }
      if (!startsAt(input, b, bytes)) throw bad(`gives tokens that do not spell the text (token ${id} at UTF-8 byte ${b}); are its normalizer, pre-tokenizer and vocabulary of one tokenizer?`);
      segmentStart = added || (segmentStart && bytes.length === 0);
      const start = b < input.length ? layout.charStart[b]! : text.length;
      const end = bytes.length > 0 ? layout.charEnd[b + bytes.length - 1]! : start;
      tokens.push({ id, text: text.slice(start, end), start, end });
      b += bytes.length;
      prevStrips = this.stripping.has(id);
    }
    if (prevStrips) skipSpaces();
    if (b !== input.length) throw bad(`gives tokens that stop at UTF-8 byte ${b} of ${input.length} of the text`);
    return tokens;
  }

  /** What a vocabulary string spells: bytes through GPT-2's map, or its UTF-8 with `<0xNN>` as one byte. */
  private surfaceBytes(token: string, byteFallback: boolean): Uint8Array {
    if (this.byteLevel) return tokenStringBytes(token);
    const fallback = byteFallback ? /^<0x([0-9A-F]{2})>$/.exec(token) : null;
    if (fallback) return Uint8Array.of(parseInt(fallback[1]!, 16));
    return new TextEncoder().encode(token);
  }

  /** The specials the post-processor adds around any text, read off the library's own encoding of a probe. */
  private postProcessorSpecials(): { before: number[]; after: number[] } {
    const probe = 'a';
    const plain = this.engine.encode(probe, { add_special_tokens: false }).ids;
    const full = this.engine.encode(probe, { add_special_tokens: true }).ids;
    for (let i = 0; i + plain.length <= full.length; i++) {
      if (plain.every((id, k) => full[i + k] === id)) return { before: full.slice(0, i), after: full.slice(i + plain.length) };
    }
    throw bad('has a post-processor that changes the text\'s own tokens, which is not supported');
  }
}

function bad(detail: string): ModelFileError {
  return new ModelFileError('bad-tokenizer', FILE, detail);
}

const WHITESPACE = /^\s$/;
const META_BYTES = new TextEncoder().encode(METASPACE);

function startsWithMeta(bytes: Uint8Array): boolean {
  return startsAt(bytes, 0, META_BYTES);
}

function startsAt(input: Uint8Array, at: number, bytes: Uint8Array): boolean {
  if (at + bytes.length > input.length) return false;
  for (let k = 0; k < bytes.length; k++) if (input[at + k] !== bytes[k]) return false;
  return true;
}

/** The id of a tokenizer_config.json token entry (`"</s>"` or `{ content: "</s>" }`). */
function tokenOf(entry: unknown, engine: Tokenizer): number | undefined {
  const content = typeof entry === 'string' ? entry : isJsonObject(entry) && typeof entry.content === 'string' ? entry.content : undefined;
  return content === undefined ? undefined : engine.token_to_id(content);
}

/**
 * Checks the parts of a tokenizer.json this class can give offsets for and finds its cut rule. Refused
 * (a 'bad-tokenizer' naming the part): models other than BPE, normalizers other than NFC and the
 * SentencePiece pair (Prepend "▁", Replace " " → "▁"), pre-tokenizers other than Split, ByteLevel,
 * Digits and Metaspace.
 */
function shapeOf(root: Json): Shape {
  const model = root.model;
  if (!isJsonObject(model) || model.type !== 'BPE') throw bad('model must be a BPE model (Llama, Qwen, SmolLM and GPT-2 tokenizers are)');
  if (!isJsonObject(model.vocab) || !Array.isArray(model.merges)) throw bad('model must have a vocab object and a merges list');
  for (const key of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
    if (model[key] !== undefined && model[key] !== null && model[key] !== '') throw bad(`model.${key} is not supported`);
  }
  if (model.dropout !== undefined && model.dropout !== null && model.dropout !== 0) throw bad('model.dropout is not supported');

  const normalizers = flatten(root.normalizer, 'normalizers');
  let nfc = false;
  let spacesAsMeta = false;
  for (const n of normalizers) {
    if (n.type === 'NFC') nfc = true;
    else if (n.type === 'Prepend' && n.prepend === METASPACE) continue;
    else if (n.type === 'Replace' && isJsonObject(n.pattern) && n.pattern.String === ' ' && n.content === METASPACE) spacesAsMeta = true;
    else throw bad(`normalizer ${JSON.stringify(n.type)} is not supported (only NFC, and Prepend/Replace with "▁")`);
  }

  const pres = flatten(root.pre_tokenizer, 'pretokenizers');
  const engineJson: Json = { ...root };
  let byteLevel = false;
  let cutRule: CutRule = 'whole';
  const rewritten: Json[] = [];
  for (const p of pres) {
    if (p.type === 'ByteLevel') {
      byteLevel = true;
      if (p.add_prefix_space === true) throw bad('pre_tokenizer ByteLevel with add_prefix_space is not supported');
      if (p.use_regex !== false) {
        // GPT-2's regex, as byteLevelBpe.ts passes it (the library's own uses JavaScript's \s).
        rewritten.push({ type: 'Split', pattern: { Regex: GPT2_SPLIT }, behavior: 'Isolated', invert: false });
        cutRule = 'gpt2';
      }
      rewritten.push({ ...p, use_regex: false });
    } else if (p.type === 'Split' && isJsonObject(p.pattern) && typeof p.pattern.Regex === 'string') {
      if (LLAMA3_SPLITS.has(p.pattern.Regex) && p.behavior === 'Isolated' && p.invert !== true) cutRule = 'llama3';
      rewritten.push(p);
    } else if (p.type === 'Digits' || p.type === 'Metaspace') {
      if (p.type === 'Metaspace') spacesAsMeta = true;
      rewritten.push(p);
    } else {
      throw bad(`pre_tokenizer ${JSON.stringify(p.type)} is not supported (only Split, ByteLevel, Digits, Metaspace)`);
    }
  }
  if (rewritten.length > 0) engineJson.pre_tokenizer = { type: 'Sequence', pretokenizers: rewritten };
  if (!byteLevel && isJsonObject(root.decoder) && flatten(root.decoder, 'decoders').some((d) => d.type === 'ByteLevel')) byteLevel = true;
  if (!byteLevel && spacesAsMeta && pres.every((p) => p.type === 'Metaspace') && !nfc && noMetaspaceInside(model.vocab as Json)) cutRule = 'spaces';
  if (pres.length > 1 && pres.some((p) => p.type === 'Split') && cutRule === 'gpt2') cutRule = 'whole';
  const prependsSpace = normalizers.some((n) => n.type === 'Prepend') || pres.some((p) => p.type === 'Metaspace' && p.prepend_scheme !== 'never' && p.add_prefix_space !== false);
  return { byteLevel, spacesAsMeta: spacesAsMeta && !byteLevel, nfc, prependsSpace, cutRule: nfc && cutRule === 'spaces' ? 'whole' : cutRule, engineJson };
}

/** A component or a Sequence of them, as a flat list (null or absent: none). */
function flatten(v: unknown, key: string): Json[] {
  if (v === null || v === undefined) return [];
  if (!isJsonObject(v)) throw bad(`${key.replace(/s$/, '')} must be a JSON object`);
  if (v.type === 'Sequence') {
    if (!Array.isArray(v[key])) throw bad(`a Sequence must list its ${key}`);
    return (v[key] as unknown[]).flatMap((x) => flatten(x, key));
  }
  return [v];
}

/** True when no token has "▁" after another character: then no token spans a space that follows a non-space. */
function noMetaspaceInside(vocab: Json): boolean {
  return Object.keys(vocab).every((token) => !/[^▁]▁/u.test(token));
}
