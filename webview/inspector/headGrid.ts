/**
 * Every layer × head as a thumbnail (plus each layer's average), labelled with the head's kind where
 * its score says so. Click or Enter chooses a head; arrows move between cells (one tab stop for the grid).
 * With grouped-query attention (KV < H) the query heads that read one key/value head are bracketed under
 * a header ("KV 0: H0–H2") that describes each of their cells.
 * Alt+click or Space marks a head for ablation (headAblation.ts); after an ablated run each head shows
 * how far its attention moved.
 */
import { headLabel } from '../../kernels/inspect/headScores.js';
import { unitOf, type HeatmapColors } from './colors.js';
import { el, gridStep, moveTabStop, section } from './dom.js';
import type { HeadChoice } from './headMaps.js';
import { drawHeatmap } from './heatmapImage.js';
import type { LayerDigest } from './layerDigest.js';
import { fmt } from './shapeTrace.js';

/** Side of a thumbnail in weights (larger maps are max-pooled to it). */
export const THUMB_SIDE = 64;

const HEAD_LABEL_TEXT = { previous: 'prev', induction: 'induct', duplicate: 'dup', first: 'first' } as const;
const HEAD_LABEL_LONG = { previous: 'previous-token', induction: 'induction', duplicate: 'duplicate-token', first: 'first-token' } as const;

export interface HeadGridContent {
  /** Per layer; undefined while its maps are still to be derived (its cells stay blank). */
  digests: readonly (LayerDigest | undefined)[];
  L: number;
  H: number;
  /** Key/value heads; query head h reads KV head ⌊h / (H/KV)⌋. Equal to H: no groups are drawn. */
  KV: number;
}

/** The key/value head query head `h` reads (HF's repeat_kv order). */
export function kvHeadOf(h: number, H: number, KV: number): number {
  return Math.floor(h / (H / KV));
}

/** The query heads sharing key/value head `kv`, as the grid names them ("H0–H2"). */
export function kvGroupHeads(kv: number, H: number, KV: number): string {
  const g = H / KV;
  return g === 1 ? `H${kv}` : `H${kv * g}–H${kv * g + g - 1}`;
}

export class HeadGrid {
  private readonly grid = el('div', { class: 'head-grid', role: 'grid' });
  readonly element = section('Layers × heads', 'grid', this.grid, el('p', { class: 'hint' }, 'Labels: prev = previous-token, induct = induction, dup = duplicate-token, first = first-token head (score ≥ 0.4).'));
  private size = { L: 0, H: 0, KV: 0 };
  /** Heads marked for ablation. */
  private marked: (layer: number, head: number) => boolean = () => false;
  /** Per head ([layer·H + head]) the change of its attention under the shown ablation (NaN: not yet). */
  private change: Float32Array | undefined;

  constructor(
    private readonly onChoose: (choice: HeadChoice) => void,
    private readonly onMark: (choice: HeadChoice) => void = () => undefined,
  ) {
    this.grid.setAttribute('aria-label', 'Attention of every layer and head; Enter opens one, Space marks it for ablation');
  }

  render(c: HeadGridContent, chosen: HeadChoice, colors: HeatmapColors): void {
    this.size = { L: c.L, H: c.H, KV: c.KV };
    const toUnit = unitOf(colors);
    const groupStart = (h: number) => (this.grouped && h > 0 && h % (c.H / c.KV) === 0 ? ' kv-group-start' : '');
    const rows: HTMLElement[] = [
      ...(this.grouped ? [this.groupRow()] : []),
      el('div', { class: 'grid-row head-names' }, el('span', { class: 'layer-name' }), ...Array.from({ length: c.H }, (_, h) => el('span', { class: `col-name${groupStart(h)}` }, `H${h}`)), el('span', { class: 'col-name' }, 'avg')),
    ];
    for (let l = 0; l < c.L; l++) {
      const cells: HTMLElement[] = [];
      for (let h = 0; h <= c.H; h++) {
        const head = h === c.H ? -1 : h;
        const b = el('button', { class: `cell${head >= 0 ? groupStart(head) : ''}` }, el('canvas', { class: 'thumb', width: THUMB_SIDE, height: THUMB_SIDE }), el('span', { class: 'tag none' }));
        this.fill(b, l, head, c.digests[l], toUnit, colors.lut);
        b.setAttribute('role', 'gridcell');
        if (this.grouped && head >= 0) b.setAttribute('aria-describedby', kvGroupId(kvHeadOf(head, c.H, c.KV)));
        b.dataset.layer = String(l);
        b.dataset.head = String(head);
        const isChosen = l === chosen.layer && head === chosen.head;
        if (isChosen) b.setAttribute('aria-selected', 'true');
        b.addEventListener('click', (e) => (e.altKey && head >= 0 ? this.onMark({ layer: l, head }) : this.onChoose({ layer: l, head })));
        b.addEventListener('keydown', (e) => this.onKey(e, l, h));
        // A button also clicks on Space's keyup: Space marks instead of choosing.
        b.addEventListener('keyup', (e) => e.key === ' ' && e.preventDefault());
        b.tabIndex = isChosen ? 0 : -1;
        cells.push(b);
      }
      const row = el('div', { class: 'grid-row' }, el('span', { class: 'layer-name' }, `L${l}`), ...cells);
      row.setAttribute('role', 'row');
      rows.push(row);
    }
    this.grid.replaceChildren(...rows);
  }

  private get grouped(): boolean {
    return this.size.KV < this.size.H;
  }

