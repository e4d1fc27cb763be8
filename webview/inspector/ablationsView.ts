/**
 * The "Ablations" card: one layer's attention as trained, without 1/√dh and without the causal mask,
 * as figures of the chosen head and a table of mean row entropy and weight on future tokens per head.
 * The ablated maps are derived from the inspection's kept q and k (an ablation of a layer changes only
 * what comes after it), a head at a time: no forward runs again.
 */
import type { Ablation } from '../../kernels/graph/decoderGraph.js';
import { rowEntropySum, weightAboveDiagonalSum } from '../../kernels/inspect/rowStats.js';
import type { HeatmapColors } from './colors.js';
import { el, failureNote, headerRow, section } from './dom.js';
import { headWords } from './headMaps.js';
import { weightToUnit } from './heatmapImage.js';
import { HeadMean, headMapOf, meanOfHeads, rowsPerTask, type DigestSource } from './layerDigest.js';
import { fmt } from './shapeTrace.js';
import { traceFigure } from './shapeTraceView.js';

/** The runs compared, in this order (`AblationMaps.maps` follows it). */
export const ABLATION_VARIANTS: readonly { name: string; ablation: Ablation | undefined }[] = [
  { name: 'as trained', ablation: undefined },
  { name: 'no 1/√dh', ablation: { noScale: true } },
  { name: 'no causal mask', ablation: { noMask: true } },
];

/** Per head of a layer under one variant: mean row entropy (nats) and mean weight on later keys. */
export interface AblationStats {
  entropy: number;
  above: number;
}

/**
 * What the card shows of one layer: every head's stats under each of ABLATION_VARIANTS, and the maps of
 * one choice (a head, or −1: the mean of heads) under each; the other heads' maps are not kept.
 */
export interface AblationDigest {
  layer: number;
  /** [variant][head]. */
  stats: AblationStats[][];
  head: number;
  /** [variant], T×T. */
  maps: Float32Array[];
}

/** Where the ablation maps come from: rows of head `h` of the layer under an ablation, derived now. */
export interface AblationSource {
  H: number;
  T: number;
  headRows(h: number, first: number, count: number, ablation: Ablation | undefined): Promise<Float32Array>;
  between(): Promise<void>;
}

/** The layer's maps under one variant, as a digest source. */
function underVariant(src: AblationSource, ablation: Ablation | undefined): DigestSource {
  return { H: src.H, T: src.T, between: src.between, headRows: (h, first, count) => src.headRows(h, first, count, ablation) };
}

/** The maps of `head` (−1: mean of heads) under each variant. */
export async function ablationMaps(src: AblationSource, head: number): Promise<Float32Array[]> {
  const maps: Float32Array[] = [];
  for (const v of ABLATION_VARIANTS) {
    const one = underVariant(src, v.ablation);
    maps.push(head >= 0 ? (await headMapOf(one, head)).slice() : await meanOfHeads(one));
  }
  return maps;
}

/** Every head's stats under each variant, a block of rows per task, keeping the maps of `head` (−1: their mean). */
export async function digestAblations(src: AblationSource, layer: number, head: number): Promise<AblationDigest> {
  const { H, T } = src;
  const stats: AblationStats[][] = [];
  const maps: Float32Array[] = [];
  const band = rowsPerTask(T);
  for (const v of ABLATION_VARIANTS) {
    const one = underVariant(src, v.ablation);
    const row: AblationStats[] = [];
    const mean = new HeadMean(H, T);
    let kept: Float32Array | undefined;
    for (let h = 0; h < H; h++) {
      const p = await headMapOf(one, h);
      let entropy = 0;
      let above = 0;
      for (let from = 0; from < T; from += band) {
        const to = Math.min(T, from + band);
        entropy = rowEntropySum(p, T, from, to, entropy);
        above = weightAboveDiagonalSum(p, T, from, to, above);
        if (head < 0) mean.add(p, from * T, to * T);
        await src.between();
      }
      row.push({ entropy: entropy / T, above: above / T });
      if (h === head) kept = p.slice();
    }
    stats.push(row);
    maps.push(kept ?? mean.done());
  }
  return { layer, stats, head, maps };
}

export class AblationsView {
  private readonly body = el('div', { class: 'ablations' });
  readonly element = section('Ablations', 'ablations', this.body);

  showRecomputing(layer: number): void {
    this.body.replaceChildren(el('p', { class: 'hint' }, `Recomputing layer ${layer} without 1/√dh and without the causal mask…`));
  }

  showFailure(message: string): void {
    this.body.replaceChildren(failureNote(message));
  }

  /** `a.head`: the chosen head, −1 for the mean of heads. */
  render(a: AblationDigest, T: number, H: number, colors: HeatmapColors): void {
    const names = ABLATION_VARIANTS.map((v) => v.name);
    const { stats, head } = a;
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
    const meanEntropy = stats.map((s) => mean(s.map((x) => x.entropy)));
    const who = headWords(head, H);
    const entropy = (k: number) => (head >= 0 ? stats[k]![head]!.entropy : meanEntropy[k]!);
    const figs = a.maps.map((m, k) => {
      const caption = `L${a.layer} ${head >= 0 ? `H${head}` : 'mean of heads'} · ${fmt(entropy(k))} nats${head >= 0 ? '' : ' (mean)'}`;
      return traceFigure(names[k]!, `Layer ${a.layer}, ${who}, ${names[k]}`, caption, m, T, weightToUnit(colors.scale), colors.lut);
    });
    const table = el(
      'table',
      { class: 'ablation-table' },
      el('caption', {}, `Layer ${a.layer}: mean row entropy in nats (uniform over all ${T} keys would be ${fmt(Math.log(T))}) and mean weight on future tokens`),
      headerRow(['head', 'entropy', 'no 1/√dh', 'no mask', 'future weight, no mask']),
      el(
        'tbody',
        {},
        ...Array.from({ length: H }, (_, h) =>
          el('tr', { class: h === head ? 'chosen' : '' }, el('th', { scope: 'row' }, `H${h}`), ...[stats[0]![h]!.entropy, stats[1]![h]!.entropy, stats[2]![h]!.entropy, stats[2]![h]!.above].map((v) => el('td', { class: 'num' }, fmt(v)))),
        ),
        el('tr', { class: head < 0 ? 'mean chosen' : 'mean' }, el('th', { scope: 'row' }, 'mean'), ...meanEntropy.map((v) => el('td', { class: 'num' }, fmt(v))), el('td', { class: 'num' }, fmt(mean(stats[2]!.map((s) => s.above))))),
      ),
    );
    this.body.replaceChildren(el('div', { class: 'trace-matrices' }, ...figs), table, el('p', { class: 'hint' }, 'Without 1/√dh the scores are √dh times larger, so rows get sharper (lower entropy); without the mask, tokens also read the future — weight the trained model never saw.'));
  }
}
