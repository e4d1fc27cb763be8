/**
 * The "Ablations" card: one layer's attention as trained, without 1/√dh and without the causal mask,
 * as figures of the chosen head and a table of mean row entropy and weight on future tokens per head.
 */
import type { Ablation } from '../../kernels/graph/decoderGraph.js';
import { meanRowEntropy, meanWeightAboveDiagonal } from '../../kernels/inspect/rowStats.js';
import type { HeatmapColors } from './colors.js';
import { el, failureNote, headerRow, section } from './dom.js';
import { headMap, headWords } from './headMaps.js';
import { weightToUnit } from './heatmapImage.js';
import { fmt } from './shapeTrace.js';
import { traceFigure } from './shapeTraceView.js';

/** The runs compared, in this order (`AblationMaps.maps` follows it). */
export const ABLATION_VARIANTS: readonly { name: string; ablation: Ablation | undefined }[] = [
  { name: 'as trained', ablation: undefined },
  { name: 'no 1/√dh', ablation: { noScale: true } },
  { name: 'no causal mask', ablation: { noMask: true } },
];

/** One layer's attention under each of ABLATION_VARIANTS, H·T·T each. */
export interface AblationMaps {
  layer: number;
  maps: Float32Array[];
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

  /** `head`: the chosen head, −1 for the mean of heads. */
  render(a: AblationMaps, T: number, H: number, head: number, colors: HeatmapColors): void {
    const names = ABLATION_VARIANTS.map((v) => v.name);
    const stats = a.maps.map((m) =>
      Array.from({ length: H }, (_, h) => {
        const p = m.subarray(h * T * T, (h + 1) * T * T);
        return { entropy: meanRowEntropy(p, T), above: meanWeightAboveDiagonal(p, T) };
      }),
    );
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
    const meanEntropy = stats.map((s) => mean(s.map((x) => x.entropy)));
    const who = headWords(head, H);
    const entropy = (k: number) => (head >= 0 ? stats[k]![head]!.entropy : meanEntropy[k]!);
    const figs = a.maps.map((m, k) => {
      const caption = `L${a.layer} ${head >= 0 ? `H${head}` : 'mean of heads'} · ${fmt(entropy(k))} nats${head >= 0 ? '' : ' (mean)'}`;
      return traceFigure(names[k]!, `Layer ${a.layer}, ${who}, ${names[k]}`, caption, headMap(m, head, H, T), T, weightToUnit(colors.scale), colors.lut);
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
