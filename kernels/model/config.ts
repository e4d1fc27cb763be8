import { ConfigFields } from './configFields';
import type { DecoderConfig, FamilyName } from './decoder';
import { ModelFileError, isJsonObject, parseJsonBytes } from './errors';
import { FAMILIES } from './families/index';

/**
 * Reads a Hugging Face `config.json` into the decoder description, by its `model_type` (absent means
 * "gpt2", as the GPT-2 checkpoints that predate the field have it); each family checks its own fields.
 */
export function parseModelConfig(bytes: Uint8Array, file = 'config.json'): DecoderConfig {
  const json = parseJsonBytes(bytes, file);
  if (!isJsonObject(json)) throw new ModelFileError('bad-config', file, 'must hold a JSON object');
  const type = json.model_type ?? 'gpt2';
  if (typeof type !== 'string' || !Object.hasOwn(FAMILIES, type)) {
    throw new ModelFileError('bad-config', file, `model_type ${JSON.stringify(type)} is not supported (only ${Object.keys(FAMILIES).map((k) => `"${k}"`).join(', ')})`);
  }
  return FAMILIES[type as FamilyName].parse(new ConfigFields(json, file));
}
