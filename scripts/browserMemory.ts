/**
 * Resident memory of the Chromium a Workbench drives, sampled from /proc while a benchmark runs: its
 * processes are the ones whose command line names its profile folder. The "renderer" figure is the
 * largest renderer process (the webview's, when it holds a model), the total all of Chromium's.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface MemoryPeak {
  rendererMB: number;
  totalMB: number;
}

function sample(marker: string): { rendererMB: number; totalMB: number } {
  let rendererMB = 0;
  let totalMB = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmdline.includes(marker)) continue;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      const mb = rss ? Number(rss[1]) / 1024 : 0;
      totalMB += mb;
      if (cmdline.includes('--type=renderer')) rendererMB = Math.max(rendererMB, mb);
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return { rendererMB, totalMB };
}

/** Samples every `everyMs` until stopped; `stop()` gives the peaks since the start (or since `reset()`). */
export function watchBrowserMemory(marker: string, everyMs = 250): { reset(): void; peak(): MemoryPeak; stop(): MemoryPeak } {
  let peak: MemoryPeak = { rendererMB: 0, totalMB: 0 };
  const tick = () => {
    const s = sample(marker);
    peak = { rendererMB: Math.max(peak.rendererMB, s.rendererMB), totalMB: Math.max(peak.totalMB, s.totalMB) };
  };
  const timer = setInterval(tick, everyMs);
  const rounded = () => ({ rendererMB: Math.round(peak.rendererMB), totalMB: Math.round(peak.totalMB) });
  return {
    reset: () => void (peak = { rendererMB: 0, totalMB: 0 }),
    peak: rounded,
    stop: () => {
      clearInterval(timer);
      tick();
      return rounded();
    },
  };
}
