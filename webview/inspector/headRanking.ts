/**
 * The Rank heads card: ablates each head alone (zero or mean; kernels/inspect/headRanking.ts, one
 * session, HEADS_PER_RUN heads per run along the batch) and fills a layer × head table of Δ mean loss
 * over the selection and over tokens a–b, cell by cell as the runs end; Cancel stops it (what is filled
 * stays), JSON exports it as `rank-heads.json` is written by the CLI. Colours: the theme's blue (loss
 * down) through the editor background (0) to its red (loss up).
 */
import type { HeadAblationMode, HeadRef } from '../../kernels/graph/decoderGraph.js';
import { type HeadRanking, rankHeads, RankingCancelled, rankingReport, type TokenRange } from '../../kernels/inspect/headRanking.js';
import type { SaveOutcome } from '../../protocol/shared.js';
import { button, select } from '../components/controls.js';
import { parseColor, rampTable } from './colors.js';
import { el, failureNote, gridStep, moveTabStop, section } from './dom.js';

/** Heads per run: the batch of one session run (bench:rank-heads: 8 per run took 0.73 of 1 per run on wasm). */
export const HEADS_PER_RUN = 8;

export interface RankingSource {
  modelLabel: string;
  provider: string;
  L: number;
  H: number;
  T: number;
  /** Per-token losses of the inspected ids with each set of heads ablated, one run; throws when `wanted` says no. */
  losses(sets: HeadRef[][], mode: HeadAblationMode, wanted: () => boolean): Promise<Float32Array[]>;
  save(fileName: string, mime: string, bytes: Uint8Array): Promise<SaveOutcome>;
}

const signed = (v: number) => (Number.isNaN(v) ? '' : `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(3)}`);

/** Blue → editor background → red, from the theme. */
function divergingRamp(): Uint8ClampedArray {
  const style = getComputedStyle(document.body);
  const v = (name: string, fb: [number, number, number]) => parseColor(style.getPropertyValue(name), fb);
  return rampTable(v('--vscode-charts-blue', [55, 148, 255]), v('--vscode-editor-background', [30, 30, 30]), v('--vscode-charts-red', [241, 76, 76]));
}

export class HeadRankingView {
  private readonly mode = select('Ablation', () => undefined);
  private readonly from = el('input', { type: 'number', min: '0', className: 'range-input' });
  private readonly to = el('input', { type: 'number', min: '0', className: 'range-input' });
  private readonly start = button({ label: 'Rank heads', title: 'Ablate each head alone and show the change in mean loss', onClick: () => void this.run() });
  private readonly cancel = button({ label: 'Cancel', title: 'Stop ranking; the heads done so far stay', secondary: true, onClick: () => (this.stopped = true) });
  private readonly exportJson = button({ label: 'JSON', title: 'Export the head ranking as JSON', secondary: true, onClick: () => void this.export() });
  private readonly status = el('p', { class: 'hint', role: 'status' });
  private readonly tables = el('div', { class: 'ranking-tables' });
  private readonly legend = el('div', { class: 'legend' });
  readonly element = section(
    'Rank heads',
    'head-ranking',
    el('div', { class: 'ranking-controls' }, this.mode.element, el('label', { class: 'control range-control' }, el('span', {}, 'tokens'), this.from, el('span', {}, '–'), this.to), this.start, this.cancel, this.exportJson),
    this.status,
    this.tables,
    this.legend,
    el('p', { class: 'hint' }, 'Each cell: the mean loss (nats) with that head alone ablated minus the mean loss as trained; red: the head helped predict these tokens.'),
  );
  private src: RankingSource | undefined;
  private stopped = false;
  private running = false;
  private result: { ranked: HeadRanking; range?: TokenRange; mode: HeadAblationMode; seconds: number } | undefined;

  constructor() {
    this.mode.setOptions([{ value: 'zero', label: 'zero' }, { value: 'mean', label: 'mean' }], 'zero');
    this.from.setAttribute('aria-label', 'First token of the range (from 0)');
    this.to.setAttribute('aria-label', 'Last token of the range (included)');
    this.element.hidden = true;
    this.showIdle();
  }

