/**
 * Compare two selections: pin an inspection, inspect another. Same model and the same token count (a
 * clean and a corrupted prompt): every view shows pinned − current — the head grid's thumbnails, the
 * chosen head's big map, per-token Δloss in the token strip — on a diverging scale, exportable (PNG,
 * (L, H, T, T) .npy, Δloss JSON). Different lengths: the pinned grid beside the current one. Different
 * models: refused in words, side by side only.
 *
 * Memory: the pinned inspection keeps its engine run (q, k and layer inputs, O(L·T·D)), its digests and its few recent
 * maps; differences are derived a head at a time from both runs' q and k and digested into thumbnails
 * like the maps themselves (layerDigest.ts), never L·H·T² at once. An inspection of another model
 * releases the pinned one's engine: from then on it is shown side by side only.
 */
import type { ModelName, SourceRef, TokenInfo } from '../../protocol/inspector.js';
import type { SaveOutcome } from '../../protocol/shared.js';
import { button } from '../components/controls.js';
import type { HeatmapColors } from './colors.js';
import { deltaLegend, deltaScale, divergingRamp, signed, symmetricLimit, tokenLossDelta, type DeltaScale } from './deltaScale.js';
import { el, section } from './dom.js';
import { canvasPng, headMapsNpy, reportSave } from './exports.js';
import { HeadGrid, THUMB_SIDE, type HeadGridContent } from './headGrid.js';
import { headName, type HeadChoice } from './headMaps.js';
import { pooledRowStart } from './heatmapImage.js';
import { HeadMean, type LayerDigest } from './layerDigest.js';
import type { FocusContent } from './focusHeatmap.js';
import type { TokenChanges } from './tokenStrip.js';

/** What the comparison needs of an inspection (the controller's, kept alive while pinned). */
export interface ComparedInspection {
  requestId: number;
  source: SourceRef;
  model: ModelName;
  T: number;
  L: number;
  H: number;
  /** Key/value heads (the side-by-side grid groups query heads by them). */
  KV: number;
  tokens: readonly TokenInfo[];
  /** loss[t] = −ln p(token t+1 | ≤ t); NaN at the last position. */
  loss: Float32Array;
  /** Per layer, once digested (the side-by-side grid draws them). */
  digests: readonly (LayerDigest | undefined)[];
  /** A chosen map (head −1: the mean of heads), kept recently or derived now; `live` false stops it. */
  chosenMap(choice: HeadChoice, live: () => boolean): Promise<Float32Array>;
  /** Head `head`'s map of layer `layer`, derived now, not kept. */
  headMap(layer: number, head: number, live: () => boolean): Promise<Float32Array>;
  /** Lets go of the kept q, k and layer inputs (the digests stay). */
  release(): void;
}

export type ComparisonMode =
  | { kind: 'off' }
  /** Pinned, and the pinned inspection is the one shown: nothing to compare yet. */
  | { kind: 'pinned' }
  | { kind: 'difference' }
  /** `why`: said in the card (different lengths, different models). */
  | { kind: 'sideBySide'; why: string; refused: boolean };

export interface ComparisonEvents {
  /** Pin or unpin pressed (or the command): the controller calls pin() / unpin() and draws again. */
  onPinToggle(): void;
  /** A cell of the pinned grid chosen: the same layer and head are chosen in the current views. */
  onChoose(choice: HeadChoice): void;
  setStatus(text: string): void;
  /** The chosen heatmap's image canvas (the difference, while comparing). */
  canvas(): HTMLCanvasElement;
  chosen(): HeadChoice;
  save(fileName: string, mime: string, bytes: Uint8Array): Promise<SaveOutcome>;
  saveInParts(fileName: string, mime: string, parts: () => AsyncIterable<Uint8Array>): Promise<SaveOutcome>;
}

/** The chosen map's difference, kept for the choice it belongs to. */
interface ChosenDifference {
  choice: HeadChoice;
  current: Float32Array;
  diff: Float32Array;
}

const same = (a: HeadChoice, b: HeadChoice) => a.layer === b.layer && a.head === b.head;

/** "repeated.md · lines 7–8 · tinycode-4l8h-1k · T = 23". */
export function describeInspection(c: Pick<ComparedInspection, 'source' | 'model' | 'T'>): string {
  return `${c.source.fileName} · lines ${c.source.startLine + 1}–${c.source.endLine + 1} · ${c.model.label} · T = ${c.T}`;
}

