/**
 * Where `manual` and `ort-fused` get their ONNX graphs: kernels/graph/attentionGraph.ts (helper B's
 * `buildAttentionGraph`) once it is in the tree; until then they show as unavailable.
 */
import type { AttentionGraphBuilder } from './ortRunner.js';

export const attentionGraphBuilder: AttentionGraphBuilder | undefined = undefined;
