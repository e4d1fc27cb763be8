/**
 * The "Chosen head" card: layer, head and colour-scale choices, the exports, the chosen map large
 * (bigHeatmap.ts), the readout of the cell under the cursor, the colour legend, and what the pinned
 * query row or key column attends to most.
 */
import type { ColorScale, TokenInfo } from '../../protocol/inspector.js';
import { select, type Select } from '../components/controls.js';
import { BigHeatmap, type Pin } from './bigHeatmap.js';
import { unitOf, type HeatmapColors } from './colors.js';
import { bar, el, section } from './dom.js';
import { headName, type HeadChoice } from './headMaps.js';
import { tokenLabel } from './tokenText.js';

export interface FocusHeatmapEvents {
  onLayer(layer: number): void;
  onHead(head: number): void;
  onScale(scale: ColorScale): void;
  /** The pin shown now (undefined: none), whenever it changes or the map is drawn again. */
  onPin(pin: Pin | undefined): void;
}

export interface FocusContent {
  /** The chosen map, T×T. */
  map: Float32Array;
  T: number;
  tokens: readonly TokenInfo[];
  chosen: HeadChoice;
  /** How many of the pinned row's or column's strongest weights to list. */
  topK: number;
  colors: HeatmapColors;
  /** The theme's focus colour, for the cursor and pin outlines. */
  accent: string;
  /** What the map is when not the chosen head's attention (a difference), for the title and screen readers; its legend replaces the 0 … 1 one. */
  other?: { title: string; description: string; legend: HTMLElement };
}

export class FocusHeatmap {
  private readonly heatmap = new BigHeatmap({ onCursor: (c) => this.showCursor(c), onPin: (p) => this.showPin(p) });
  private readonly layerSelect: Select;
  private readonly headSelect: Select;
  private readonly scaleSelect: Select;
  private readonly readout = el('p', { class: 'readout', role: 'status' });
  private readonly pinInfo = el('div', { class: 'pin-info', role: 'region' });
  private readonly legend = el('canvas', { class: 'legend-bar', width: 128, height: 8 });
  private readonly weightLegend: HTMLElement;
  private readonly legendSlot = el('div', { class: 'legend-slot' });
  readonly element: HTMLElement;
  private readonly title: HTMLElement;
  private content: FocusContent | undefined;

  /** `exports`: the export buttons, shown at the end of the choices. */
  constructor(private readonly events: FocusHeatmapEvents, scale: ColorScale, exports: HTMLElement) {
    this.layerSelect = select('Layer', (v) => events.onLayer(Number(v)));
    this.headSelect = select('Head', (v) => events.onHead(Number(v)));
    this.scaleSelect = select('Colour scale', (v) => events.onScale(v as ColorScale));
    this.readout.setAttribute('aria-live', 'polite');
    this.pinInfo.setAttribute('aria-label', 'Pinned row or column');
    this.scaleSelect.setOptions(
      [
        { value: 'linear', label: 'linear' },
        { value: 'sqrt', label: 'sqrt' },
        { value: 'log', label: 'log' },
      ],
      scale,
    );
    const controls = el('div', { class: 'controls' }, this.layerSelect.element, this.headSelect.element, this.scaleSelect.element, el('span', { class: 'spacer' }), exports);
    this.weightLegend = el('div', { class: 'legend', ariaHidden: 'true' }, el('span', {}, '0'), this.legend, el('span', {}, '1'));
    this.legendSlot.append(this.weightLegend);
    const side = el('div', { class: 'side' }, this.readout, this.legendSlot, el('p', { class: 'hint' }, 'Rows are queries (first token at the top), columns are keys (first token at the left).'), this.pinInfo);
    this.element = section('Chosen head', 'focus', controls, el('div', { class: 'focus-body' }, this.heatmap.frame, side));
    this.title = this.element.querySelector('h2')!;
  }

