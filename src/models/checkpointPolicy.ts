/** Which files of a Hugging Face model folder the store accepts, and why pickle checkpoints are refused. */
import { findPickleCheckpoints, hasSafetensors } from '../../kernels/model/modelFolder.js';

/** Files copied or downloaded into the store, besides weight shards; anything else in a folder is left behind. */
export const MODEL_FILES = [
  'config.json', 'model.safetensors', 'model.safetensors.index.json', 'vocab.json', 'merges.txt', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json',
] as const;

/** A shard of split weights as the hub names them (`model-00001-of-00002.safetensors`). */
const SHARD = /^model-\d{5}-of-\d{5}\.safetensors$/;

/** Whether the store keeps a file of this name. */
export function isModelFile(name: string): boolean {
  return (MODEL_FILES as readonly string[]).includes(name) || SHARD.test(name);
}

export class PickleCheckpointError extends Error {
  constructor(readonly where: string, readonly files: string[]) {
    super(
      `${where} has only a PyTorch pickle checkpoint (${files.join(', ')}). Attention Inspector loads safetensors only, ` +
        'because loading a pickle checkpoint runs whatever code is inside it. Use a copy that has model.safetensors ' +
        '(most hub repositories publish one), or convert the checkpoint in an environment you trust.',
    );
    this.name = 'PickleCheckpointError';
  }
}

export class MissingWeightsError extends Error {
  constructor(readonly where: string) {
    super(`${where} has no model.safetensors (nor model.safetensors.index.json and its shards), so there are no weights to load.`);
    this.name = 'MissingWeightsError';
  }
}

/** Throws unless the folder's file names include safetensors weights; names the pickle files when those are all there is. */
export function requireSafetensors(fileNames: readonly string[], where: string): void {
  if (hasSafetensors(fileNames)) return;
  const pickles = findPickleCheckpoints(fileNames);
  if (pickles.length) throw new PickleCheckpointError(where, pickles);
  throw new MissingWeightsError(where);
}