  /** One bracket per key/value head over the query heads that read it, each the description of their cells. */
  private groupRow(): HTMLElement {
    const { H, KV } = this.size;
    const g = H / KV;
    const groups = Array.from({ length: KV }, (_, kv) => {
      const header = el('span', { class: `kv-group${kv > 0 ? ' kv-group-start' : ''}`, id: kvGroupId(kv) }, `KV ${kv}: ${kvGroupHeads(kv, H, KV)}`);
      header.style.setProperty('--kv-group-heads', String(g));
      header.title = `Query heads ${kvGroupHeads(kv, H, KV)} share key/value head ${kv}`;
      return header;
    });
    const row = el('div', { class: 'grid-row kv-groups' }, el('span', { class: 'layer-name' }), ...groups);
    row.setAttribute('aria-hidden', 'true');
    return row;
  }

  /** Draws layer `l`'s row once its maps are digested, leaving the rest of the grid as it is. */
  showLayer(l: number, d: LayerDigest, colors: HeatmapColors): void {
    const toUnit = unitOf(colors);
    this.grid.querySelectorAll<HTMLButtonElement>(`.cell[data-layer="${l}"]`).forEach((b) => this.fill(b, l, Number(b.dataset.head), d, toUnit, colors.lut));
  }

  /** A cell's thumbnail, tag and description; blank until its layer is digested. */
  private fill(b: HTMLButtonElement, l: number, head: number, d: LayerDigest | undefined, toUnit: (v: number) => number, lut: Uint8ClampedArray, draw = true): void {
    const canvas = b.querySelector('canvas')!;
    const tag = b.querySelector('.tag')!;
    if (d && draw) drawHeatmap(canvas, d.thumbs[head < 0 ? d.thumbs.length - 1 : head]!, d.side, THUMB_SIDE, toUnit, lut);
    const scores = head >= 0 ? d?.scores[head] : undefined;
    const label = scores ? headLabel(scores) : undefined;
    tag.className = `tag ${label ?? 'none'}`;
    tag.textContent = label ? HEAD_LABEL_TEXT[label] : '';
    const desc = scores
      ? `Layer ${l} head ${head}${label ? `, ${HEAD_LABEL_LONG[label]} head` : ''}. Scores: previous ${fmt(scores.previous)}, induction ${fmt(scores.induction)}, duplicate ${fmt(scores.duplicate)}, first ${fmt(scores.first)}`
      : head < 0
        ? `Layer ${l}, average of heads`
        : `Layer ${l} head ${head}, maps not derived yet`;
    const marked = head >= 0 && this.marked(l, head);
    b.classList.toggle('marked', marked);
    const change = head >= 0 && this.change ? this.change[l * this.size.H + head]! : NaN;
    let badge = b.querySelector<HTMLElement>('.change');
    if (Number.isFinite(change)) {
      badge ??= b.appendChild(el('span', { class: 'change' }));
      badge.textContent = change.toFixed(2);
      // Heads at or before the first ablated layer read the same q and k: 0, said in the label, not drawn on every cell.
      badge.hidden = change === 0;
      b.style.setProperty('--change', `${(Math.min(1, change * 2) * 100).toFixed(0)}%`);
    } else {
      badge?.remove();
      b.style.removeProperty('--change');
    }
    const more = `${marked ? ', marked for ablation' : ''}${Number.isFinite(change) ? `, attention changed by ${change.toFixed(3)} under the ablation` : ''}`;
    const { H, KV } = this.size;
    const kv = kvHeadOf(head, H, KV);
    const group = head >= 0 && KV < H ? `. Reads key/value head ${kv}, shared by ${kvGroupHeads(kv, H, KV)}` : '';
    b.title = desc + more + group;
    b.setAttribute('aria-label', desc + more);
  }

  /** Marks the heads to ablate and shows each head's change score (undefined: none shown), without drawing the thumbnails again. */
  showAblation(marked: (layer: number, head: number) => boolean, change: Float32Array | undefined, digests: readonly (LayerDigest | undefined)[], colors: HeatmapColors): void {
    this.marked = marked;
    this.change = change;
    const toUnit = unitOf(colors);
    this.grid.querySelectorAll<HTMLButtonElement>('.cell').forEach((b) => {
      const l = Number(b.dataset.layer);
      this.fill(b, l, Number(b.dataset.head), digests[l], toUnit, colors.lut, false);
    });
  }

  /** Marks the chosen cell, without drawing the thumbnails again. */
  select(chosen: HeadChoice): void {
    this.grid.querySelectorAll('.cell').forEach((x) => {
      const sel = (x as HTMLElement).dataset.layer === String(chosen.layer) && (x as HTMLElement).dataset.head === String(chosen.head);
      if (sel) x.setAttribute('aria-selected', 'true');
      else x.removeAttribute('aria-selected');
    });
  }

  private onKey(e: KeyboardEvent, l: number, col: number): void {
    const { L, H } = this.size;
    if (e.key === ' ') {
      e.preventDefault();
      if (col < H) this.onMark({ layer: l, head: col });
      return;
    }
    // H + 1 columns: the heads, then the layer's average.
    const to = gridStep(e.key, l, col, L, H + 1);
    if (!to) return;
    e.preventDefault();
    const target = this.grid.querySelector<HTMLElement>(`.cell[data-layer="${to.row}"][data-head="${to.col === H ? -1 : to.col}"]`);
    if (target) moveTabStop(this.grid.querySelectorAll<HTMLElement>('.cell'), target);
  }
}

/** Element id of key/value head `kv`'s group header (the description of its query heads' cells). */
function kvGroupId(kv: number): string {
  return `kv-group-${kv}`;
}