  /** The image canvas (PNG export). */
  get canvas(): HTMLCanvasElement {
    return this.heatmap.canvas;
  }

  /** The model's layers and heads as choices. */
  setShape(L: number, H: number, chosen: HeadChoice): void {
    this.layerSelect.setOptions(Array.from({ length: L }, (_, l) => ({ value: String(l), label: `Layer ${l}` })), String(chosen.layer));
    this.headSelect.setOptions([{ value: '-1', label: 'Average of heads' }, ...Array.from({ length: H }, (_, h) => ({ value: String(h), label: `Head ${h}` }))], String(chosen.head));
  }

  showChoice(chosen: HeadChoice): void {
    this.layerSelect.setValue(String(chosen.layer));
    this.headSelect.setValue(String(chosen.head));
  }

  showScale(scale: ColorScale): void {
    this.scaleSelect.setValue(scale);
  }

  /** The colour ramp, 0 → 1, under the map. */
  drawLegend(lut: Uint8ClampedArray): void {
    const ctx = this.legend.getContext('2d');
    if (!ctx) return;
    const { width, height } = this.legend;
    const img = ctx.createImageData(width, height);
    for (let x = 0; x < width; x++) {
      const k = Math.round((x / (width - 1)) * 255);
      for (let y = 0; y < height; y++) img.data.set([lut[k * 3]!, lut[k * 3 + 1]!, lut[k * 3 + 2]!, 255], (y * width + x) * 4);
    }
    ctx.putImageData(img, 0, 0);
  }

  render(c: FocusContent, pin: Pin | undefined): void {
    this.content = c;
    const { scale, lut } = c.colors;
    const description = c.other?.description ?? `Attention of ${headName(c.chosen)}, ${c.T} queries by ${c.T} keys, ${scale} colour scale`;
    this.heatmap.draw(c.map, c.T, unitOf(c.colors), lut, description, c.accent);
    this.title.textContent = `${c.other?.title ?? 'Chosen head'} — ${headName(c.chosen)}`;
    this.legendSlot.replaceChildren(c.other?.legend ?? this.weightLegend);
    this.showPin(pin);
    this.showCursor(undefined);
  }

  /** Pins a row or column as if chosen on the map (token clicks). */
  pin(pin: Pin): void {
    this.heatmap.setPin(pin);
  }

  private showCursor(cell: { query: number; key: number } | undefined): void {
    const c = this.content;
    if (!cell || !c) {
      this.readout.textContent = 'Hover the map (or focus it and use the arrow keys) to read a weight.';
      return;
    }
    const w = c.map[cell.query * c.T + cell.key]!;
    this.readout.textContent = `query ${tokenLabel(c.tokens, cell.query)} → key ${tokenLabel(c.tokens, cell.key)}: ${w.toFixed(4)}`;
  }

  private showPin(pin: Pin | undefined): void {
    this.events.onPin(pin);
    const c = this.content;
    if (!pin || !c) {
      this.pinInfo.replaceChildren(el('p', { class: 'hint' }, 'Click a cell or a token to pin its query row; Shift+click pins a key column.'));
      return;
    }
    const m = c.map;
    const values = Array.from({ length: c.T }, (_, j) => (pin.kind === 'row' ? m[pin.index * c.T + j]! : m[j * c.T + pin.index]!));
    const order = values.map((v, j) => [v, j] as const).sort((a, b) => b[0] - a[0]).slice(0, c.topK);
    const title = pin.kind === 'row' ? `Query ${tokenLabel(c.tokens, pin.index)} attends to` : `Key ${tokenLabel(c.tokens, pin.index)} is attended by`;
    this.pinInfo.replaceChildren(
      el('h3', {}, title),
      el('ol', {}, ...order.map(([v, j]) => el('li', {}, el('span', { class: 'tok' }, tokenLabel(c.tokens, j)), bar(v), el('span', { class: 'num' }, v.toFixed(3))))),
    );
  }
}
