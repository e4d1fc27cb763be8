import { ByteLevelBpeTokenizer } from '../tokenizer/byteLevelBpe';
import { HfTokenizer } from '../tokenizer/hfTokenizer';
import type { TextTokenizer } from '../tokenizer/textTokenizer';
import { parseModelConfig } from './config';
import { ModelFileError, checkFileSize, checkWholeFileSize, decodeUtf8, isJsonObject, parseJsonText } from './errors';
import { MAX_WHOLE_FILE_BYTES } from './fileLimits';
import { canonicalWeights } from './decoderWeights';
import { mergeShards, parseSafetensors, parseSafetensorsIndex, readSafetensorsInParts, SAFETENSORS_INDEX } from './safetensors';
import type { DecoderConfig, ModelFileReader, ModelWeights, WeightTensor } from './types';

/** A model folder, read and checked: everything the forward pass and the tokenizer need. */
export interface LoadedModel {
  config: DecoderConfig;
  weights: ModelWeights;
  tokenizer: TextTokenizer;
  /** Bytes read from the folder, all files together. */
  totalBytes: number;
}

/** The files a model folder may hold that this loader reads. */
export const MODEL_FILE_NAMES = {
  config: 'config.json',
  weights: 'model.safetensors',
  weightsIndex: SAFETENSORS_INDEX,
  vocab: 'vocab.json',
  merges: 'merges.txt',
  tokenizer: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
} as const;

/** Checkpoint files in Python's pickle format: loading one means running code it contains. */
const PICKLE_CHECKPOINT = /\.(bin|pt|pth|ckpt|pkl)$/i;

/** The pickle checkpoints in a folder listing (file names), e.g. `pytorch_model.bin`. */
export function findPickleCheckpoints(names: readonly string[]): string[] {
  return names.filter((n) => PICKLE_CHECKPOINT.test(n));
}

/** Names probed when no listing is given (a reader can only read by name). */
const PROBED_PICKLE_NAMES = ['pytorch_model.bin', 'model.bin', 'model.pt', 'model.ckpt'];

export interface LoadOptions {
  /** The folder's file names, when known: lets the loader name a pickle checkpoint without reading it. */
  listing?: readonly string[];
}

/**
 * Loads a Hugging Face model folder (any family of kernels/model/families/): `config.json`, `model.safetensors`
 * (or `model.safetensors.index.json` and its shards), and the tokenizer as
 * `vocab.json` + `merges.txt` or, when either is absent, `tokenizer.json`. Every defect is a ModelFileError.
 */
export async function loadModelFolder(read: ModelFileReader, options: LoadOptions = {}): Promise<LoadedModel> {
  let totalBytes = 0;
  const limited = withSizeLimits(read);
  const readFile: ModelFileReader = async (name) => {
    const bytes = await limited(name);
    if (bytes) totalBytes += bytes.length;
    return bytes;
  };
  if (limited.ranges) {
    const ranges = limited.ranges;
    readFile.ranges = async (name) => {
      const r = await ranges(name);
      return r && { size: r.size, read: async (start, length) => {
        const bytes = await r.read(start, length);
        totalBytes += bytes.length;
        return bytes;
      } };
    };
  }
  const required = async (name: string): Promise<Uint8Array> => {
    const bytes = await readFile(name);
    if (!bytes) throw new ModelFileError('missing-file', name, 'is missing from the model folder');
    return bytes;
  };

  const config = parseModelConfig(await required(MODEL_FILE_NAMES.config), MODEL_FILE_NAMES.config);

  if (options.listing && !hasSafetensors(options.listing)) await refuseMissingWeights(read, options.listing);

  // The weights (most of the bytes) are read while the tokenizer is built; a broken tokenizer still
  // fails first.
  const weightsRead = readSafetensorsWeights(readFile);
  weightsRead.catch(() => undefined);
  const tokenizer = await loadFolderTokenizer(readFile);
  if (tokenizer.tokenizer.vocabSize > config.vocabSize) {
    throw new ModelFileError(
      'bad-tokenizer',
      tokenizer.file,
      `has token ids up to ${tokenizer.tokenizer.vocabSize - 1}, beyond config.json's vocab_size ${config.vocabSize}`,
    );
  }

  const stored = (await weightsRead) ?? (await refuseMissingWeights(read, options.listing));
  const weights = canonicalWeights(stored.tensors, config, stored.file);
  return { config, weights, tokenizer: tokenizer.tokenizer, totalBytes };
}

/** Whether a folder listing holds safetensors weights, whole or as an index of shards. */
export function hasSafetensors(listing: readonly string[]): boolean {
  return listing.includes(MODEL_FILE_NAMES.weights) || listing.includes(MODEL_FILE_NAMES.weightsIndex);
}

/** Tensors by their stored names, and the file to name in messages about them. */
export interface StoredWeights {
  tensors: Map<string, WeightTensor>;
  file: string;
}

/**
 * The folder's tensors: `model.safetensors` when present, else `model.safetensors.index.json` and every
 * shard it names (each parsed and bounds-checked on its own, then matched against the index); undefined
 * when there is neither. A shard the index names that the folder lacks is a 'missing-file'.
 */