  /** A new inspection: what was ranked for the last one goes. */
  show(src: RankingSource): void {
    this.src = src;
    this.stopped = true;
    this.result = undefined;
    this.element.hidden = false;
    this.from.value = '0';
    this.to.value = String(src.T - 1);
    this.from.max = this.to.max = String(src.T - 1);
    this.tables.replaceChildren();
    this.legend.replaceChildren();
    this.showIdle();
    this.status.textContent = `Ablates each of the ${src.L * src.H} heads alone.`;
  }

  private showIdle(): void {
    this.cancel.hidden = !this.running;
    this.start.toggleAttribute('disabled', this.running);
    this.exportJson.hidden = !this.result;
  }

  /** Tokens a … b (inclusive in the inputs; end exclusive here); undefined when it is the whole selection. */
  private chosenRange(T: number): TokenRange | undefined | string {
    const a = Number(this.from.value);
    const b = Number(this.to.value);
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b >= T || a > b) return `tokens must be whole numbers with 0 ≤ a ≤ b ≤ ${T - 1}`;
    if (b < 1) return 'the range holds only the first token, which has no loss';
    return a === 0 && b === T - 1 ? undefined : { start: a, end: b + 1 };
  }

  private async run(): Promise<void> {
    const src = this.src;
    if (!src || this.running) return;
    const range = this.chosenRange(src.T);
    if (typeof range === 'string') {
      this.status.textContent = `Cannot rank: ${range}.`;
      return;
    }
    const mode = this.mode.value === 'mean' ? 'mean' : 'zero';
    this.running = true;
    this.stopped = false;
    this.result = undefined;
    this.element.dataset.state = 'running';
    this.showIdle();
    const ranges = range ? [{ start: 0, end: src.T }, range] : [{ start: 0, end: src.T }];
    const cells = this.drawTables(src, range);
    const lut = divergingRamp();
    const t0 = performance.now();
    const wanted = () => src === this.src && !this.stopped;
    try {
      const ranked = await rankHeads({
        layers: src.L,
        heads: src.H,
        losses: (sets) => src.losses(sets, mode, wanted),
        ranges,
        batch: HEADS_PER_RUN,
        cancelled: () => !wanted(),
        onHead: ({ layer, head, delta }, done, total) => {
          delta.forEach((d, r) => this.fillCell(cells[r]![layer]![head]!, layer, head, d, lut));
          this.status.textContent = `${done}/${total} heads ablated (${mode}), ${((performance.now() - t0) / 1000).toFixed(1)} s`;
        },
      });
      const seconds = (performance.now() - t0) / 1000;
      this.result = { ranked, range, mode, seconds };
      const top = rankingReport(ranked, range).ranking.slice(0, 3).map((r) => `${r.head} ${signed(range ? r.deltaRangeMeanLoss! : r.deltaMeanLoss)}`);
      this.status.textContent = `${src.L * src.H} heads ranked in ${seconds.toFixed(1)} s (${mode} ablation, baseline ${ranked.baseline.map((b) => b.toFixed(3)).join(' / ')} nats); largest Δ: ${top.join(', ')}`;
      this.drawLegend(ranked, lut);
      this.element.dataset.state = 'done';
      this.element.dataset.seconds = seconds.toFixed(3);
    } catch (e) {
      if (src !== this.src) return;
      this.element.dataset.state = 'stopped';
      if (e instanceof RankingCancelled || (e instanceof Error && e.name === 'Cancelled')) this.status.textContent = `Stopped; the heads done so far stay.`;
      else this.tables.prepend(failureNote(e instanceof Error ? e.message : String(e)));
    } finally {
      if (src === this.src) {
        this.running = false;
        this.showIdle();
      }
    }
  }

  /** One table per range (the selection, and tokens a–b when chosen), empty cells to fill. */
  private drawTables(src: RankingSource, range: TokenRange | undefined): HTMLElement[][][] {
    const titles = [`whole selection (${src.T} tokens)`, ...(range ? [`tokens ${range.start}–${range.end - 1}`] : [])];
    const all = titles.map((title) => {
      const cells = Array.from({ length: src.L }, (_, l) => Array.from({ length: src.H }, (_, h) => el('td', { class: 'num rank-cell', tabIndex: l === 0 && h === 0 ? 0 : -1 })));
      // A grid with one tab stop: the arrow keys, Home and End move between cells, each read with its label.
      const table = el(
        'table',
        { class: 'ranking-table' },
        el('caption', {}, `Δ mean loss, ${title}`),
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'layer \\ head'), ...Array.from({ length: src.H }, (_, h) => el('th', { scope: 'col' }, `H${h}`)))),
        el('tbody', {}, ...cells.map((row, l) => el('tr', {}, el('th', { scope: 'row' }, `L${l}`), ...row))),
      );
      table.setAttribute('aria-label', `Change in mean loss over the ${title} with each head ablated, layers by heads`);
      table.setAttribute('role', 'grid');
      table.addEventListener('keydown', (e) => {
        const at = e.target as HTMLElement;
        const to = at.classList.contains('rank-cell') ? gridStep(e.key, Number(at.dataset.layer), Number(at.dataset.head), src.L, src.H) : undefined;
        if (!to) return;
        e.preventDefault();
        moveTabStop(cells.flat(), cells[to.row]![to.col]!);
      });
      cells.forEach((row, l) => row.forEach((c, h) => this.fillCell(c, l, h, NaN, undefined)));
      return { table, cells };
    });
    this.tables.replaceChildren(...all.map((t) => t.table));
    return all.map((t) => t.cells);
  }

  private fillCell(c: HTMLElement, layer: number, head: number, delta: number, lut: Uint8ClampedArray | undefined): void {
    c.textContent = signed(delta);
    c.dataset.layer = String(layer);
    c.dataset.head = String(head);
    const label = Number.isNaN(delta) ? `Layer ${layer} head ${head}: not ranked yet` : `Layer ${layer} head ${head}: Δ mean loss ${signed(delta)} nats`;
    c.title = label;
    c.setAttribute('aria-label', label);
    if (Number.isNaN(delta) || !lut) return;
    c.dataset.delta = String(delta);
    // A fixed scale while filling (±2 nats), so that a cell's colour does not change as others arrive.
    const i = Math.round(127.5 + 127.5 * Math.max(-1, Math.min(1, delta / 2)));
    c.style.setProperty('background-color', `rgb(${lut[i * 3]}, ${lut[i * 3 + 1]}, ${lut[i * 3 + 2]})`);
  }

  private drawLegend(ranked: HeadRanking, lut: Uint8ClampedArray): void {
    const bar = el('canvas', { class: 'legend-bar ranking-legend', width: 256, height: 1 });
    const ctx = bar.getContext('2d');
    if (ctx) {
      const img = ctx.createImageData(256, 1);
      for (let x = 0; x < 256; x++) img.data.set([lut[x * 3]!, lut[x * 3 + 1]!, lut[x * 3 + 2]!, 255], x * 4);
      ctx.putImageData(img, 0, 0);
    }
    bar.setAttribute('role', 'img');
    bar.setAttribute('aria-label', 'Colour scale: blue −2 nats (loss down), background 0, red +2 nats (loss up)');
    const worst = Math.max(...ranked.delta.flat(2).map(Math.abs));
    this.legend.replaceChildren(el('span', {}, '−2 nats'), bar, el('span', {}, `+2 nats (clamped; largest |Δ| ${worst.toFixed(2)})`));
  }

  private async export(): Promise<void> {
    const src = this.src;
    const r = this.result;
    if (!src || !r) return;
    const content = { model: src.modelLabel, provider: src.provider, ablation: r.mode, batch: HEADS_PER_RUN, tokens: src.T, ...rankingReport(r.ranked, r.range), wallSeconds: r.seconds };
    const out = await src.save('rank-heads.json', 'application/json', new TextEncoder().encode(JSON.stringify(content, null, 1) + '\n'));
    this.status.textContent = out.path ? `Saved ${out.path}` : out.error === 'cancelled' ? this.status.textContent : `Export failed: ${out.error}`;
  }
}
