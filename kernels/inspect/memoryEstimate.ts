/**
 * How much memory an inspection takes, estimated before it runs (from the model's config, not its
 * weights), so that the host and the CLI can refuse one that would not fit and offer the longest that
 * does. What the runtime does (kernels/runtime/decoderInspector.ts), in the order of the phases below:
 * - session creation: the weights as stored are in JS (the model file's bytes), ORT copies them into its
 *   wasm heap (external data) and, when the graph's dtype differs, folds a widened copy (fp16 → fp32);
 * - the forward pass: the heap holds the runtime's weights, every layer's q and k (graph outputs, then
 *   copied out to JS), one layer's temporaries (residual stream, MLP, the (H, T, T) scores of manual
 *   attention) and one block of the unembedding's logits and log-probabilities;
 * - the maps: one layer's (H, T, T) probabilities derived at a time, its scores in the heap and the
 *   result in JS.
 * A wasm heap never shrinks, so the heap's high-water mark carries from phase to phase. On WebGPU the weights and the forward's tensors live in GPU memory (counted too: on a
 * software adapter that is the renderer's own memory), and the heap still takes the stored weights once
 * on their way there. The constants (base, temporaries per token) are calibrated against measured peak
 * RSS of the CLI (README: "Memory estimate").
 */
import type { DecoderConfig } from '../model/decoder.js';
import type { WeightDType } from '../model/types.js';

export type EstimateRuntime = 'wasm' | 'webgpu';

export interface MemoryEstimateInput {
  config: DecoderConfig;
  /** How the weights are stored (model.safetensors). */
  stored: WeightDType;
  /** The graph's compute dtype (the runtime widens stored weights to it). */
  compute: 'fp32' | 'fp16';
  tokens: number;
  /** Layers whose (H, T, T) maps are held at once (the CLI and the panel derive one at a time). */
  mapsLayers: number;
  runtime: EstimateRuntime;
  /**
   * What of the stored weights the caller keeps in JS once the sessions are made: all (the CLI's Chromium
   * page), each layer's attention tensors (the panel, for its trace graphs), none (the CLI on wasm).
   */
  keptWeights: 'all' | 'attention' | 'none';
  /** Positions per block of the unembedding (LOGITS_BLOCK). */
  logitsBlock: number;
  /** Layers whose q and k the forward keeps (default every layer; the CLI keeps only its `--layers`). */
  keptLayers?: number;
  /** Layers whose input (T, D) the forward keeps for their traces (default none; the panel keeps every layer's). */
  keptLayerInputs?: number;
  /** Query rows per block of manual attention (QUERY_BLOCK on wasm); default the whole (H, T, T) scores. */
  queryBlock?: number;
  /** Heads whose (T, T) maps are derived at once (default a whole layer's; the CLI derives one head at a time). */
  mapsHeads?: number;
  /** The process it runs in: Node (the CLI, default) or a webview's renderer (the panel: its own base; wasm calibrated apart). */
  process?: 'node' | 'renderer';
}

/** Bytes, by what holds them; `total` is the peak over the phases, not the sum of the parts. */
export interface MemoryEstimate {
  /** The weights as stored (JS: the model file's bytes). */
  weightsStored: number;
  /** The runtime's weights: ORT's copy, widened to the compute dtype, plus what folding leaves of the stored copy. */
  weightsRuntime: number;
  /** Forward pass: every layer's q and k and the kept layer inputs (heap and JS), one layer's temporaries. */
  activations: number;
  /** One layer's maps (times mapsLayers) and the scores they are derived from. */
  maps: number;
  /** One block of logits and log-probabilities. */
  logits: number;
  /** Node or the renderer with ORT loaded, before any model. */
  base: number;
  total: number;
}

const F32 = 4;
const MB = 1024 * 1024;
/**
 * Calibrated (README "Memory estimate"): the process with ORT's wasm module and its threads (the CLI on
 * the embedded model at 16 tokens peaks at 360 MiB); the share of the stored weights still in the heap
 * beside their widened copy when folding ends (ORT frees them as it goes); per token and layer width,
 * the forward's temporaries besides the scores (residual, LayerNorm, q/k/v, MLP hidden and gelu's
 * intermediates); (H, T, T) tensors alive at once in manual attention (scores, scaled, masked, probs
 * with ORT reusing some).
 */
const BASE_BYTES = 350 * MB;
/**
 * The panel on wasm, fitted to the renderer's peak RSS (README "Memory estimate", `bench:inspect`, five
 * models at T = 1,024): beside the weights in the heap, a renderer held about twice what Node's constants
 * say of the run's other memory (the page, heap slack, the trace layer's tensors, the inspection on screen
 * while the next runs: not taken apart), so its peak is RENDERER_BASE plus the larger of session creation
 * and the run with that other memory times RENDERER_SCALE.
 */
const RENDERER_BASE_BYTES = 950 * MB;
const RENDERER_SCALE = 1.95;
const FOLDING_OVERLAP = 0.4;
const TEMPORARY_D = 10;
const TEMPORARY_F = 4;
const SCORE_TENSORS = 3;

export function bytesPerElement(d: WeightDType | 'fp32' | 'fp16'): number {
  return d === 'F32' || d === 'fp32' ? 4 : 2;
}

