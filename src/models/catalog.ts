/**
 * Models offered by "Download Model…". Sizes are the hub's listed file sizes, used to check free disk space
 * and to ask before large downloads; what is verified is the size and sha256 the server states per file
 * (the hub's X-Linked-Size / X-Linked-Etag), or a pinned value given here.
 */
import { toSafeId } from './safePath.js';

export interface CatalogModel {
  /** Store id (a safe file name). */
  id: string;
  label: string;
  /** Repository on the hub (or on a mirror with the same layout). */
  repo: string;
  licence: string;
  parameters: string;
  /** Approximate total download size in bytes. */
  sizeBytes: number;
  /** Files that must download. */
  files: string[];
  /** Files fetched when the repository has them. */
  optionalFiles: string[];
  /** Pinned sha256 per file, checked in preference to the server's statement. */
  sha256?: Record<string, string>;
  /** The hub serves it only to signed-in users who accepted its licence: the download needs an access token. */
  gated?: boolean;
}

const GPT2_FILES = ['config.json', 'model.safetensors', 'vocab.json', 'merges.txt'];
const GPT2_OPTIONAL = ['tokenizer.json'];
/** vocab.json + merges.txt + tokenizer.json + config.json of the GPT-2 tokenizer, about 2.9 MB. */
const TOKENIZER_BYTES = 2_900_000;

/**
 * Llama-family folders: weights as model.safetensors (or, on the hub's larger repositories,
 * model.safetensors.index.json and shards, found by the store when model.safetensors is absent) and the
 * tokenizer as tokenizer.json + tokenizer_config.json.
 */
const LLAMA_FILES = ['config.json', 'model.safetensors', 'tokenizer.json'];
const LLAMA_OPTIONAL = ['tokenizer_config.json', 'generation_config.json'];
/** tokenizer.json + tokenizer_config.json + config.json of these repositories: 2–11 MB. */
const llama = (m: Omit<CatalogModel, 'files' | 'optionalFiles'>): CatalogModel => ({ ...m, files: LLAMA_FILES, optionalFiles: LLAMA_OPTIONAL });

export const CATALOG: readonly CatalogModel[] = [
  {
    id: 'gpt2', label: 'GPT-2 small', repo: 'openai-community/gpt2', licence: 'MIT', parameters: '124 M',
    sizeBytes: 548_105_171 + TOKENIZER_BYTES, files: GPT2_FILES, optionalFiles: GPT2_OPTIONAL,
  },
  {
    id: 'distilgpt2', label: 'DistilGPT-2', repo: 'distilbert/distilgpt2', licence: 'Apache-2.0', parameters: '82 M',
    sizeBytes: 352_824_413 + TOKENIZER_BYTES, files: GPT2_FILES, optionalFiles: GPT2_OPTIONAL,
  },
  {
    id: 'gpt2-medium', label: 'GPT-2 medium', repo: 'openai-community/gpt2-medium', licence: 'MIT', parameters: '355 M',
    sizeBytes: 1_520_013_706 + TOKENIZER_BYTES, files: GPT2_FILES, optionalFiles: GPT2_OPTIONAL,
  },
  // Sizes: the hub's listing of the BF16 model.safetensors plus the tokenizer files, rounded; only the
  // free-space check and the question before a large download use them.
  llama({ id: 'smollm2-135m', label: 'SmolLM2-135M', repo: 'HuggingFaceTB/SmolLM2-135M', licence: 'Apache-2.0', parameters: '135 M', sizeBytes: 272_000_000 }),
  llama({ id: 'smollm2-360m', label: 'SmolLM2-360M', repo: 'HuggingFaceTB/SmolLM2-360M', licence: 'Apache-2.0', parameters: '362 M', sizeBytes: 727_000_000 }),
  llama({ id: 'qwen2.5-0.5b', label: 'Qwen2.5-0.5B', repo: 'Qwen/Qwen2.5-0.5B', licence: 'Apache-2.0', parameters: '494 M', sizeBytes: 1_000_000_000 }),
  llama({ id: 'qwen3-0.6b', label: 'Qwen3-0.6B', repo: 'Qwen/Qwen3-0.6B', licence: 'Apache-2.0', parameters: '596 M', sizeBytes: 1_520_000_000 }),
  llama({ id: 'tinyllama-1.1b-chat', label: 'TinyLlama-1.1B-Chat-v1.0', repo: 'TinyLlama/TinyLlama-1.1B-Chat-v1.0', licence: 'Apache-2.0', parameters: '1.1 B', sizeBytes: 2_202_000_000 }),
  llama({
    id: 'llama-3.2-1b', label: 'Llama-3.2-1B', repo: 'meta-llama/Llama-3.2-1B', licence: 'Llama 3.2 Community License', parameters: '1.24 B',
    sizeBytes: 2_480_000_000, gated: true,
  }),
];

/** How the catalog presents a model's terms: its licence, and that a gated one needs an access token. */
export function termsText(m: Pick<CatalogModel, 'licence' | 'gated'>): string {
  return m.gated ? `${m.licence} · gated: needs a Hugging Face access token` : m.licence;
}

/**
 * The config and weights every family needs; the tokenizer files of either layout (GPT-2's vocab.json +
 * merges.txt, the Llama family's tokenizer.json + tokenizer_config.json), whichever the repository has:
 * the loader then refuses a folder with no tokenizer it can read.
 */
const ANY_FAMILY_FILES = ['config.json', 'model.safetensors'];
const ANY_FAMILY_OPTIONAL = ['vocab.json', 'merges.txt', ...GPT2_OPTIONAL, ...LLAMA_OPTIONAL];

/** A repository outside the catalog, of any family; its size is learnt from the server while downloading. */
export function customRepo(repo: string, label?: string): CatalogModel {
  return {
    id: toSafeId(repo.split('/').pop() ?? repo), label: label ?? repo, repo, licence: 'see the repository', parameters: '?',
    sizeBytes: 0, files: ANY_FAMILY_FILES, optionalFiles: ANY_FAMILY_OPTIONAL,
  };
}

export const DEFAULT_MIRROR = 'https://huggingface.co';

/** The hub's `resolve` URL of one file at the main revision, under a mirror base URL. */
export function resolveUrl(base: string, repo: string, file: string): string {
  const repoPath = repo.split('/').map(encodeURIComponent).join('/');
  return `${base.replace(/\/+$/, '')}/${repoPath}/resolve/main/${encodeURIComponent(file)}`;
}
