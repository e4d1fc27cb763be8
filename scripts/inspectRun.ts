/** One timed Inspect Attention in code-server, for the bench:inspect benchmarks. */
import type { Workbench } from '../test/e2e/harness.js';
import type { HoverProbe } from './hoverProbe.js';

export function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

export interface TimedRun<K extends string> {
  kind: K;
  /** The panel's mark: host's command time → large heatmap drawn. */
  panelMs: number;
  /** Enter in the palette → that mark visible to Playwright. */
  driverMs: number;
  /** Hover round trips (ms) of `probe` that overlapped Enter → mark seen, when a probe was given. */
  hoverMs?: number[];
}

/**
 * Makes the selection, runs Inspect Attention and waits for inspection `n` of this extension host to
 * be drawn; with a probe, hovers are timed back to back meanwhile.
 */
export async function inspectOnce<K extends string>(wb: Workbench, n: number, kind: K, select: () => Promise<void>, probe?: HoverProbe, timeoutMs = 120_000): Promise<TimedRun<K>> {
  await select();
  const drawn = (async () => {
    const enterMs = await wb.runCommand('Inspect Attention');
    const body = (await wb.webview('Attention Inspector')).locator(`body[data-inspected="${n}"]`);
    await body.waitFor({ timeout: timeoutMs });
    return { enterMs, seenMs: Date.now(), panelMs: Number(await body.getAttribute('data-first-heatmap-ms')) };
  })();
  const rounds = probe ? await probe.until(drawn) : undefined;
  const { enterMs, seenMs, panelMs } = await drawn;
  const run: TimedRun<K> = { kind, panelMs, driverMs: seenMs - enterMs };
  if (rounds) run.hoverMs = rounds.filter((r) => r.endMs > enterMs && r.startMs < seenMs).map((r) => r.endMs - r.startMs);
  const hovers = run.hoverMs ? `; hovers meanwhile ${run.hoverMs.join(', ')} ms` : '';
  console.log(`${kind}: panel ${run.panelMs} ms, driver ${run.driverMs} ms (Enter at ${new Date(enterMs).toISOString()})${hovers}`);
  return run;
}
