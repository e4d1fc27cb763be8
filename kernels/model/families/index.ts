import type { FamilyName } from '../decoder';
import type { Family } from './family';
import { gpt2 } from './gpt2';
import { llama, mistral } from './llama';
import { qwen2 } from './qwen2';
import { qwen3 } from './qwen3';

/** The families by config.json `model_type`. */
export const FAMILIES: Record<FamilyName, Family> = { gpt2, llama, mistral, qwen2, qwen3 };

export function familyOf(name: FamilyName): Family {
  return FAMILIES[name];
}