/** What two inspections allow: a difference only for the same model and token count. */
export function comparisonMode(pinned: ComparedInspection | undefined, current: ComparedInspection | undefined, pinnedReleased: boolean): ComparisonMode {
  if (!pinned) return { kind: 'off' };
  if (!current || current === pinned) return { kind: 'pinned' };
  if (pinned.model.id !== current.model.id)
    return { kind: 'sideBySide', refused: true, why: `Not compared: the pinned inspection is of ${pinned.model.label}, this one of ${current.model.label}. Differences are only shown between two inspections of one model; here the two are side by side.` };
  if (pinned.T !== current.T) return { kind: 'sideBySide', refused: false, why: `Different lengths (pinned ${pinned.T} tokens, current ${current.T}): side by side. Select two passages of the same token count to see their difference.` };
  if (pinnedReleased) return { kind: 'sideBySide', refused: true, why: 'Not compared: the pinned inspection’s attention inputs were released when another model was loaded. Pin it again (inspect it, then Pin) to compare.' };
  return { kind: 'difference' };
}

/** pinned − current, element by element. */
export function differenceOf(pinned: Float32Array, current: Float32Array): Float32Array {
  const d = new Float32Array(current.length);
  for (let i = 0; i < d.length; i++) d[i] = pinned[i]! - current[i]!;
  return d;
}

/** `m` (T×T) pooled to side × side keeping each block's value of largest magnitude, so a sign survives shrinking. */
export function magnitudePool(m: Float32Array, T: number, side: number): Float32Array {
  if (side === T) return m;
  const out = new Float32Array(side * side);
  for (let y = 0; y < side; y++) {
    const r0 = pooledRowStart(y, T, side);
    const r1 = Math.max(r0 + 1, pooledRowStart(y + 1, T, side));
    for (let x = 0; x < side; x++) {
      const c0 = pooledRowStart(x, T, side);
      const c1 = Math.max(c0 + 1, pooledRowStart(x + 1, T, side));
      let w = 0;
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) if (Math.abs(m[r * T + c]!) > Math.abs(w)) w = m[r * T + c]!;
      out[y * side + x] = w;
    }
  }
  return out;
}

/** Gives a card a unique id (a second head grid must not repeat the first one's). */
function renameCard(card: HTMLElement, id: string): void {
  const h = card.querySelector('h2')!;
  card.id = id;
  h.id = `${id}-title`;
  card.setAttribute('aria-labelledby', h.id);
}

export class PinnedComparison {
  private pinned: ComparedInspection | undefined;
  private current: ComparedInspection | undefined;
  /** The pinned inspection's q and k are gone (another model's engine replaced its own). */
  private pinnedReleased = false;
  /** Per layer, the differences' thumbnails (scores and hovers: the current's). */
  private diffDigests: (LayerDigest | undefined)[] = [];
  /** Largest |difference| over every head's thumbnail: one scale for the whole grid. */
  private gridLimit = 0;
  private chosenDiff: ChosenDifference | undefined;
  /** The panel's colours as last given (the grid's diverging scale takes their shape). */
  private colors: HeatmapColors | undefined;

  readonly pinButton: HTMLElement;
  private readonly who = el('dl', { class: 'who' });
  private readonly mode = el('p', { class: 'mode', role: 'status' });
  private readonly legends = el('div', { class: 'legends' });
  private readonly exports: HTMLElement;
  readonly element: HTMLElement;
  /** The pinned inspection's grid, shown beside the current one when they are not differenced. */
  private readonly pinnedGrid: HeadGrid;

