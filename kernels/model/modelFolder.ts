import { ByteLevelBpeTokenizer } from '../tokenizer/byteLevelBpe';
import { parseModelConfig } from './config';
import { ModelFileError, checkFileSize, decodeUtf8 } from './errors';
import { canonicalWeights } from './decoderWeights';
import { parseSafetensors } from './safetensors';
import type { DecoderConfig, ModelFileReader, ModelWeights } from './types';

/** A model folder, read and checked: everything the forward pass and the tokenizer need. */
export interface LoadedModel {
  config: DecoderConfig;
  weights: ModelWeights;
  tokenizer: ByteLevelBpeTokenizer;
  /** Bytes read from the folder, all files together. */
  totalBytes: number;
}

/** The files a model folder may hold that this loader reads. */
export const MODEL_FILE_NAMES = {
  config: 'config.json',
  weights: 'model.safetensors',
  vocab: 'vocab.json',
  merges: 'merges.txt',
  tokenizer: 'tokenizer.json',
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
 * Loads a Hugging Face model folder (any family of kernels/model/families/): `config.json`, `model.safetensors`, and the tokenizer as
 * `vocab.json` + `merges.txt` or, when either is absent, `tokenizer.json`. Every defect is a ModelFileError.
 */
export async function loadModelFolder(read: ModelFileReader, options: LoadOptions = {}): Promise<LoadedModel> {
  let totalBytes = 0;
  const limited = withSizeLimits(read);
  const readFile = async (name: string): Promise<Uint8Array | undefined> => {
    const bytes = await limited(name);
    if (bytes) totalBytes += bytes.length;
    return bytes;
  };
  const required = async (name: string): Promise<Uint8Array> => {
    const bytes = await readFile(name);
    if (!bytes) throw new ModelFileError('missing-file', name, 'is missing from the model folder');
    return bytes;
  };

  const config = parseModelConfig(await required(MODEL_FILE_NAMES.config), MODEL_FILE_NAMES.config);

  if (options.listing && !options.listing.includes(MODEL_FILE_NAMES.weights)) await refuseMissingWeights(read, options.listing);

  // The weights (most of the bytes) are read while the tokenizer is built; a broken tokenizer still
  // fails first.
  const weightsRead = readFile(MODEL_FILE_NAMES.weights);
  weightsRead.catch(() => undefined);
  const tokenizer = await loadFolderTokenizer(readFile);
  if (tokenizer.tokenizer.vocabSize > config.vocabSize) {
    throw new ModelFileError(
      'bad-tokenizer',
      tokenizer.file,
      `has token ids up to ${tokenizer.tokenizer.vocabSize - 1}, beyond config.json's vocab_size ${config.vocabSize}`,
    );
  }

  const safetensors = (await weightsRead) ?? (await refuseMissingWeights(read, options.listing));
  const weights = canonicalWeights(parseSafetensors(safetensors, MODEL_FILE_NAMES.weights), config, MODEL_FILE_NAMES.weights);
  return { config, weights, tokenizer: tokenizer.tokenizer, totalBytes };
}

/**
 * The tokenizer of a model folder, by the loader's rule: `vocab.json` + `merges.txt` when both are
 * present, else `tokenizer.json`. `file` names the file it came from (for messages).
 */
export async function loadFolderTokenizer(
  read: ModelFileReader,
): Promise<{ tokenizer: ByteLevelBpeTokenizer; file: string }> {
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
    const tokenizer = ByteLevelBpeTokenizer.fromTokenizerJson(text(json, MODEL_FILE_NAMES.tokenizer));
    return { tokenizer, file: MODEL_FILE_NAMES.tokenizer };
  }
  const missing = vocab ? MODEL_FILE_NAMES.merges : MODEL_FILE_NAMES.vocab;
  throw new ModelFileError('missing-file', missing, `is missing from the model folder (and there is no ${MODEL_FILE_NAMES.tokenizer})`);
}

/**
 * The reader with the size limits (fileLimits.ts) applied to what it returns, whatever the reader: the
 * disk and fetch readers also refuse before reading, which is what keeps the allocation bounded.
 */
function withSizeLimits(read: ModelFileReader): ModelFileReader {
  return async (name) => {
    const bytes = await read(name);
    if (bytes) checkFileSize(name, bytes.length);
    return bytes;
  };
}

/** Throws for a folder without model.safetensors: 'pickle-checkpoint' when it has one, else 'missing-file'. */
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
  throw new ModelFileError('missing-file', MODEL_FILE_NAMES.weights, 'is missing from the model folder');
}

async function probePickle(read: ModelFileReader): Promise<string | undefined> {
  for (const name of PROBED_PICKLE_NAMES) if (await read(name)) return name;
  return undefined;
}
