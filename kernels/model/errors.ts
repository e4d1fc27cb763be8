/** Why a model folder could not be used; each code names one kind of defect. */
export type ModelFileErrorCode =
  | 'missing-file'
  | 'unreadable-file'
  | 'bad-json'
  | 'bad-config'
  | 'header-too-large'
  | 'bad-header'
  | 'bad-dtype'
  | 'bad-shape'
  | 'out-of-bounds'
  | 'overlap'
  | 'missing-tensor'
  | 'unexpected-tensor'
  | 'bad-tokenizer'
  | 'pickle-checkpoint';

/**
 * A defect in a model folder. The message is meant for a user: it names the file (and the tensor,
 * when there is one) and says what is wrong, without a stack trace's worth of detail.
 */
export class ModelFileError extends Error {
  readonly code: ModelFileErrorCode;
  readonly file: string;
  readonly tensor?: string;

  constructor(code: ModelFileErrorCode, file: string, detail: string, tensor?: string) {
    super(tensor === undefined ? `${file}: ${detail}` : `${file}, tensor "${tensor}": ${detail}`);
    this.name = 'ModelFileError';
    this.code = code;
    this.file = file;
    if (tensor !== undefined) this.tensor = tensor;
  }
}

/** Parses JSON from raw bytes (strict UTF-8), turning any failure into a 'bad-json' ModelFileError. */
export function parseJsonBytes(bytes: Uint8Array, file: string): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ModelFileError('bad-json', file, 'is not valid UTF-8 text');
  }
  return parseJsonText(text, file);
}

/** Parses JSON text, turning a syntax error into a 'bad-json' ModelFileError. */
export function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ModelFileError('bad-json', file, `is not valid JSON (${(e as Error).message})`);
  }
}

/** True for a plain JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
