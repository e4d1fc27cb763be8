/** Warm-up, then timed runs until a time budget is spent. */
import { cancellationCheck, type KernelRunner, now } from './runner.js';
import type { BenchSettings } from './types.js';

export async function measure(
  runner: KernelRunner,
  s: Pick<BenchSettings, 'warmup' | 'budgetMs' | 'minRuns' | 'maxRuns'>,
  signal?: AbortSignal,
): Promise<number[]> {
  const stopIfCancelled = cancellationCheck(signal);
  for (let i = 0; i < s.warmup; i++) {
    await stopIfCancelled();
    await runner.run();
  }
  const times: number[] = [];
  const start = now();
  while (times.length < s.maxRuns && (times.length < s.minRuns || now() - start < s.budgetMs)) {
    await stopIfCancelled();
    times.push(await runner.run());
  }
  return times;
}

/**
 * Several kernels on the same inputs, timed in alternation (one run of each per round) so that load
 * from elsewhere on the machine falls on all of them alike: their ratio is fair even when the
 * absolute times drift. Returns the times of each runner, in order.
 */
export async function measureInterleaved(
  runners: KernelRunner[],
  s: Pick<BenchSettings, 'warmup' | 'budgetMs' | 'minRuns' | 'maxRuns'>,
  signal?: AbortSignal,
): Promise<number[][]> {
  const stopIfCancelled = cancellationCheck(signal);
  for (const r of runners) {
    for (let i = 0; i < s.warmup; i++) {
      await stopIfCancelled();
      await r.run();
    }
  }
  const times = runners.map((): number[] => []);
  const start = now();
  const budget = s.budgetMs * runners.length;
  for (let round = 0; round < s.maxRuns && (round < s.minRuns || now() - start < budget); round++) {
    for (let i = 0; i < runners.length; i++) {
      await stopIfCancelled();
      times[i].push(await runners[i].run());
    }
  }
  return times;
}
