/** Where `manual` and `ort-fused` get their ONNX graphs: the attention graph builder of kernels/graph. */
import { buildAttentionGraph } from '../graph/attentionGraph.js';
import type { AttentionGraphBuilder } from './ortRunner.js';

export const attentionGraphBuilder: AttentionGraphBuilder | undefined = buildAttentionGraph;
