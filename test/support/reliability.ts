/**
 * What a reliability test observed, one line per hostile input or interrupted action, appended to
 * test-results/reliability.jsonl as it happens (a run that dies midway still counts what it saw);
 * scripts/test.mjs prints the table of a whole run (scripts/reliability.mjs).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { RELIABILITY_LOG } from '../../scripts/reliability.mjs';

/** `clear error`: refused with a typed one-line error; `handled`: worked despite it and left things consistent; `unclear`: anything else. */
export type Outcome = 'clear error' | 'handled' | 'unclear';

/**
 * Records one observation of `kind`. `lost`: models of the store lost or corrupted by it, as checked
 * afterwards; leave it out where no store was involved (the loader on an in-memory folder).
 */
export function observe(kind: string, outcome: Outcome, lost?: number, detail?: string): void {
  mkdirSync(dirname(RELIABILITY_LOG), { recursive: true });
  appendFileSync(RELIABILITY_LOG, `${JSON.stringify({ kind, outcome, lost, detail, at: new Date().toISOString() })}\n`);
}