  constructor(private readonly events: ComparisonEvents) {
    this.pinButton = button({ label: 'Pin', title: 'Pin this inspection, then inspect another selection to compare them', secondary: true, onClick: () => events.onPinToggle() });
    this.pinButton.classList.add('pin-inspection');
    this.exports = el(
      'div',
      { class: 'exports' },
      button({ label: 'Difference PNG', title: 'Export the chosen head’s difference map (pinned − current) as PNG', secondary: true, onClick: () => void this.exportPng() }),
      button({ label: 'Difference .npy', title: 'Export every head’s difference pinned − current (L, H, T, T) as NumPy .npy', secondary: true, onClick: () => void this.exportNpy() }),
      button({ label: 'Δloss JSON', title: 'Export per-token loss of both inspections and Δloss (pinned − current) as JSON', secondary: true, onClick: () => void this.exportJson() }),
    );
    const unpin = button({ label: 'Unpin', title: 'Unpin: stop comparing and show the current inspection alone', secondary: true, onClick: () => events.onPinToggle() });
    this.element = section('Comparison', 'comparison', this.who, this.mode, this.legends, el('div', { class: 'actions' }, this.exports, el('span', { class: 'spacer' }), unpin));
    this.element.classList.add('comparison');
    this.element.hidden = true;
    this.pinnedGrid = new HeadGrid((choice) => events.onChoose(choice));
    renameCard(this.pinnedGrid.element, 'pinned-grid');
    this.pinnedGrid.element.hidden = true;
  }

  /** The pinned inspection's grid card (placed beside the current grid). */
  get pinnedGridElement(): HTMLElement {
    return this.pinnedGrid.element;
  }

  get state(): ComparisonMode {
    return comparisonMode(this.pinned, this.current, this.pinnedReleased);
  }

  get isPinned(): boolean {
    return this.pinned !== undefined;
  }

  /** Whether `c` is the pinned inspection (its run must not be released). */
  holds(requestId: number): boolean {
    return this.pinned?.requestId === requestId;
  }

  /** Pins `c` (the inspection shown), releasing a previously pinned one unless it is shown. */
  pin(c: ComparedInspection): void {
    if (this.pinned && this.pinned !== this.current) this.pinned.release();
    this.pinned = c;
    this.current = c;
    this.pinnedReleased = false;
    this.resetDifferences();
  }

  /** Unpins; the pinned inspection's q and k go unless it is the one shown. */
  unpin(): void {
    if (this.pinned && this.pinned !== this.current) this.pinned.release();
    this.pinned = undefined;
    this.pinnedReleased = false;
    this.resetDifferences();
  }

  /** A new inspection is shown. Of another model, it released the pinned one's engine (see getEngine). */
  setCurrent(c: ComparedInspection): void {
    this.current = c;
    if (this.pinned && this.pinned !== c && this.pinned.model.id !== c.model.id && !this.pinnedReleased) {
      this.pinned.release();
      this.pinnedReleased = true;
    }
    this.resetDifferences();
  }

  private resetDifferences(): void {
    this.diffDigests = [];
    this.gridLimit = 0;
    this.chosenDiff = undefined;
  }

  /** The card, the pin button and the pinned grid as the state is now. */
  render(colors: HeatmapColors, chosen: HeadChoice): void {
    this.colors = colors;
    const s = this.state;
    const p = this.pinned;
    const c = this.current;
    this.pinButton.textContent = p ? 'Unpin' : 'Pin';
    this.pinButton.title = p ? `Unpin ${describeInspection(p)}` : 'Pin this inspection, then inspect another selection to compare them';
    this.pinButton.setAttribute('aria-label', this.pinButton.title);
    this.pinButton.setAttribute('aria-pressed', String(!!p));
    this.element.hidden = !p;
    this.pinnedGrid.element.hidden = s.kind !== 'sideBySide';
    if (!p) return;
    const row = (term: string, text: string) => [el('dt', {}, term), el('dd', {}, text)];
    this.who.replaceChildren(...row('Pinned', describeInspection(p)), ...(c && c !== p ? row('Current', describeInspection(c)) : []));
    this.mode.classList.toggle('refused', s.kind === 'sideBySide' && s.refused);
    this.mode.textContent =
      s.kind === 'pinned'
        ? 'Pinned. Select another passage and run Inspect Attention to compare it with this one (the same number of tokens shows their difference).'
        : s.kind === 'difference'
          ? 'Difference maps: pinned − current, in the head grid and the chosen head’s map; the token strip shows Δloss (pinned − current) of predicting each token.'
          : s.kind === 'sideBySide'
            ? s.why
            : '';
    this.exports.hidden = s.kind !== 'difference';
    const legends: HTMLElement[] = [];
    if (s.kind === 'difference') {
      if (this.gridLimit > 0) legends.push(deltaLegend(this.gridScale(), 'Grid', 'current higher', 'pinned higher'));
      const deltas = this.tokenChanges();
      if (deltas) legends.push(deltaLegend(deltas.scale, 'Δloss (nats)', 'current higher', 'pinned higher'));
    }
    this.legends.replaceChildren(...legends);
    if (s.kind === 'sideBySide') {
      this.pinnedGrid.element.querySelector('h2')!.textContent = `Pinned — ${describeInspection(p)}`;
      this.pinnedGrid.render({ digests: p.digests, L: p.L, H: p.H, KV: p.KV }, chosen, colors);
    }
  }

