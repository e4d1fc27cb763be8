/** Log-log plot of median time against T, one series per kernel/backend/precision/shape; theme colours. */
import { headsLabel } from '../../kernels/bench/table.js';
import type { BenchRow } from '../../kernels/bench/types.js';

const PALETTE = ['--vscode-charts-blue', '--vscode-charts-red', '--vscode-charts-green', '--vscode-charts-orange', '--vscode-charts-purple', '--vscode-charts-yellow'];
const FALLBACK = ['#3794ff', '#f14c4c', '#89d185', '#d18616', '#b180d7', '#cca700'];

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

export function seriesName(r: BenchRow): string {
  return `${r.kernel} ${r.backend} ${r.precision} B${r.batch} ${headsLabel(r)}`;
}

/** Least-squares slope of log(time) against log(T): ≈ 2 for attention's O(T²). */
export function logLogSlope(points: { x: number; y: number }[]): number | undefined {
  if (points.length < 2) return undefined;
  const xs = points.map((p) => Math.log(p.x));
  const ys = points.map((p) => Math.log(p.y));
  const mx = xs.reduce((a, b) => a + b) / xs.length;
  const my = ys.reduce((a, b) => a + b) / ys.length;
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  return sxx > 0 ? xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0) / sxx : undefined;
}

export function drawPlot(canvas: HTMLCanvasElement, rows: BenchRow[]): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const ok = rows.filter((r) => r.status === 'ok' && r.medianMs! > 0);
  const series = new Map<string, { x: number; y: number }[]>();
  for (const r of ok) {
    const s = series.get(seriesName(r)) ?? [];
    s.push({ x: r.seqLen, y: r.medianMs! });
    series.set(seriesName(r), s);
  }
  // The legend goes under the axes, one line a series, so it never covers a curve at side-bar widths.
  const legendHeight = 14 * series.size;
  canvas.style.height = `${280 + legendHeight}px`;
  const dpr = globalThis.devicePixelRatio || 1;
  const width = canvas.clientWidth || 640;
  const height = canvas.clientHeight || 280 + legendHeight;
  canvas.width = width * dpr;
  canvas.height = height * dpr;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const fg = cssVar('--vscode-foreground', '#cccccc');
  const grid = cssVar('--vscode-editorWidget-border', '#555555');
  ctx.fillStyle = cssVar('--vscode-editor-background', '#1e1e1e');
  ctx.fillRect(0, 0, width, height);
  ctx.font = `11px ${cssVar('--vscode-font-family', 'sans-serif')}`;

  const left = 56, right = 12, top = 12, bottom = 40 + legendHeight;
  ctx.fillStyle = fg;
  if (ok.length === 0) {
    ctx.fillText('No successful results to plot yet.', left, top + 20);
    return;
  }
  const lx = ok.map((r) => Math.log10(r.seqLen));
  const ly = ok.map((r) => Math.log10(r.medianMs!));
  // One T only: centred, not pinned to the left edge.
  const oneT = Math.min(...lx) === Math.max(...lx);
  const [x0, x1] = oneT ? [lx[0] - 0.25, lx[0] + 0.25] : [Math.floor(Math.min(...lx) * 2) / 2, Math.ceil(Math.max(...lx) * 2) / 2];
  const [y0, y1] = [Math.floor(Math.min(...ly)), Math.ceil(Math.max(...ly)) + (Math.min(...ly) === Math.max(...ly) ? 1 : 0)];
  const px = (t: number) => left + ((Math.log10(t) - x0) / (x1 - x0)) * (width - left - right);
  const py = (ms: number) => height - bottom - ((Math.log10(ms) - y0) / (y1 - y0)) * (height - top - bottom);

  ctx.strokeStyle = grid;
  ctx.lineWidth = 1;
  for (let e = y0; e <= y1; e++) {
    const y = py(10 ** e);
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(width - right, y);
    ctx.stroke();
    ctx.fillText(`${10 ** e >= 1 ? 10 ** e : (10 ** e).toPrecision(1)} ms`, 4, y + 4);
  }
  for (const t of [...new Set(ok.map((r) => r.seqLen))]) {
    const x = px(t);
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, height - bottom);
    ctx.stroke();
    ctx.fillText(String(t), x - 10, height - bottom + 14);
  }
  ctx.fillText('sequence length T (log)', width / 2 - 50, height - legendHeight - 6);

  let i = 0;
  let legendY = height - legendHeight + 10;
  for (const [name, pts] of series) {
    const colour = cssVar(PALETTE[i % PALETTE.length], FALLBACK[i % FALLBACK.length]);
    i++;
    pts.sort((a, b) => a.x - b.x);
    ctx.strokeStyle = ctx.fillStyle = colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    pts.forEach((p, j) => (j ? ctx.lineTo(px(p.x), py(p.y)) : ctx.moveTo(px(p.x), py(p.y))));
    ctx.stroke();
    for (const p of pts) ctx.fillRect(px(p.x) - 3, py(p.y) - 3, 6, 6);
    const slope = logLogSlope(pts);
    ctx.fillText(`${name}${slope === undefined ? '' : `  slope ${slope.toFixed(2)}`}`, 4, legendY);
    legendY += 14;
  }
}
