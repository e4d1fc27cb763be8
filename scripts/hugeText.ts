/** Huge one-line texts for the benchmarks of huge selections. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './vscodeServer.js';

/** A minified-JS-like line of `chars` characters: the sample's code with its line breaks and indentation squeezed out. */
export function minifiedLine(chars: number): string {
  const line = readFileSync(join(REPO_ROOT, 'samples', 'attention.ts'), 'utf8').replace(/\s*\n\s*/g, ';');
  return line.repeat(Math.ceil(chars / line.length)).slice(0, chars);
}