  /** The current grid's title while pinned: whose grid it is, or that it shows differences. */
  private gridTitle(): string | undefined {
    const s = this.state;
    if (s.kind === 'difference') return 'Layers × heads — difference, pinned − current';
    if (s.kind === 'sideBySide' && this.current) return `Current — ${describeInspection(this.current)}`;
    return undefined;
  }

  /** Titles the current grid's card as gridTitle() says (its own title when not comparing). */
  titleGrid(card: HTMLElement): void {
    const h = card.querySelector('h2')!;
    const own = (h.dataset.ownTitle ??= h.textContent ?? '');
    h.textContent = this.gridTitle() ?? own;
  }

  /** Marks the chosen cell in the pinned grid too. */
  select(chosen: HeadChoice): void {
    this.pinnedGrid.select(chosen);
  }

  /** A difference that could not be derived, said in the card. */
  showFailure(message: string): void {
    this.mode.classList.add('refused');
    this.mode.textContent = `The difference could not be computed: ${message}`;
  }

  private gridScale(): DeltaScale {
    return deltaScale(this.gridLimit, divergingRamp(document.body), this.colors?.scale);
  }

  /**
   * What the current grid draws: while differencing, once the first layer's differences are digested,
   * those digested so far (the others blank until theirs are), on the grid's diverging scale.
   */
  gridContent(content: HeadGridContent, colors: HeatmapColors): { content: HeadGridContent; colors: HeatmapColors } {
    this.colors = colors;
    if (this.state.kind !== 'difference' || this.gridLimit === 0) return { content, colors };
    const s = this.gridScale();
    return { content: { ...content, digests: Array.from({ length: content.L }, (_, l) => this.diffDigests[l]) }, colors: { ...colors, lut: s.lut, toUnit: s.toUnit } };
  }

  /**
   * Derives every head's difference (pinned − current) a head at a time and digests it into a
   * thumbnail; `showLayer` gets each layer's as it is done, with the colours so far. False if stopped.
   */
  async digestDifferences(colors: HeatmapColors, live: () => boolean, showLayer: (l: number, d: LayerDigest, colors: HeatmapColors) => void, redrawGrid: () => void): Promise<boolean> {
    const p = this.pinned;
    const c = this.current;
    if (this.state.kind !== 'difference' || !p || !c) return true;
    const side = Math.min(c.T, THUMB_SIDE);
    // The current's scores label the cells (its digests are complete before this runs).
    for (let l = 0; l < c.L; l++) {
      this.events.setStatus(`Differences of layer ${l + 1}/${c.L}…`);
      const thumbs: Float32Array[] = [];
      const mean = new HeadMean(c.H, c.T);
      for (let h = 0; h < c.H; h++) {
        const d = differenceOf(await p.headMap(l, h, live), await c.headMap(l, h, live));
        if (!live()) return false;
        mean.add(d);
        thumbs.push(magnitudePool(d, c.T, side));
      }
      thumbs.push(magnitudePool(mean.done(), c.T, side));
      const current = c.digests[l];
      if (!current) return false;
      const digest: LayerDigest = { ...current, thumbs, side };
      this.diffDigests[l] = digest;
      const limit = Math.max(this.gridLimit, ...thumbs.map(symmetricLimit));
      if (limit !== this.gridLimit) {
        // A larger difference changes the whole grid's scale: everything drawn so far is drawn again.
        this.gridLimit = limit;
        redrawGrid();
      } else showLayer(l, digest, this.gridContent({ digests: [], L: c.L, H: c.H, KV: c.KV }, colors).colors);
    }
    this.events.setStatus('');
    return true;
  }

  /** Derives the pinned map of the chosen head (while differencing) and its difference with `currentMap`. */
  async prepareChosen(choice: HeadChoice, currentMap: Float32Array, live: () => boolean): Promise<void> {
    const p = this.pinned;
    if (this.state.kind !== 'difference' || !p) return;
    if (this.chosenDiff && same(this.chosenDiff.choice, choice) && this.chosenDiff.current === currentMap) return;
    const pinnedMap = await p.chosenMap(choice, live);
    if (!live()) return;
    this.chosenDiff = { choice, current: currentMap, diff: differenceOf(pinnedMap, currentMap) };
  }