/** Parameters of one layer's attention (its norm, projections, q/k norms) and of its MLP (with its norm). */
function layerParameters(c: DecoderConfig): { attention: number; mlp: number } {
  const { nEmbd: D, nInner: F, nHead: H, nKvHead: KV, headDim: dh } = c;
  const norm = c.norm.kind === 'layernorm' ? 2 * D : D;
  const q = D * H * dh + (c.attention.qkvBias ? H * dh : 0);
  const kv = 2 * (D * KV * dh + (c.attention.qkvBias ? KV * dh : 0));
  const o = H * dh * D + (c.attention.oBias ? D : 0);
  const mlp = c.mlp.kind === 'swiglu' ? 3 * D * F + (c.mlp.bias ? 2 * F + D : 0) : 2 * D * F + (c.mlp.bias ? F + D : 0);
  return { attention: norm + q + kv + o + (c.attention.qkNorm ? 2 * dh : 0), mlp: norm + mlp };
}

/** Parameters of a decoder from its description (GPT-2: the unembedding tied to wte). */
export function parameterCount(c: DecoderConfig): number {
  const { nLayer: L, nEmbd: D, vocabSize: V, nPositions: P } = c;
  const { attention, mlp } = layerParameters(c);
  const finalNorm = c.norm.kind === 'layernorm' ? 2 * D : D;
  return V * D * (c.tiedEmbeddings ? 1 : 2) + (c.positions.kind === 'learned' ? P * D : 0) + L * (attention + mlp) + finalNorm;
}

/** Parameters of every layer's attention: what a layer's trace graph is made from. */
export function attentionParameterCount(c: DecoderConfig): number {
  return c.nLayer * layerParameters(c).attention;
}

/**
 * How a model.safetensors of `bytes` stores its weights: its size over the parameter count (the header
 * is small next to the data). BF16 and F16 are alike in size and in this estimate.
 */
export function storedDtypeOfSize(c: DecoderConfig, bytes: number): WeightDType {
  return bytes / parameterCount(c) >= 3 ? 'F32' : 'F16';
}

export function estimateInspectionMemory(i: MemoryEstimateInput): MemoryEstimate {
  const { nLayer: L, nHead: H, nEmbd: D, nInner: F, vocabSize: V, headDim: dh } = i.config;
  const T = i.tokens;
  const P = parameterCount(i.config);
  const weightsStored = P * bytesPerElement(i.stored);
  const computeWeights = P * bytesPerElement(i.compute);
  const widened = i.stored !== 'F32' && i.compute === 'fp32';
  const heapAtCreation = widened ? FOLDING_OVERLAP * weightsStored + computeWeights : computeWeights;
  // Keys repeated to the H query heads, as attention used them.
  // What the forward keeps: q and k, and the layer inputs traces read.
  const kept = 2 * (i.keptLayers ?? L) * T * H * dh * F32 + (i.keptLayerInputs ?? 0) * T * D * F32;
  const scoreRows = Math.min(i.queryBlock ?? T, T);
  const temporaries = T * (TEMPORARY_D * D + TEMPORARY_F * F) * F32 + SCORE_TENSORS * H * scoreRows * T * F32;
  const logits = 2 * Math.min(i.logitsBlock, T) * V * F32;
  const derived = (i.mapsHeads ?? H) * T * T * F32;
  // The maps graph's inputs (one layer's q and k) and its scores.
  const mapsHeap = 2 * T * H * dh * F32 + SCORE_TENSORS * derived;
  const mapsJs = i.mapsLayers * derived;
  const forwardHeap = kept + temporaries + logits;
  const keptJs = { all: weightsStored, attention: attentionParameterCount(i.config) * bytesPerElement(i.stored), none: 0 }[i.keptWeights];

  let creation: number;
  /** What the run holds of the weights (heap, device), and the rest: activations, kept tensors, maps. */
  let runWeights: number;
  const runRest = Math.max(forwardHeap, mapsHeap) + keptJs + kept + mapsJs;
  // Attention tensors kept are copied out while the whole file is still held.
  const copying = i.keptWeights === 'attention' ? keptJs : 0;
  if (i.runtime === 'wasm') {
    creation = weightsStored + heapAtCreation + copying;
    // What folding left of the stored copy is not counted as reusable: measured peaks fit the heap growing past it.
    runWeights = heapAtCreation;
  } else {
    // Heap: the stored weights on their way to the GPU; device: the weights, and (in runRest) the forward's tensors.
    creation = 2 * weightsStored + computeWeights + copying;
    runWeights = weightsStored + computeWeights;
  }
  // A renderer's own memory is there whatever the runtime; the scale is of the run's non-weight memory,
  // where the renderer's extra was measured, on wasm only (WebGPU in a renderer never was, here: no GPU).
  const inRenderer = i.process === 'renderer';
  const base = inRenderer ? RENDERER_BASE_BYTES : BASE_BYTES;
  const scale = inRenderer && i.runtime === 'wasm' ? RENDERER_SCALE : 1;
  const running = runWeights + scale * runRest;
  return {
    weightsStored,
    weightsRuntime: runWeights,
    activations: 2 * kept + temporaries,
    maps: mapsJs + mapsHeap,
    logits,
    base,
    total: base + Math.max(creation, running),
  };
}

/**
 * The most tokens (≤ the model's context) whose inspection fits in `budgetBytes`; 0 when not even one
 * does (the weights alone are too much). The estimate grows with T, so a binary search.
 */
export function longestFittingTokens(i: Omit<MemoryEstimateInput, 'tokens'>, budgetBytes: number): number {
  const fits = (T: number) => estimateInspectionMemory({ ...i, tokens: T }).total <= budgetBytes;
  if (!fits(1)) return 0;
  let lo = 1;
  let hi = i.config.nPositions;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** "1.3 GB" / "640 MB": how the host and CLI say an estimate. */
export function formatBytes(bytes: number): string {
  return bytes >= 1000 * MB ? `${(bytes / (1024 * MB)).toFixed(1)} GB` : `${Math.round(bytes / MB)} MB`;
}
