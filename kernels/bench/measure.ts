/** Warm-up, then timed runs until a time budget is spent. */
import { BenchCancelled, type KernelRunner, now } from './runner.js';
import type { BenchSettings } from './types.js';

export async function measure(
  runner: KernelRunner,
  s: Pick<BenchSettings, 'warmup' | 'budgetMs' | 'minRuns' | 'maxRuns'>,
  signal?: AbortSignal,
): Promise<number[]> {
  const stopIfCancelled = () => {
    if (signal?.aborted) throw new BenchCancelled();
  };
  for (let i = 0; i < s.warmup; i++) {
    stopIfCancelled();
    await runner.run();
  }
  const times: number[] = [];
  const start = now();
  while (times.length < s.maxRuns && (times.length < s.minRuns || now() - start < s.budgetMs)) {
    stopIfCancelled();
    times.push(await runner.run());
  }
  return times;
}
