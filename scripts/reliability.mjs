// The reliability tally of a test run: tests append what they observed (one JSON line per hostile input
// or interrupted action, test/support/reliability.ts) to test-results/reliability.jsonl; scripts/test.mjs
// clears it before the run and prints one table after it. Plain JavaScript: test.mjs runs without tsx.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const RELIABILITY_LOG = join(resolve(import.meta.dirname, '..'), 'test-results', 'reliability.jsonl');

export function clearReliabilityLog(file = RELIABILITY_LOG) {
  rmSync(file, { force: true });
}

/** The observations in `file`, summed per kind, in the order the kinds first appeared. */
export function readReliability(file = RELIABILITY_LOG) {
  const kinds = new Map();
  if (!existsSync(file)) return [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const o = JSON.parse(line);
    const k = kinds.get(o.kind) ?? { kind: o.kind, tried: 0, clearError: 0, handled: 0, unclear: 0, lost: 0, storeInvolved: false };
    k.tried++;
    if (o.outcome === 'clear error') k.clearError++;
    else if (o.outcome === 'handled') k.handled++;
    else k.unclear++;
    if (typeof o.lost === 'number') {
      k.storeInvolved = true;
      k.lost += o.lost;
    }
    kinds.set(o.kind, k);
  }
  return [...kinds.values()];
}

/** A Markdown table of the summed kinds (the README quotes it). */
export function reliabilityTable(rows) {
  const lines = [
    '| kind | tried | clear error | handled (worked, consistent) | neither | models lost or corrupted |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.kind} | ${r.tried} | ${r.clearError} | ${r.handled} | ${r.unclear} | ${r.storeInvolved ? r.lost : '–'} |`),
  ];
  const total = rows.reduce((n, r) => ({ tried: n.tried + r.tried, lost: n.lost + r.lost }), { tried: 0, lost: 0 });
  lines.push(`| **all** | ${total.tried} | ${rows.reduce((n, r) => n + r.clearError, 0)} | ${rows.reduce((n, r) => n + r.handled, 0)} | ${rows.reduce((n, r) => n + r.unclear, 0)} | ${total.lost} |`);
  return lines.join('\n');
}
