import { MAX_JSON_DEPTH, MAX_WHOLE_FILE_BYTES, fileSizeLimit, jsonDeeperThan } from './fileLimits';

/** Why a model folder could not be used; each code names one kind of defect. */
export const MODEL_FILE_ERROR_CODES = [
  'missing-file',
  'unreadable-file',
  'bad-json',
  'bad-config',
  'header-too-large',
  'bad-header',
  'bad-dtype',
  'bad-shape',
  'out-of-bounds',
  'overlap',
  'gap',
  'missing-tensor',
  'unexpected-tensor',
  'bad-tokenizer',
  'pickle-checkpoint',
] as const;
export type ModelFileErrorCode = (typeof MODEL_FILE_ERROR_CODES)[number];

/**
 * A defect in a model folder. The message is meant for a user: it names the file (and the tensor,
 * when there is one) and says what is wrong, in one line. A detail that starts with a verb reads as
 * a sentence about the file or tensor ("config.json is missing from the model folder"), any other
 * after a colon ("config.json: n_head must be …").
 */
export class ModelFileError extends Error {
  readonly code: ModelFileErrorCode;
  readonly file: string;
  readonly tensor?: string;

  constructor(code: ModelFileErrorCode, file: string, detail: string, tensor?: string) {
    const subject = tensor === undefined ? file : `${file}, tensor "${tensor}"`;
    super(PREDICATE.test(detail) ? `${subject} ${detail}` : `${subject}: ${detail}`);
    this.name = 'ModelFileError';
    this.code = code;
    this.file = file;
    if (tensor !== undefined) this.tensor = tensor;
  }
}

const PREDICATE = /^(is|has|claims|lacks|differs|could|must|uses|maps|holds|names|changed|ended)\b/;

/** A load stopped because its caller aborted it (a new inspection of another model, Cancel, the panel closed). */
export class LoadCancelled extends Error {
  override name = 'LoadCancelled';
}

/** Decodes strict UTF-8, turning invalid bytes into a ModelFileError with the given code. */
export function decodeUtf8(bytes: Uint8Array, file: string, code: ModelFileErrorCode): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ModelFileError(code, file, 'is not valid UTF-8 text');
  }
}

/** Parses JSON text, turning a syntax error or too deep a nesting into a ModelFileError with the given code. */
export function parseJsonText(text: string, file: string, code: ModelFileErrorCode = 'bad-json'): unknown {
  if (jsonDeeperThan(text, MAX_JSON_DEPTH)) {
    throw new ModelFileError(code, file, `is not usable JSON: it nests arrays or objects more than ${MAX_JSON_DEPTH} levels deep`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ModelFileError(code, file, `is not valid JSON (${(e as Error).message})`);
  }
}

/** Parses JSON from raw bytes (strict UTF-8); any failure is a ModelFileError with the given code. */
export function parseJsonBytes(bytes: Uint8Array, file: string, code: ModelFileErrorCode = 'bad-json'): unknown {
  return parseJsonText(decodeUtf8(bytes, file, code), file, code);
}

/** Throws for a file larger than its limit (fileLimits.ts); called before the file is read where the size is known. */
export function checkFileSize(file: string, size: number): void {
  const limit = fileSizeLimit(file);
  if (size > limit) {
    throw new ModelFileError('unreadable-file', file, `is ${size.toLocaleString('en-US')} bytes, above the ${limit.toLocaleString('en-US')}-byte limit for ${file}, so it is not read`);
  }
}

/** checkFileSize, and a file over MAX_WHOLE_FILE_BYTES (a weights file, read only in parts) refused as one buffer. */
export function checkWholeFileSize(file: string, size: number): void {
  checkFileSize(file, size);
  if (size > MAX_WHOLE_FILE_BYTES) {
    throw new ModelFileError('unreadable-file', file, `is ${size.toLocaleString('en-US')} bytes, more than one buffer takes (${MAX_WHOLE_FILE_BYTES.toLocaleString('en-US')}); this reader cannot read it in parts`);
  }
}

/** True for a plain JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
