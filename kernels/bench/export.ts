/** CSV and JSON forms of a benchmark report. */
import type { BenchReport, BenchRow } from './types.js';

const COLUMNS: (keyof BenchRow)[] = [
  'kernel', 'backend', 'precision', 'batch', 'heads', 'kvHeads', 'seqLen', 'headDim', 'causal', 'status', 'provider', 'timing', 'runs',
  'medianMs', 'minMs', 'maxMs', 'spreadPct', 'outliers', 'tflops', 'extraBytes', 'maxAbsDiff', 'tolerance', 'reference', 'note',
];

function csvCell(v: unknown): string {
  const s = v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(report: BenchReport): string {
  return [COLUMNS.join(','), ...report.rows.map((r) => COLUMNS.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
}

export function toJson(report: BenchReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}