  /** The big map's content: the chosen head's difference while differencing, the current map otherwise. */
  focusContent(content: FocusContent): FocusContent {
    const d = this.chosenDiff;
    if (this.state.kind !== 'difference' || !d || !same(d.choice, content.chosen) || d.current !== content.map) return content;
    const s = deltaScale(symmetricLimit(d.diff), divergingRamp(document.body), content.colors.scale);
    return {
      ...content,
      map: d.diff,
      colors: { ...content.colors, lut: s.lut, toUnit: s.toUnit },
      other: {
        title: 'Difference, pinned − current',
        description: `Attention of ${headName(content.chosen)}, pinned minus current, ${content.T} queries by ${content.T} keys, diverging ${content.colors.scale} scale ±${s.limit.toFixed(3)}`,
        legend: deltaLegend(s, 'Δ weight', 'current higher', 'pinned higher'),
      },
    };
  }

  /** Per-token Δloss (pinned − current) for the token strip, while differencing. */
  tokenChanges(): TokenChanges | undefined {
    const p = this.pinned;
    const c = this.current;
    if (this.state.kind !== 'difference' || !p || !c) return undefined;
    const values = tokenLossDelta(p.loss, c.loss);
    const scale = deltaScale(symmetricLimit(values.map((v) => v ?? 0)), divergingRamp(document.body));
    return {
      values,
      scale,
      describe: (i, v) => {
        const other = p.tokens[i] && p.tokens[i]!.id !== c.tokens[i]?.id ? ` (pinned token “${p.tokens[i]!.text}”)` : '';
        return `Δloss ${signed(v, 2)} nats: pinned ${p.loss[i - 1]!.toFixed(2)} − current ${c.loss[i - 1]!.toFixed(2)}${other}`;
      },
    };
  }

  private fileBase(): string {
    const { layer, head } = this.events.chosen();
    return `difference-L${layer}${head < 0 ? 'avg' : `H${head}`}`;
  }

  private async exportPng(): Promise<void> {
    const bytes = await canvasPng(this.events.canvas());
    if (bytes) await reportSave(this.events.save(`${this.fileBase()}.png`, 'image/png', bytes), this.events.setStatus);
  }

  private async exportNpy(): Promise<void> {
    const p = this.pinned;
    const c = this.current;
    if (this.state.kind !== 'difference' || !p || !c) return;
    const stillSo = () => this.pinned === p && this.current === c;
    const headMap = async (l: number, h: number) => differenceOf(await p.headMap(l, h, stillSo), await c.headMap(l, h, stillSo));
    await reportSave(this.events.saveInParts('difference.npy', 'application/octet-stream', headMapsNpy({ L: c.L, H: c.H, T: c.T, headMap }, 'difference.npy', this.events.setStatus)), this.events.setStatus);
  }

  private async exportJson(): Promise<void> {
    const p = this.pinned;
    const c = this.current;
    if (this.state.kind !== 'difference' || !p || !c) return;
    const side = (x: ComparedInspection) => ({ file: x.source.fileName, lines: [x.source.startLine + 1, x.source.endLine + 1], model: x.model.label, tokens: x.T });
    const deltas = tokenLossDelta(p.loss, c.loss);
    const content = {
      difference: 'pinned − current',
      pinned: side(p),
      current: side(c),
      // loss of token i: −ln p(token i | tokens before it); none for the first token.
      tokens: c.tokens.map((t, i) => ({
        index: i,
        pinned: { id: p.tokens[i]!.id, text: p.tokens[i]!.text, loss: i > 0 && Number.isFinite(p.loss[i - 1]!) ? p.loss[i - 1]! : null },
        current: { id: t.id, text: t.text, loss: i > 0 && Number.isFinite(c.loss[i - 1]!) ? c.loss[i - 1]! : null },
        deltaLoss: deltas[i] ?? null,
      })),
    };
    await reportSave(this.events.save('delta-loss.json', 'application/json', new TextEncoder().encode(JSON.stringify(content, null, 1))), this.events.setStatus);
  }
}
