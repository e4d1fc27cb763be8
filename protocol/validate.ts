/**
 * Small checkers for what arrives over a webview's message channel: the other side is another program,
 * so a payload is only trusted after its fields were looked at. A checker answers `undefined` for a good
 * value, else the reason it is not, naming where in the payload (`message.tokens[3].id: expected an integer`).
 */

/**
 * Says why `value` is not a `T`, or `undefined` when it is one. `T` only types the checker, invariantly:
 * a required field cannot get an `optional(…)` checker, nor an optional field a required one.
 */
export type Checker<T> = ((value: unknown, path: string) => string | undefined) & { readonly checks?: (t: T) => T };

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

function expect<T>(what: string, ok: (value: unknown) => boolean): Checker<T> {
  return (value, path) => (ok(value) ? undefined : `${path}: expected ${what}, got ${describe(value)}`);
}

export const string: Checker<string> = expect('a string', (v) => typeof v === 'string');
export const number: Checker<number> = expect('a number', (v) => typeof v === 'number');
export const integer: Checker<number> = expect('an integer', (v) => Number.isInteger(v));
export const boolean: Checker<boolean> = expect('a boolean', (v) => typeof v === 'boolean');
/** Bytes as VS Code's webview messages carry them (a typed array, not JSON). */
export const bytes: Checker<Uint8Array> = expect('a Uint8Array', (v) => v instanceof Uint8Array);

/** One of a few known strings (a log level, a colour scale). */
export function oneOf<const V extends string>(...values: V[]): Checker<V> {
  return expect(`one of ${values.join(', ')}`, (v) => (values as unknown[]).includes(v));
}

export function optional<T>(check: Checker<T>): Checker<T | undefined> {
  return (value, path) => (value === undefined ? undefined : check(value, path));
}

export function array<T>(check: Checker<T>): Checker<T[]> {
  return (value, path) => {
    if (!Array.isArray(value)) return `${path}: expected an array, got ${describe(value)}`;
    for (let i = 0; i < value.length; i++) {
      const wrong = check(value[i], `${path}[${i}]`);
      if (wrong) return wrong;
    }
    return undefined;
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An object whose values all pass `check` (a table of timings). */
export function record<T>(check: Checker<T>): Checker<Record<string, T>> {
  return (value, path) => {
    if (!isObject(value)) return `${path}: expected an object, got ${describe(value)}`;
    for (const [k, v] of Object.entries(value)) {
      const wrong = check(v, `${path}.${k}`);
      if (wrong) return wrong;
    }
    return undefined;
  };
}

/** An object with these fields; naming `T` makes the compiler insist on a checker for every field of it. */
export function object<T>(fields: { [K in keyof T]-?: Checker<T[K]> }): Checker<T> {
  return (value, path) => {
    if (!isObject(value)) return `${path}: expected an object, got ${describe(value)}`;
    for (const [k, check] of Object.entries(fields) as [string, Checker<unknown>][]) {
      const wrong = check(value[k], `${path}.${k}`);
      if (wrong) return wrong;
    }
    return undefined;
  };
}

/** A union told apart by the string field `tag`: one object checker per variant. */
export function variants<T extends Record<K, string>, K extends string>(tag: K, byTag: { [V in T[K]]: Checker<Extract<T, Record<K, V>>> }): Checker<T> {
  const tags = Object.keys(byTag);
  return (value, path) => {
    if (!isObject(value)) return `${path}: expected an object, got ${describe(value)}`;
    const t = value[tag];
    if (typeof t !== 'string' || !tags.includes(t)) return `${path}.${tag}: expected one of ${tags.join(', ')}, got ${describe(t)}`;
    return (byTag as Record<string, Checker<unknown>>)[t]!(value, path);
  };
}

/** Anything: for a part another checker looks at later (a request's parameters, once its type is known). */
export const anything: Checker<unknown> = () => undefined;

/** `value` as a `T`, or the reason it is not one. */
export function parse<T>(check: Checker<T>, value: unknown, path: string): { ok: true; value: T } | { ok: false; wrong: string } {
  const wrong = check(value, path);
  return wrong === undefined ? { ok: true, value: value as T } : { ok: false, wrong };
}
