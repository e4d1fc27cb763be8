/**
 * Tile choice per adapter: the largest tiles that fit the adapter's workgroup memory and invocation
 * limits, with the subgroup reduction where the adapter has subgroups wide enough for a row group.
 * `fittingTiles` lists every configuration that fits, for the benchmark to time them on the adapter.
 */
import { FlashConfigError, type FlashTiles, validateFlashConfig, workgroupBytes, workgroupThreads } from './flashWgsl.js';
import type { GpuFacts } from './gpuFacts.js';

/** Candidates, best first: bigger query tiles reuse each K/V load across more rows. */
const CANDIDATES: ReadonlyArray<Omit<FlashTiles, 'subgroups'>> = [
  { rows: 64, keys: 32, rowsPerThread: 4, threadsPerRow: 8 },
  { rows: 64, keys: 32, rowsPerThread: 8, threadsPerRow: 8 },
  { rows: 64, keys: 32, rowsPerThread: 4, threadsPerRow: 4 },
  { rows: 64, keys: 16, rowsPerThread: 4, threadsPerRow: 4 },
  { rows: 64, keys: 32, rowsPerThread: 2, threadsPerRow: 8 },
  { rows: 32, keys: 32, rowsPerThread: 4, threadsPerRow: 8 },
  { rows: 32, keys: 32, rowsPerThread: 4, threadsPerRow: 4 },
  { rows: 32, keys: 16, rowsPerThread: 2, threadsPerRow: 8 },
  { rows: 16, keys: 16, rowsPerThread: 2, threadsPerRow: 4 },
  { rows: 16, keys: 16, rowsPerThread: 1, threadsPerRow: 4 },
  { rows: 8, keys: 8, rowsPerThread: 1, threadsPerRow: 4 },
  { rows: 4, keys: 4, rowsPerThread: 1, threadsPerRow: 1 },
];

/**
 * On a CPU adapter (SwiftShader) threads of a workgroup run as fibers on SIMD lanes, barriers are costly
 * and registers are plentiful: few threads each holding whole rows measured fastest there.
 */
const CPU_CANDIDATES: ReadonlyArray<Omit<FlashTiles, 'subgroups'>> = [
  { rows: 32, keys: 32, rowsPerThread: 8, threadsPerRow: 1 },
  { rows: 16, keys: 16, rowsPerThread: 4, threadsPerRow: 1 },
];

export type FlashLimits = Pick<GpuFacts, 'maxWorkgroupStorage' | 'maxInvocations' | 'subgroups' | 'subgroupMinSize'> & { isFallbackAdapter?: boolean };

export function tilesFit(t: FlashTiles, headDim: number, limits: FlashLimits): boolean {
  try {
    validateFlashConfig({ ...t, headDim, precision: 'fp32' });
  } catch {
    return false;
  }
  if (t.subgroups && (!limits.subgroups || !limits.subgroupMinSize || limits.subgroupMinSize % t.threadsPerRow !== 0)) return false;
  return workgroupThreads(t) <= limits.maxInvocations && workgroupBytes({ ...t, headDim }) <= limits.maxWorkgroupStorage;
}

/**
 * Every configuration that fits this adapter and head size, best guess first; `useSubgroups: false`
 * forces the workgroup-memory reduction (the path for adapters without subgroups).
 */
export function fittingTiles(headDim: number, limits: FlashLimits, useSubgroups = true): FlashTiles[] {
  const out: FlashTiles[] = [];
  for (const c of limits.isFallbackAdapter ? [...CPU_CANDIDATES, ...CANDIDATES] : CANDIDATES) {
    if (useSubgroups && c.threadsPerRow > 1 && tilesFit({ ...c, subgroups: true }, headDim, limits)) out.push({ ...c, subgroups: true });
    else if (tilesFit({ ...c, subgroups: false }, headDim, limits)) out.push({ ...c, subgroups: false });
  }
  return out;
}

/** Picks the first fitting configuration for this adapter and head size. */
export function chooseFlashTiles(headDim: number, limits: FlashLimits, useSubgroups = true): FlashTiles {
  const first = fittingTiles(headDim, limits, useSubgroups)[0];
  if (!first) throw new FlashConfigError(`no flash tile configuration fits head size ${headDim} within ${limits.maxWorkgroupStorage} bytes of workgroup memory`);
  return first;
}

/** Short words for a configuration, as the benchmark shows it. */
export function tilesLabel(t: FlashTiles): string {
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  return `${t.rows}x${t.keys}, ${count(t.rowsPerThread, 'row')} x ${count(t.threadsPerRow, 'thread')}${t.subgroups ? ', subgroups' : ''}`;
}
