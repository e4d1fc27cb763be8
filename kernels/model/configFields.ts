import { ModelFileError } from './errors';

/** Upper bounds no real model exceeds; they keep a hostile config from driving huge allocations. */
export const CONFIG_LIMITS = {
  layers: 1024,
  heads: 1024,
  width: 1 << 16,
  positions: 1 << 20,
  vocab: 1 << 22,
  inner: 1 << 20,
} as const;

/**
 * Typed reads of one `config.json` object; every defect is a 'bad-config' ModelFileError whose message
 * names the field.
 */
export class ConfigFields {
  constructor(
    readonly json: Record<string, unknown>,
    readonly file: string,
  ) {}

  bad(detail: string): never {
    throw new ModelFileError('bad-config', this.file, detail);
  }

  /** An integer from 1 to the limit; `value` overrides the field's own (for fallbacks such as n_ctx). */
  int(key: string, limit: keyof typeof CONFIG_LIMITS, value: unknown = this.json[key]): number {
    const max = CONFIG_LIMITS[limit];
    if (value === undefined) this.bad(`${key} is missing`);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
      this.bad(`${key} must be an integer from 1 to ${max}, not ${JSON.stringify(value)}`);
    }
    return value as number;
  }

  /** A number strictly between 0 and 1 (a norm epsilon). */
  epsilon(key: string, fallback: number): number {
    const eps = this.json[key] ?? fallback;
    if (typeof eps !== 'number' || !Number.isFinite(eps) || eps <= 0 || eps >= 1) {
      this.bad(`${key} must be a number between 0 and 1, not ${JSON.stringify(eps)}`);
    }
    return eps as number;
  }

  /** A finite number above `min` (exclusive) read from `obj` (the config or a nested object named by `key`'s path). */
  positive(key: string, value: unknown, min = 0): number {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= min) this.bad(`${key} must be a number above ${min}, not ${JSON.stringify(value)}`);
    return value as number;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'boolean') this.bad(`${key} must be true or false, not ${JSON.stringify(v)}`);
    return v as boolean;
  }

  /** One of the listed strings. */
  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const v = this.json[key] ?? fallback;
    if (!(allowed as readonly unknown[]).includes(v)) this.bad(`${key} ${JSON.stringify(v)} is not supported (only ${allowed.join(' or ')})`);
    return v as T;
  }

  /**
   * A token id below vocabSize, or undefined when absent or null; a list (Llama 3's eos) gives its first.
   * `fallback` applies when the field is absent.
   */
  tokenId(key: string, vocabSize: number, fallback?: number): number | undefined {
    let v = this.json[key] === undefined ? fallback : this.json[key];
    if (Array.isArray(v)) v = v[0];
    if (v === null || v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= vocabSize) {
      this.bad(`${key} must be an integer id below vocab_size (${vocabSize}), not ${JSON.stringify(this.json[key])}`);
    }
    return v as number;
  }

  /** Refuses a field whose value is set to anything but one of the accepted ones (absent is accepted). */
  refuseUnless(key: string, accepted: readonly unknown[], why: string): void {
    const v = this.json[key];
    if (v !== undefined && !accepted.includes(v)) this.bad(`${key} ${JSON.stringify(v)} is not supported (${why})`);
  }
}
