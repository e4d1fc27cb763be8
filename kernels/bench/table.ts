/** Human-readable cells of a report, shared by the view and the command line. */
import type { BenchReport, BenchRow, TileTrial } from './types.js';

export const TABLE_HEADERS = ['kernel', 'backend', 'prec', 'B', 'H', 'KV', 'T', 'median ms', 'spread', 'runs', 'TFLOP/s', 'max |ΔO|', 'extra bytes', 'provider'];

/** A shape's heads in words: `H8` for multi-head, `H8 KV2` when 8 query heads share 2 key/value heads. */
export function headsLabel(c: Pick<BenchRow, 'heads' | 'kvHeads'>): string {
  return c.kvHeads < c.heads ? `H${c.heads} KV${c.kvHeads}` : `H${c.heads}`;
}

export function formatBytes(n: number): string {
  if (n === 0) return '0';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(n < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

/**
 * Intermediate memory beyond Q, K, V, O: `manual` materializes the (B,H,T,T) scores at least once (a
 * lower bound), `ours` none; onnxruntime's fused op does not say what it allocates.
 */
export function extraBytesCell(r: BenchRow): string {
  if (r.extraBytes === undefined) return 'not reported';
  return `${r.kernel === 'manual' && r.extraBytes > 0 ? '≥ ' : ''}${formatBytes(r.extraBytes)}`;
}

/** The time cell: a failed or unavailable row never shows a time. */
export function timeCell(r: BenchRow): string {
  if (r.status === 'ok') return r.medianMs! < 10 ? r.medianMs!.toFixed(3) : r.medianMs!.toFixed(1);
  return r.status.toUpperCase();
}

export function rowCells(r: BenchRow): string[] {
  const ok = r.status === 'ok';
  return [
    r.kernel,
    r.backend,
    r.precision,
    String(r.batch),
    String(r.heads),
    String(r.kvHeads),
    String(r.seqLen),
    timeCell(r),
    ok ? `±${r.spreadPct!.toFixed(0)}%${r.outliers ? ` (${r.outliers} outl.)` : ''}` : '',
    String(r.runs),
    ok ? r.tflops!.toPrecision(3) : '',
    r.maxAbsDiff === undefined ? '' : r.maxAbsDiff.toExponential(1),
    extraBytesCell(r),
    r.status === 'ok' || r.status === 'failed' ? r.provider : r.note ?? '',
  ];
}

/** `ours` against another kernel on the same shape and backend: how many times faster ours is. */
export interface Speedup {
  batch: number;
  heads: number;
  kvHeads: number;
  seqLen: number;
  precision: string;
  against: string;
  ratio: number;
}

export function speedups(report: BenchReport, against: BenchRow['kernel'] = 'ort-fused'): Speedup[] {
  const ok = report.rows.filter((r) => r.status === 'ok' && r.backend === 'webgpu');
  const out: Speedup[] = [];
  for (const o of ok.filter((r) => r.kernel === 'ours')) {
    const other = ok.find((r) => r.kernel === against && r.batch === o.batch && r.heads === o.heads && r.kvHeads === o.kvHeads && r.seqLen === o.seqLen && r.precision === o.precision);
    if (other) out.push({ batch: o.batch, heads: o.heads, kvHeads: o.kvHeads, seqLen: o.seqLen, precision: o.precision, against, ratio: other.medianMs! / o.medianMs! });
  }
  return out;
}

function alignColumns(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

export function textTable(report: BenchReport): string {
  return alignColumns([TABLE_HEADERS, ...report.rows.map(rowCells)]);
}

/** The tile configurations a tuned `ours` tried, fastest agreeing first. */
export function trialsTable(trials: TileTrial[]): string {
  const order = (t: TileTrial) => (t.note || t.medianMs === undefined ? Infinity : t.medianMs);
  const sorted = [...trials].sort((a, b) => order(a) - order(b));
  return alignColumns([
    ['  tiles', 'median ms', 'max |ΔO|', ''],
    ...sorted.map((t) => [`  ${t.tiles}`, t.medianMs?.toFixed(3) ?? '', t.maxAbsDiff?.toExponential(1) ?? '', t.note ?? '']),
  ]);
}
