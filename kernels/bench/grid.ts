/** The benchmark grid: defaults, expansion into cases, and parsing of lists from text. */
import { BACKENDS, type BenchCase, type BenchSettings, KERNELS, type KernelName, PRECISIONS, TILE_CHOICES, type TileChoice } from './types.js';

/**
 * Small T, one head count as multi-head and as grouped-query attention (8 query heads over 2 K/V heads,
 * the grouping of Llama 3's 32/8), fp32: about two minutes on SwiftShader (a CPU).
 */
export const QUICK_SETTINGS: BenchSettings = {
  kernels: ['ours', 'manual', 'ort-fused'],
  backends: ['webgpu', 'wasm'],
  precisions: ['fp32'],
  seqLens: [64, 256],
  heads: [8],
  queriesPerKv: [1, 4],
  batches: [1],
  headDim: 64,
  causal: true,
  warmup: 1,
  budgetMs: 300,
  minRuns: 3,
  maxRuns: 50,
  interleave: true,
  timestamps: true,
  tileChoice: 'auto',
};

/** The full grid of the issue, for real GPUs. */
export const FULL_SETTINGS: BenchSettings = {
  ...QUICK_SETTINGS,
  precisions: ['fp32', 'fp16'],
  seqLens: [128, 256, 512, 1024, 2048, 4096],
  heads: [4, 8, 16],
  batches: [1, 8],
  warmup: 3,
  budgetMs: 2000,
  minRuns: 5,
  maxRuns: 200,
  interleave: false,
};

/** Cases in run order: by shape, then each kernel on each backend. `ours` is WebGPU only. */
export function expandGrid(s: BenchSettings): BenchCase[] {
  checkGrouping(s);
  const out: BenchCase[] = [];
  for (const batch of s.batches)
    for (const heads of s.heads)
      for (const kvHeads of s.queriesPerKv.map((g) => heads / g))
        for (const seqLen of s.seqLens)
          for (const precision of s.precisions)
            for (const backend of s.backends)
              for (const kernel of s.kernels) {
                if (kernel === 'ours' && backend !== 'webgpu') continue;
                out.push({ kernel, backend, precision, batch, heads, kvHeads, seqLen, headDim: s.headDim, causal: s.causal });
              }
  return out;
}

export class SettingsError extends Error {
  override name = 'SettingsError';
  constructor(
    message: string,
    /** The setting at fault (the form field's name), when one is. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Every head count must split into whole groups of each `queriesPerKv`. */
export function checkGrouping(s: Pick<BenchSettings, 'heads' | 'queriesPerKv'>): void {
  for (const h of s.heads)
    for (const g of s.queriesPerKv)
      if (h % g !== 0) throw new SettingsError(`${h} heads cannot share K/V heads ${g} at a time: every head count must be a multiple of each "query heads per K/V head" (${s.queriesPerKv.join(', ')})`, 'queriesPerKv');
}

export function parseNumberList(text: string, what: string): number[] {
  const list = text.split(',').map((x) => x.trim()).filter(Boolean).map(Number);
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1)) throw new SettingsError(`${what}: expected positive integers separated by commas, got "${text}"`);
  return list;
}

export function parseChoiceList<T extends string>(text: string, allowed: readonly T[], what: string): T[] {
  const list = text.split(',').map((x) => x.trim()).filter(Boolean);
  const bad = list.filter((x) => !allowed.includes(x as T));
  if (list.length === 0 || bad.length) throw new SettingsError(`${what}: expected some of ${allowed.join(', ')}, got "${text}"`);
  return list as T[];
}

export const parseKernels = (t: string): KernelName[] => parseChoiceList(t, KERNELS, 'kernels');
export const parseBackends = (t: string) => parseChoiceList(t, BACKENDS, 'backends');
export const parsePrecisions = (t: string) => parseChoiceList(t, PRECISIONS, 'precisions');
export function parseTileChoice(t: string): TileChoice {
  const list = parseChoiceList(t, TILE_CHOICES, 'tiles');
  if (list.length !== 1) throw new SettingsError(`tiles: one of ${TILE_CHOICES.join(', ')}, got "${t}"`);
  return list[0];
}
