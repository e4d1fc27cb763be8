/**
 * The "Shape trace" card: the steps of one layer's attention with the sizes that ran (shapeTrace.ts),
 * the chosen head's scaled scores, mask and softmax side by side, and the parameter-count equivalence.
 */
import type { LayerTrace } from '../../kernels/runtime/decoderInspector.js';
import type { HeatmapColors } from './colors.js';
import { el, failureNote, headerRow, section } from './dom.js';
import { headMap, headWords, type HeadChoice } from './headMaps.js';
import { drawHeatmap, rangeToUnit, weightToUnit } from './heatmapImage.js';
import type { DecoderConfig } from '../../kernels/model/decoder.js';
import { fmt, parameterEquivalence, parameterEquivalenceText, traceRows } from './shapeTrace.js';

const TRACE_SIDE = 160;

export type { LayerTrace };

export interface ShapeTraceContent {
  /** The traced layer's tensors; undefined when the run has none. */
  trace: LayerTrace | undefined;
  layer: number;
  T: number;
  H: number;
  /** The model's description: the parameter counts, RoPE's frequencies. */
  config: DecoderConfig;
}

/** A T×T figure of the trace and ablation cards: the map, its title and caption, labelled for screen readers. */
export function traceFigure(title: string, label: string, caption: string, m: Float32Array, T: number, toUnit: (v: number) => number, lut: Uint8ClampedArray): HTMLElement {
  const canvas = el('canvas', { class: 'trace-canvas' });
  drawHeatmap(canvas, m, T, TRACE_SIDE, toUnit, lut);
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  return el('figure', {}, canvas, el('figcaption', {}, el('strong', {}, title), el('br'), caption));
}

export class ShapeTraceView {
  private readonly body = el('div', { class: 'trace' });
  readonly element = section('Shape trace', 'trace', this.body);
  private content: ShapeTraceContent | undefined;

  showTracing(layer: number): void {
    this.body.replaceChildren(el('p', { class: 'hint' }, `Tracing layer ${layer}…`));
  }

  showFailure(message: string): void {
    this.body.replaceChildren(failureNote(message));
  }

  render(c: ShapeTraceContent, chosen: HeadChoice, colors: HeatmapColors): void {
    this.content = c;
    const t = c.trace;
    if (!t) {
      this.body.replaceChildren(el('p', { class: 'hint' }, 'No trace for this layer.'));
      return;
    }
    const rows = traceRows(t, c.config);
    const table = el(
      'table',
      { class: 'trace-table' },
      el('caption', {}, `Layer ${c.layer}, sizes read from the tensors that ran`),
      headerRow(['step', 'operation', 'shape', 'min', 'max', '']),
      el('tbody', {}, ...rows.map((r) => el('tr', {}, el('th', { scope: 'row' }, r.step), el('td', {}, r.op), el('td', { class: 'shape' }, r.shape), el('td', { class: 'num' }, fmt(r.min)), el('td', { class: 'num' }, fmt(r.max)), el('td', { class: 'note' }, r.note ?? '')))),
    );
    const equivalence = el('div', { class: 'equivalence' }, ...parameterEquivalenceText(parameterEquivalence(c.config), c.T).map((text) => el('p', {}, text)));
    this.body.replaceChildren(table, el('div', { class: 'trace-matrices' }), equivalence);
    this.renderMatrices(chosen, colors);
  }

  /** Scaled scores, mask and softmax of the chosen head (or their means over heads), side by side. */
  renderMatrices(chosen: HeadChoice, colors: HeatmapColors): void {
    const c = this.content;
    const box = this.body.querySelector('.trace-matrices');
    const t = c?.trace;
    if (!c || !box || !t) return;
    const who = headWords(chosen.head, c.H);
    const { T } = c;
    const slice = (x: Float32Array) => headMap(x, chosen.head, c.H, T);
    const scores = slice(t.scaledScores.data);
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) {
      const v = scores[i * T + j]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const mask = new Float32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) mask[i * T + j] = 1;
    const fig = (title: string, m: Float32Array, toUnit: (v: number) => number, caption: string) => traceFigure(title, `${title}, ${who}: ${caption}`, caption, m, T, toUnit, colors.lut);
    box.replaceChildren(
      fig('QKᵀ/√dh', scores, rangeToUnit(min, max), `${fmt(min)} … ${fmt(max)} (causal part)`),
      fig('causal mask', mask, (v) => v, 'kept (bright) / −∞ (dark)'),
      fig('softmax', slice(t.probs.data), weightToUnit(colors.scale), `rows sum to 1 · ${colors.scale}`),
    );
    box.setAttribute('aria-label', `Layer ${chosen.layer}, ${who}`);
  }
}
