/**
 * The command line's head ablation options: `--ablate L.H,L.H` (heads across layers), `--ablation zero|mean`
 * and a token range `a:b`; each parsed and checked against the model, bad input a UsageError.
 */
import type { HeadAblationMode, HeadRef } from '../kernels/graph/decoderGraph.js';
import type { DecoderConfig } from '../kernels/model/decoder.js';
import type { TokenRange } from '../kernels/inspect/headRanking.js';
import { UsageError } from './errors.js';

export const headName = ({ layer, head }: HeadRef): string => `${layer}.${head}`;

/** `3.1,3.2,2.2` → heads, each named once. */
export function parseHeadList(text: string): HeadRef[] {
  const heads: HeadRef[] = [];
  const seen = new Set<string>();
  for (const part of text.split(',')) {
    const m = /^(\d+)\.(\d+)$/.exec(part.trim());
    if (!m) throw new UsageError(`--ablate must be a comma-separated list of LAYER.HEAD (e.g. 3.1,2.2), not "${text}"`);
    const head = { layer: Number(m[1]), head: Number(m[2]) };
    if (seen.has(headName(head))) throw new UsageError(`--ablate names head ${headName(head)} twice`);
    seen.add(headName(head));
    heads.push(head);
  }
  return heads;
}

export function parseAblationMode(text: string): HeadAblationMode {
  if (text !== 'zero' && text !== 'mean') throw new UsageError(`--ablation must be zero or mean, not "${text}"`);
  return text;
}

/** Every head exists in the model. */
export function checkHeads(heads: readonly HeadRef[], config: DecoderConfig): void {
  for (const h of heads) {
    if (h.layer >= config.nLayer) throw new UsageError(`--ablate names head ${headName(h)}, but the model has ${config.nLayer} layers (0–${config.nLayer - 1})`);
    if (h.head >= config.nHead) throw new UsageError(`--ablate names head ${headName(h)}, but each layer has ${config.nHead} heads (0–${config.nHead - 1})`);
  }
}

export type { TokenRange } from '../kernels/inspect/headRanking.js';

/** `a:b`, a < b; checked against the token count by checkRange. */
export function parseRange(text: string): TokenRange {
  const m = /^(\d+):(\d+)$/.exec(text);
  if (!m || Number(m[1]) >= Number(m[2])) throw new UsageError(`--range must be START:END with START < END (tokens START to END − 1, from 0), not "${text}"`);
  return { start: Number(m[1]), end: Number(m[2]) };
}

/** The range lies within the T inspected tokens and holds a token with a loss (every token but the first). */
export function checkRange(range: TokenRange, T: number): void {
  if (range.end > T) throw new UsageError(`--range ${range.start}:${range.end} ends past the ${T} inspected tokens`);
  if (range.end <= 1) throw new UsageError(`--range ${range.start}:${range.end} holds only the first token, which has no loss`);
}