export async function readSafetensorsWeights(read: ModelFileReader): Promise<StoredWeights | undefined> {
  const whole = await readWeightsFile(read, MODEL_FILE_NAMES.weights);
  if (whole) return { tensors: whole, file: MODEL_FILE_NAMES.weights };
  const indexBytes = await read(MODEL_FILE_NAMES.weightsIndex);
  if (!indexBytes) return undefined;
  const index = parseSafetensorsIndex(indexBytes, MODEL_FILE_NAMES.weightsIndex);
  const shards = new Map<string, Map<string, WeightTensor>>();
  for (const shard of index.shards) {
    const tensors = await readWeightsFile(read, shard);
    if (!tensors) throw new ModelFileError('missing-file', shard, `is missing from the model folder (${MODEL_FILE_NAMES.weightsIndex} names it as a shard)`);
    shards.set(shard, tensors);
  }
  return { tensors: mergeShards(index, shards), file: MODEL_FILE_NAMES.weightsIndex };
}

/**
 * One safetensors file's tensors (undefined when absent): read whole into one buffer, or — over
 * MAX_WHOLE_FILE_BYTES, from a reader that reads ranges — in parts of whole tensors (TinyLlama-1.1B's
 * 2.2 GB and Llama-3.2-1B's 2.47 GB single files).
 */
async function readWeightsFile(read: ModelFileReader, name: string): Promise<Map<string, WeightTensor> | undefined> {
  const ranges = await read.ranges?.(name);
  if (ranges && ranges.size > MAX_WHOLE_FILE_BYTES) return readSafetensorsInParts(ranges, name);
  if (read.ranges && !ranges) return undefined;
  const bytes = await read(name);
  return bytes && parseSafetensors(bytes, name);
}

/**
 * The tokenizer of a model folder, by the loader's rule: `vocab.json` + `merges.txt` when both are
 * present, else `tokenizer.json` — GPT-2's (a plain ByteLevel pre-tokenizer, no normalizer) through
 * ByteLevelBpeTokenizer, any other (Llama, Qwen, SmolLM) with `tokenizer_config.json` through HfTokenizer.
 * `file` names the file it came from (for messages).
 */
export async function loadFolderTokenizer(
  read: ModelFileReader,
): Promise<{ tokenizer: TextTokenizer; file: string }> {
  const readFile = withSizeLimits(read);
  const text = (b: Uint8Array, file: string): string => decodeUtf8(b, file, 'bad-tokenizer');
  const vocab = await readFile(MODEL_FILE_NAMES.vocab);
  const merges = await readFile(MODEL_FILE_NAMES.merges);
  if (vocab && merges) {
    const tokenizer = ByteLevelBpeTokenizer.fromVocabAndMerges(text(vocab, MODEL_FILE_NAMES.vocab), text(merges, MODEL_FILE_NAMES.merges));
    return { tokenizer, file: MODEL_FILE_NAMES.vocab };
  }
  const json = await readFile(MODEL_FILE_NAMES.tokenizer);
  if (json) {
    const source = text(json, MODEL_FILE_NAMES.tokenizer);
    const root = parseJsonText(source, MODEL_FILE_NAMES.tokenizer, 'bad-tokenizer');
    if (isGpt2TokenizerJson(root)) return { tokenizer: ByteLevelBpeTokenizer.fromTokenizerJson(source), file: MODEL_FILE_NAMES.tokenizer };
    const config = await readFile(MODEL_FILE_NAMES.tokenizerConfig);
    const tokenizer = HfTokenizer.fromParsed(root, config && text(config, MODEL_FILE_NAMES.tokenizerConfig));
    return { tokenizer, file: MODEL_FILE_NAMES.tokenizer };
  }
  const missing = vocab ? MODEL_FILE_NAMES.merges : MODEL_FILE_NAMES.vocab;
  throw new ModelFileError('missing-file', missing, `is missing from the model folder (and there is no ${MODEL_FILE_NAMES.tokenizer})`);
}

/** GPT-2's tokenizer.json (parsed): no normalizer and one plain ByteLevel pre-tokenizer (or no JSON object at all, which its parser reports). */
function isGpt2TokenizerJson(root: unknown): boolean {
  if (!isJsonObject(root)) return true;
  return (root.normalizer === undefined || root.normalizer === null) && isJsonObject(root.pre_tokenizer) && root.pre_tokenizer.type === 'ByteLevel';
}

/**
 * The reader with the size limits (fileLimits.ts) applied to what it returns, whatever the reader: the
 * disk and fetch readers also refuse before reading, which is what keeps the allocation bounded.
 */
function withSizeLimits(read: ModelFileReader): ModelFileReader {
  const limited: ModelFileReader = async (name) => {
    const bytes = await read(name);
    if (bytes) checkWholeFileSize(name, bytes.length);
    return bytes;
  };
  if (read.ranges) {
    const ranges = read.ranges;
    limited.ranges = async (name) => {
      const r = await ranges(name);
      if (r) checkFileSize(name, r.size);
      return r;
    };
  }
  return limited;
}

/** Throws for a folder without safetensors weights: 'pickle-checkpoint' when it has a pickle, else 'missing-file'. */
async function refuseMissingWeights(read: ModelFileReader, listing: readonly string[] | undefined): Promise<never> {
  const pickle = listing ? findPickleCheckpoints(listing)[0] : await probePickle(read);
  if (pickle) {
    throw new ModelFileError(
      'pickle-checkpoint',
      pickle,
      'is a PyTorch pickle checkpoint; loading it would run code it contains, so it is refused. ' +
        'Convert the model to model.safetensors (e.g. save_pretrained(..., safe_serialization=True)).',
    );
  }
  throw new ModelFileError('missing-file', MODEL_FILE_NAMES.weights, `is missing from the model folder (and there is no ${MODEL_FILE_NAMES.weightsIndex})`);
}

async function probePickle(read: ModelFileReader): Promise<string | undefined> {
  for (const name of PROBED_PICKLE_NAMES) if (await read(name)) return name;
  return undefined;
}
