import * as path from 'node:path';

/** A name from the network, a catalog or a folder that would land outside the model store. */
export class UnsafeNameError extends Error {
  constructor(readonly name: string, reason: string) {
    super(`Refused the name "${name}": ${reason}. Model files must stay inside the model store.`);
    this.name = 'UnsafeNameError';
  }
}

const SAFE_CHARS = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;

/**
 * Checks one path component (a model id or a file name). Refuses rather than rewrites anything
 * with a separator, a parent reference, a leading dot or characters outside a small safe set,
 * so a hostile name is reported instead of silently mapped onto another file.
 */
export function checkSafeName(name: string): string {
  if (name.includes('/') || name.includes('\\')) throw new UnsafeNameError(name, 'it contains a path separator');
  if (name === '.' || name === '..' || name.includes('..')) throw new UnsafeNameError(name, 'it refers to a parent folder');
  if (!SAFE_CHARS.test(name)) throw new UnsafeNameError(name, 'only letters, digits, ".", "_" and "-" are allowed (at most 80, not starting with ".")');
  return name;
}

/** Turns free text (a folder name, a repo id) into a safe model id; never returns an empty string. */
export function toSafeId(text: string): string {
  const cleaned = text
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[._-]+/, '')
    .replace(/[-.]+$/, '')
    .slice(0, 64);
  return cleaned || 'model';
}

/** Joins a checked name onto a root and verifies the resolved path is still strictly inside it. */
export function resolveInside(root: string, ...names: string[]): string {
  for (const n of names) checkSafeName(n);
  const absRoot = path.resolve(root);
  const target = path.resolve(absRoot, ...names);
  if (!target.startsWith(absRoot + path.sep)) throw new UnsafeNameError(names.join('/'), 'it resolves outside the store');
  return target;
}
