/** The benchmark grid: defaults, expansion into cases, and parsing of lists from text. */
import { BACKENDS, type BenchCase, type BenchSettings, KERNELS, type KernelName, PRECISIONS, TILE_CHOICES, type TileChoice } from './types.js';

/** Finishes within about a minute on SwiftShader (a CPU): small T, one head count, fp32. */
export const QUICK_SETTINGS: BenchSettings = {
  kernels: ['ours', 'manual', 'ort-fused'],
  backends: ['webgpu', 'wasm'],
  precisions: ['fp32'],
  seqLens: [64, 256],
  heads: [8],
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
  const out: BenchCase[] = [];
  for (const batch of s.batches)
    for (const heads of s.heads)
      for (const seqLen of s.seqLens)
        for (const precision of s.precisions)
          for (const backend of s.backends)
            for (const kernel of s.kernels) {
              if (kernel === 'ours' && backend !== 'webgpu') continue;
              out.push({ kernel, backend, precision, batch, heads, seqLen, headDim: s.headDim, causal: s.causal });
            }
  return out;
}

export class SettingsError extends Error {
  override name = 'SettingsError';
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
