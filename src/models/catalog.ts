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
}

const GPT2_FILES = ['config.json', 'model.safetensors', 'vocab.json', 'merges.txt'];
const GPT2_OPTIONAL = ['tokenizer.json'];
/** vocab.json + merges.txt + tokenizer.json + config.json of the GPT-2 tokenizer, about 2.9 MB. */
const TOKENIZER_BYTES = 2_900_000;

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
];

/** A repository outside the catalog, in GPT-2 layout; its size is learnt from the server while downloading. */
export function customRepo(repo: string, label?: string): CatalogModel {
  return {
    id: toSafeId(repo.split('/').pop() ?? repo), label: label ?? repo, repo, licence: 'see the repository', parameters: '?',
    sizeBytes: 0, files: GPT2_FILES, optionalFiles: GPT2_OPTIONAL,
  };
}

export const DEFAULT_MIRROR = 'https://huggingface.co';

/** The hub's `resolve` URL of one file at the main revision, under a mirror base URL. */
export function resolveUrl(base: string, repo: string, file: string): string {
  const repoPath = repo.split('/').map(encodeURIComponent).join('/');
  return `${base.replace(/\/+$/, '')}/${repoPath}/resolve/main/${encodeURIComponent(file)}`;
}
