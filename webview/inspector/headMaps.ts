/**
 * The chosen layer and head (head −1: the average of the layer's heads), the T×T map it picks out of an
 * (H,T,T) tensor, and how the choice reads in captions.
 */
import { averageHeads } from '../../kernels/inspect/rowStats.js';

export interface HeadChoice {
  layer: number;
  /** −1: the average of the layer's heads. */
  head: number;
}

const headMeans = new WeakMap<Float32Array, Float32Array>();

/** Head `head`'s T×T slice of an (H,T,T) tensor, or for head −1 the mean over heads, computed once per tensor. */
export function headMap(x: Float32Array, head: number, H: number, T: number): Float32Array {
  if (head >= 0) return x.subarray(head * T * T, (head + 1) * T * T);
  let m = headMeans.get(x);
  if (!m) headMeans.set(x, (m = averageHeads(x, H, T)));
  return m;
}

/** "head 3" or "mean of the 8 heads", for captions and labels. */
export function headWords(head: number, H: number): string {
  return head >= 0 ? `head ${head}` : `mean of the ${H} heads`;
}

/** "layer 2, head 3" or "layer 2, average of heads". */
export function headName({ layer, head }: HeadChoice): string {
  return head < 0 ? `layer ${layer}, average of heads` : `layer ${layer}, head ${head}`;
}
