/** Summary statistics of timed runs: median, spread and outliers. */

export interface TimeSummary {
  medianMs: number;
  minMs: number;
  maxMs: number;
  spreadPct: number;
  outliers: number;
}

function quantile(sorted: number[], p: number): number {
  const i = (sorted.length - 1) * p;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (i - lo);
}

export function summarize(times: number[]): TimeSummary {
  if (times.length === 0) throw new RangeError('no timed runs to summarize');
  const s = [...times].sort((a, b) => a - b);
  const median = quantile(s, 0.5);
  const iqr = quantile(s, 0.75) - quantile(s, 0.25);
  // Median absolute deviation, scaled to a standard deviation for normal data.
  const mad = 1.4826 * quantile(s.map((t) => Math.abs(t - median)).sort((a, b) => a - b), 0.5);
  const outliers = mad > 0 ? s.filter((t) => Math.abs(t - median) > 3 * mad).length : 0;
  return { medianMs: median, minMs: s[0], maxMs: s[s.length - 1], spreadPct: median > 0 ? (100 * iqr) / median : 0, outliers };
}
