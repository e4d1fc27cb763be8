// Scaled dot-product attention for one head, written out plainly.
// Select a few lines and run "Inspect Attention" (Ctrl+Alt+I) to see which tokens look at which.

export function softmax(row: number[]): number[] {
  const max = Math.max(...row);
  const exps = row.map((x) => Math.exp(x - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((x) => x / sum);
}

export function attention(q: number[][], k: number[][], v: number[][], causal = true): number[][] {
  const scale = 1 / Math.sqrt(q[0].length);
  return q.map((qi, i) => {
    const scores = k.map((kj, j) => (causal && j > i ? -Infinity : dot(qi, kj) * scale));
    const weights = softmax(scores);
    return v[0].map((_, d) => weights.reduce((acc, w, j) => acc + w * v[j][d], 0));
  });
}

function dot(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
