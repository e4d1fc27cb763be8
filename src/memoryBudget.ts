/**
 * The panel's side of "know before you run" (no vscode, so it is unit-tested): the estimate of one
 * inspection in the webview (kernels/inspect/memoryEstimate.ts: the page keeps each layer's attention weights for its
 * trace graphs and every layer's input for their traces, and derives one layer's maps at a time), the longest selection under the
 * `attentionInspector.memoryBudgetMB` budget, and the `maxTokens` a user who never set it gets.
 */
import { LOGITS_BLOCK } from '../kernels/graph/decoderGraph.js';
import { estimateInspectionMemory, formatBytes, longestFittingTokens, type MemoryEstimate, type MemoryEstimateInput } from '../kernels/inspect/memoryEstimate.js';
import type { DecoderConfig } from '../kernels/model/decoder.js';
import type { WeightDType } from '../kernels/model/types.js';
import type { BackendChoice } from '../protocol/inspector.js';

/** What the host knows of a model without reading its weights: config.json and the weights file's dtype. */
export interface ModelMemoryFacts {
  config: DecoderConfig;
  stored: WeightDType;
}

const MIB = 1024 * 1024;

function panelInputs(m: ModelMemoryFacts, runtime: 'wasm' | 'webgpu'): Omit<MemoryEstimateInput, 'tokens'> {
  return { config: m.config, stored: m.stored, compute: 'fp32', mapsLayers: 1, runtime, keptWeights: 'attention', logitsBlock: LOGITS_BLOCK, keptLayerInputs: m.config.nLayer, process: 'renderer' };
}

/** `auto` may end on either runtime: the larger estimate. */
function runtimesOf(backend: BackendChoice): ('wasm' | 'webgpu')[] {
  return backend === 'auto' ? ['wasm', 'webgpu'] : [backend];
}

export function panelEstimate(m: ModelMemoryFacts, backend: BackendChoice, tokens: number): MemoryEstimate {
  return runtimesOf(backend)
    .map((r) => estimateInspectionMemory({ ...panelInputs(m, r), tokens }))
    .reduce((a, b) => (b.total > a.total ? b : a));
}

/** The most tokens whose inspection fits in `budgetMB` (0: not even one). */
export function longestPanelTokens(m: ModelMemoryFacts, backend: BackendChoice, budgetMB: number): number {
  return Math.min(...runtimesOf(backend).map((r) => longestFittingTokens(panelInputs(m, r), budgetMB * MIB)));
}

/** maxTokens when the user has not set it: the model's context, or fewer when the budget says so (at least 1). */
export function defaultMaxTokens(m: ModelMemoryFacts, backend: BackendChoice, budgetMB: number): number {
  return Math.max(1, Math.min(m.config.nPositions, longestPanelTokens(m, backend, budgetMB)));
}

/** Whether `tokens` fit; if not, the sentence the notification says and the longest that fits. */
export function checkPanelBudget(m: ModelMemoryFacts, label: string, backend: BackendChoice, tokens: number, budgetMB: number): { fits: true } | { fits: false; longest: number; message: string } {
  const e = panelEstimate(m, backend, tokens);
  if (e.total <= budgetMB * MIB) return { fits: true };
  const longest = longestPanelTokens(m, backend, budgetMB);
  const parts = `weights ${formatBytes(e.weightsStored)} as stored and ${formatBytes(e.weightsRuntime)} in the runtime, activations ${formatBytes(e.activations)}, one layer's maps ${formatBytes(e.maps)}, the webview's own ${formatBytes(e.base)}`;
  const over = `Inspecting ${tokens.toLocaleString('en-US')} tokens with ${label} needs about ${formatBytes(e.total)} (${parts}), more than the memory budget of ${budgetMB.toLocaleString('en-US')} MB (attentionInspector.memoryBudgetMB).`;
  const advice = longest > 0 ? ` The longest selection that fits is ${longest.toLocaleString('en-US')} tokens.` : ' Not even one token fits: the weights alone are over the budget. Raise the budget or use the attention-inspector CLI.';
  return { fits: false, longest, message: over + advice };
}
