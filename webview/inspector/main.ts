/**
 * The inspector panel: receives an inspection from the host, runs the model (engine.ts), and shows
 * the provider badge, token strip, layer × head grid, the chosen head large, the shape trace,
 * ablations, per-token loss and predictions; posts back run facts and the hover summary.
 */
import { headLabel, layerHeadScores, type HeadScores } from '../../kernels/inspect/headScores.js';
import { float32Npy } from '../../kernels/inspect/npy.js';
import { averageHeads, meanRowEntropy, meanWeightAboveDiagonal } from '../../kernels/inspect/rowStats.js';
import type { InspectResult } from '../../kernels/runtime/gpt2Inspector.js';
import type { ColorScale, HostMessage, InspectRequest, SelectionNotice, TokenInfo } from '../../protocol/inspector.js';
import { badge, button, select, spinner, type Select } from '../components/controls.js';
import { BigHeatmap, type Pin } from './bigHeatmap.js';
import { themeRamp } from './colors.js';
import { Cancelled, getEngine, type Engine } from './engine.js';
import { drawHeatmap, rangeToUnit, weightToUnit } from './heatmapImage.js';
import { announceReady, getState, onHostMessage, post, save, setState } from './host.js';
import { hoverSummary } from './hoverSummary.js';
import { fmt, parameterEquivalence, traceRows } from './shapeTrace.js';

const THUMB_SIDE = 64;
const TRACE_SIDE = 160;

/** Whitespace made visible in token labels. */
export function showWhitespace(s: string): string {
  return s.replace(/ /g, '·').replace(/\t/g, '→').replace(/\r\n/g, '↵').replace(/\n/g, '↵').replace(/\r/g, '↵') || '∅';
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> & { class?: string } = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  const { class: cls, ...rest } = props;
  if (cls) e.className = cls;
  Object.assign(e, rest);
  e.append(...children);
  return e;
}

/** A horizontal bar of `fraction` (0…1) of its track; width through a CSS variable (no inline style attribute: CSP). */
function bar(fraction: number): HTMLElement {
  const b = el('span', { class: 'bar' });
  b.style.setProperty('--w', `${(Math.max(0, Math.min(1, fraction)) * 100).toFixed(1)}%`);
  return b;
}

function section(title: string, id: string, ...children: Node[]): HTMLElement {
  const h = el('h2', { id: `${id}-title` }, title);
  const s = el('section', { id, class: 'card' }, h, ...children);
  s.setAttribute('aria-labelledby', h.id);
  return s;
}

function noticeText(n: SelectionNotice): string {
  switch (n.kind) {
    case 'currentLine':
      return `Nothing was selected, so line ${n.line + 1} is inspected.`;
    case 'firstOfSeveral':
      return `${n.count} selections: only the first is inspected.`;
    case 'truncated':
      return `Truncated: the text has ${n.tokens} tokens; only the first ${n.keptTokens} are inspected (${n.limit === 'context' ? "the model's context length" : 'the attentionInspector.maxTokens setting'}).`;
  }
}

const HEAD_LABEL_TEXT = { previous: 'prev', induction: 'induct', duplicate: 'dup', first: 'first' } as const;
const HEAD_LABEL_LONG = { previous: 'previous-token', induction: 'induction', duplicate: 'duplicate-token', first: 'first-token' } as const;

interface Inspection {
  req: InspectRequest;
  engine: Engine;
  result: InspectResult;
  T: number;
  H: number;
  L: number;
  D: number;
  scores: HeadScores[][];
  /** Attention of the traced layer as trained, without 1/√dh, without the mask (H·T·T each). */
  ablation?: { layer: number; maps: Float32Array[] };
}

const headMeans = new WeakMap<Float32Array, Float32Array>();

/** Head `head`'s T×T slice of an (H,T,T) tensor, or for head −1 the mean over heads, computed once per tensor. */
function headMap(x: Float32Array, head: number, H: number, T: number): Float32Array {
  if (head >= 0) return x.subarray(head * T * T, (head + 1) * T * T);
  let m = headMeans.get(x);
  if (!m) headMeans.set(x, (m = averageHeads(x, H, T)));
  return m;
}

class InspectorPanelView {
  private readonly root = document.getElementById('app')!;
  private current: Inspection | undefined;
  private activeRequest = 0;
  private layer = 0;
  private head = 0;
  private readonly startupReported = new WeakSet<Engine>();
  private scale: ColorScale = 'sqrt';
  private topK = 5;
  private pin: Pin | undefined;
  private lut: Uint8ClampedArray = new Uint8ClampedArray(256 * 3);
  private accent = '#fff';

  private readonly statusEl = el('span', { class: 'status', role: 'status' });
  private readonly badgeSlot = el('span', { class: 'badges' });
  private readonly titleEl = el('span', { class: 'subtitle' });
  private readonly noticesEl = el('ul', { class: 'notices', role: 'note' });
  private readonly tokenStrip = el('div', { class: 'token-strip', role: 'listbox' });
  private readonly gridEl = el('div', { class: 'head-grid', role: 'grid' });
  private readonly readout = el('p', { class: 'readout', role: 'status' });
  private readonly pinInfo = el('div', { class: 'pin-info', role: 'region' });
  private readonly traceEl = el('div', { class: 'trace' });
  private readonly ablationEl = el('div', { class: 'ablations' });
  private readonly predictionsEl = el('div', { class: 'predictions' });
  private readonly heatmap = new BigHeatmap({ onCursor: (c) => this.showCursor(c), onPin: (p) => this.showPin(p) });
  private readonly layerSelect: Select = select('Layer', (v) => this.choose(Number(v), this.head));
  private readonly headSelect: Select = select('Head', (v) => this.choose(this.layer, Number(v)));
  private readonly scaleSelect: Select = select('Colour scale', (v) => this.setScale(v as ColorScale));
  private readonly body = el('div', { class: 'body', hidden: true });
  private readonly message = el('div', { class: 'message', role: 'alert', hidden: true });
  private readonly progress = el('div', { class: 'progress', hidden: true });

  constructor() {
    this.tokenStrip.setAttribute('aria-label', 'Tokens (whitespace shown as · → ↵); Enter pins the token’s row, Shift+Enter its column');
    this.gridEl.setAttribute('aria-label', 'Attention of every layer and head; Enter opens one');
    this.readout.setAttribute('aria-live', 'polite');
    this.statusEl.setAttribute('aria-live', 'polite');
    this.pinInfo.setAttribute('aria-label', 'Pinned row or column');
    this.scaleSelect.setOptions(
      [
        { value: 'linear', label: 'linear' },
        { value: 'sqrt', label: 'sqrt' },
        { value: 'log', label: 'log' },
      ],
      this.scale,
    );
    const header = el('header', { class: 'topbar' }, el('h1', {}, 'Attention Inspector'), this.titleEl, this.badgeSlot, this.statusEl);
    const exports = el(
      'div',
      { class: 'exports' },
      button({ label: 'PNG', title: 'Export the current heatmap as PNG', secondary: true, onClick: () => void this.exportPng() }),
      button({ label: '.npy', title: 'Export all attention maps (L, H, T, T) as NumPy .npy', secondary: true, onClick: () => void this.exportNpy() }),
      button({ label: 'JSON', title: 'Export the tokens and the current map as JSON', secondary: true, onClick: () => void this.exportJson() }),
    );
    const controls = el('div', { class: 'controls' }, this.layerSelect.element, this.headSelect.element, this.scaleSelect.element, el('span', { class: 'spacer' }), exports);
    const legend = el('div', { class: 'legend', ariaHidden: 'true' }, el('span', {}, '0'), el('canvas', { class: 'legend-bar', width: 128, height: 8 }), el('span', {}, '1'));
    const focus = section('Chosen head', 'focus', controls, el('div', { class: 'focus-body' }, this.heatmap.element, el('div', { class: 'side' }, this.readout, legend, el('p', { class: 'hint' }, 'Rows are queries (first token at the top), columns are keys (first token at the left).'), this.pinInfo)));
    const grid = section('Layers × heads', 'grid', this.gridEl, el('p', { class: 'hint' }, 'Labels: prev = previous-token, induct = induction, dup = duplicate-token, first = first-token head (score ≥ 0.4).'));
    this.body.append(
      this.noticesEl,
      section('Tokens', 'tokens', this.tokenStrip),
      el('div', { class: 'columns' }, grid, focus),
      section('Shape trace', 'trace', this.traceEl),
      section('Ablations', 'ablations', this.ablationEl),
      section('Loss and predictions', 'predictions', this.predictionsEl),
    );
    this.root.replaceChildren(header, this.progress, this.message, this.body);
    this.readTheme();
    new MutationObserver(() => {
      this.readTheme();
      this.redraw();
    }).observe(document.body, { attributes: true, attributeFilter: ['class'] });
    this.tokenStrip.addEventListener('keydown', (e) => this.tokenKey(e));
  }

  private readTheme(): void {
    this.lut = themeRamp(document.body);
    const style = getComputedStyle(document.body);
    this.accent = style.getPropertyValue('--vscode-focusBorder').trim() || '#ffcc00';
    const legend = this.root.querySelector<HTMLCanvasElement>('.legend-bar');
    const ctx = legend?.getContext('2d');
    if (!ctx || !legend) return;
    const img = ctx.createImageData(legend.width, legend.height);
    for (let x = 0; x < legend.width; x++) {
      const k = Math.round((x / (legend.width - 1)) * 255);
      for (let y = 0; y < legend.height; y++) img.data.set([this.lut[k * 3]!, this.lut[k * 3 + 1]!, this.lut[k * 3 + 2]!, 255], (y * legend.width + x) * 4);
    }
    ctx.putImageData(img, 0, 0);
  }

  handle(m: HostMessage): void {
    switch (m.type) {
      case 'prepare':
        // Errors surface with the inspection that follows (a failed engine is not cached).
        getEngine(m, this.layer).catch(() => undefined);
        return;
      case 'inspect':
        void this.inspect(m);
        return;
      case 'cancel':
        if (m.requestId === this.activeRequest) this.activeRequest = 0;
        return;
      case 'settings':
        this.topK = m.topK;
        this.setScale(m.colorScale);
        return;
      case 'message':
        this.showMessage(m.text, m.kind);
        return;
    }
  }

  private showMessage(text: string, kind: 'empty' | 'error'): void {
    this.progress.hidden = true;
    this.message.hidden = false;
    this.message.className = `message ${kind}`;
    this.message.textContent = text;
    this.body.hidden = kind === 'empty' || !this.current;
    this.statusEl.textContent = '';
  }

  private setStatus(text: string, busy: boolean): void {
    this.statusEl.textContent = text;
    this.progress.hidden = !busy;
    if (busy) this.progress.replaceChildren(spinner(text), el('span', {}, text));
  }

  private async inspect(req: InspectRequest): Promise<void> {
    const id = req.requestId;
    this.activeRequest = id;
    this.scale = req.colorScale;
    this.scaleSelect.setValue(this.scale);
    this.topK = req.topK;
    this.message.hidden = true;
    const saved = getState();
    const sameText = saved.request && saved.request.tokens.length === req.tokens.length && saved.request.tokens.every((t, i) => t.id === req.tokens[i]!.id);
    const { model, ortBase: _ortBase, commandEpochMs: _commandEpochMs, ...kept } = req;
    setState({ request: { ...kept, modelId: model.id }, layer: saved.layer, head: saved.head });
    try {
      this.setStatus(`Loading ${req.model.label}…`, true);
      post({ type: 'progress', requestId: id, stage: 'loading model' });
      if (sameText && saved.layer !== undefined) this.layer = saved.layer;
      const tLoad = performance.now();
      const engine = await getEngine(req, this.layer);
      const loadMs = performance.now() - tLoad;
      if (id !== this.activeRequest) return;
      const L = engine.model.config.nLayer;
      const H = engine.model.config.nHead;
      if (sameText && saved.head !== undefined && saved.head < H) this.head = saved.head;
      this.layer = Math.min(this.layer, L - 1);
      this.head = Math.min(this.head, H - 1);
      this.setStatus(`Running on ${engine.provider === 'webgpu' ? 'WebGPU' : 'wasm'}…`, true);
      post({ type: 'progress', requestId: id, stage: `running on ${engine.provider}` });
      const result = await engine.inspect(
        req.tokens.map((t) => t.id),
        this.layer,
        () => id === this.activeRequest,
      );
      if (id !== this.activeRequest) return;
      const T = result.ids.length;
      this.current = { req, engine, result, T, H, L, D: engine.model.config.nEmbd, scores: [] };
      this.pin = undefined;
      this.renderHeader();
      this.body.hidden = false;
      this.renderFocus();
      const firstHeatmapMs = Date.now() - req.commandEpochMs;
      document.body.dataset.firstHeatmapMs = String(firstHeatmapMs);
      this.setStatus('', false);
      await new Promise((r) => requestAnimationFrame(r));
      if (id !== this.activeRequest) return;
      this.current.scores = result.attention.map((a) => layerHeadScores(a, H, T, result.ids));
      this.renderNotices();
      this.renderTokens();
      this.renderGrid();
      this.renderTrace();
      this.renderPredictions();
      this.postHoverSummary();
      post({
        type: 'result',
        requestId: id,
        facts: {
          provider: engine.provider,
          adapter: engine.adapter,
          tokens: T,
          timings: {
            ...this.startupTimings(engine, req.commandEpochMs),
            load: loadMs,
            graph: result.timingsMs.graph,
            session: result.timingsMs.session,
            run: result.timingsMs.run,
            inspect: result.timingsMs.total,
          },
          firstHeatmapMs,
        },
      });
      document.body.dataset.inspected = String(id);
      await this.renderAblations(id);
    } catch (e) {
      if (id !== this.activeRequest || e instanceof Cancelled) return;
      const message = e instanceof Error ? e.message : String(e);
      post({ type: 'error', requestId: id, message });
      this.showMessage(`The inspection failed: ${message}`, 'error');
    }
  }

  /**
   * The first result of an engine says when its start's steps happened, as ms after the command that
   * started it: where a cold start's time goes.
   */
  private startupTimings(engine: Engine, commandEpochMs: number): Record<string, number> {
    if (this.startupReported.has(engine)) return {};
    this.startupReported.add(engine);
    const s = engine.startup;
    const after = (t: number) => Math.round(t - commandEpochMs);
    const page = after(performance.timeOrigin);
    return {
      ...(page > 0 ? { 'page opened at': page } : {}),
      'engine began at': after(s.began),
      'model loaded at': after(s.model),
      'graph built at': after(s.graph),
      ...(s.ort !== undefined ? { 'ORT ready at': after(s.ort) } : {}),
      'engine ready at': after(s.ready),
    };
  }

  private renderHeader(): void {
    const c = this.current!;
    const e = c.engine;
    const name = e.provider === 'webgpu' ? 'WebGPU' : 'wasm';
    const b = badge(`${name} · ${e.adapter}`, `onnxruntime-web ${e.provider === 'webgpu' ? 'native WebGPU provider' : 'WebAssembly (CPU)'}; attention ${c.result.provider.attention}`);
    b.classList.add('provider', e.provider);
    b.setAttribute('role', 'note');
    b.setAttribute('aria-label', `Ran on ${name}, adapter ${e.adapter}`);
    const extra = e.fallbackReason ? [badge('fallback', `WebGPU not used: ${e.fallbackReason}`)] : [];
    this.badgeSlot.replaceChildren(b, ...extra, badge(c.req.model.label, 'Model'), badge(`T = ${c.T}`, 'Tokens inspected'));
    const s = c.req.source;
    this.titleEl.textContent = `${s.fileName} · lines ${s.startLine + 1}–${s.endLine + 1}`;
    this.layerSelect.setOptions(Array.from({ length: c.L }, (_, l) => ({ value: String(l), label: `Layer ${l}` })), String(this.layer));
    this.headSelect.setOptions([{ value: '-1', label: 'Average of heads' }, ...Array.from({ length: c.H }, (_, h) => ({ value: String(h), label: `Head ${h}` }))], String(this.head));
  }

  private renderNotices(): void {
    const c = this.current!;
    const items = c.req.notices.map(noticeText);
    if (c.result.truncated) items.push(c.result.truncated.message);
    if (c.engine.fallbackReason) items.push(`WebGPU was not used (${c.engine.fallbackReason}); the model ran on wasm.`);
    this.noticesEl.replaceChildren(...items.map((t) => el('li', {}, t)));
    this.noticesEl.hidden = items.length === 0;
  }

  /** The chosen map: one head, or the layer's average. */
  private chosenMap(): Float32Array {
    return this.headSlice(this.current!.result.attention[this.layer]!);
  }

  /** The chosen head's T×T slice of an (H,T,T) tensor of the current result, or the mean over heads. */
  private headSlice(x: Float32Array): Float32Array {
    const { H, T } = this.current!;
    return headMap(x, this.head, H, T);
  }

  /** "head 3" or "mean of the 8 heads", for captions and labels. */
  private headWords(): string {
    return this.head >= 0 ? `head ${this.head}` : `mean of the ${this.current!.H} heads`;
  }

  private headName(): string {
    return this.head < 0 ? `layer ${this.layer}, average of heads` : `layer ${this.layer}, head ${this.head}`;
  }

  private renderFocus(): void {
    const c = this.current!;
    this.heatmap.draw(this.chosenMap(), c.T, weightToUnit(this.scale), this.lut, `Attention of ${this.headName()}, ${c.T} queries by ${c.T} keys, ${this.scale} colour scale`, this.accent);
    document.getElementById('focus-title')!.textContent = `Chosen head — ${this.headName()}`;
    this.showPin(this.pin);
    this.showCursor(undefined);
  }

  private tokenLabel(i: number): string {
    const t = this.current!.req.tokens[i];
    return t ? `“${showWhitespace(t.text)}” #${i}` : `#${i}`;
  }

  private showCursor(cell: { query: number; key: number } | undefined): void {
    if (!cell) {
      this.readout.textContent = 'Hover the map (or focus it and use the arrow keys) to read a weight.';
      return;
    }
    const c = this.current!;
    const w = this.chosenMap()[cell.query * c.T + cell.key]!;
    this.readout.textContent = `query ${this.tokenLabel(cell.query)} → key ${this.tokenLabel(cell.key)}: ${w.toFixed(4)}`;
  }

  private showPin(pin: Pin | undefined): void {
    this.pin = pin;
    this.tokenStrip.querySelectorAll('.pinned').forEach((e) => e.classList.remove('pinned'));
    if (!pin || !this.current) {
      this.pinInfo.replaceChildren(el('p', { class: 'hint' }, 'Click a cell or a token to pin its query row; Shift+click pins a key column.'));
      return;
    }
    const c = this.current;
    const m = this.chosenMap();
    const values = Array.from({ length: c.T }, (_, j) => (pin.kind === 'row' ? m[pin.index * c.T + j]! : m[j * c.T + pin.index]!));
    const order = values.map((v, j) => [v, j] as const).sort((a, b) => b[0] - a[0]).slice(0, this.topK);
    this.tokenStrip.children[pin.index]?.classList.add('pinned');
    const title = pin.kind === 'row' ? `Query ${this.tokenLabel(pin.index)} attends to` : `Key ${this.tokenLabel(pin.index)} is attended by`;
    this.pinInfo.replaceChildren(
      el('h3', {}, title),
      el('ol', {}, ...order.map(([v, j]) => el('li', {}, el('span', { class: 'tok' }, this.tokenLabel(j)), bar(v), el('span', { class: 'num' }, v.toFixed(3))))),
    );
  }

  private renderTokens(): void {
    const c = this.current!;
    const strip = c.req.tokens.slice(0, c.T).map((t: TokenInfo, i) => {
      const s = el('span', { class: 'token', tabIndex: i === 0 ? 0 : -1, title: `#${i} id ${t.id} · line ${t.line + 1}:${t.character + 1}` }, showWhitespace(t.text));
      s.setAttribute('role', 'option');
      s.setAttribute('aria-label', `token ${i}: ${t.text.trim() ? t.text : 'whitespace'}, id ${t.id}`);
      s.addEventListener('click', (e) => this.heatmap.setPin({ kind: e.shiftKey ? 'column' : 'row', index: i }));
      return s;
    });
    this.tokenStrip.replaceChildren(...strip);
  }

  private tokenKey(e: KeyboardEvent): void {
    const items = [...this.tokenStrip.children] as HTMLElement[];
    const i = items.indexOf(document.activeElement as HTMLElement);
    if (i < 0) return;
    const next = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? items.length - 1 : undefined;
    if (next !== undefined) {
      const n = Math.max(0, Math.min(items.length - 1, next));
      items[i]!.tabIndex = -1;
      items[n]!.tabIndex = 0;
      items[n]!.focus();
      e.preventDefault();
    } else if (e.key === 'Enter' || e.key === ' ') {
      this.heatmap.setPin({ kind: e.shiftKey ? 'column' : 'row', index: i });
      e.preventDefault();
    }
  }

  private renderGrid(): void {
    const c = this.current!;
    const toUnit = weightToUnit(this.scale);
    const rows: HTMLElement[] = [el('div', { class: 'grid-row head-names' }, el('span', { class: 'layer-name' }), ...Array.from({ length: c.H }, (_, h) => el('span', { class: 'col-name' }, `H${h}`)), el('span', { class: 'col-name' }, 'avg'))];
    for (let l = 0; l < c.L; l++) {
      const cells: HTMLElement[] = [];
      for (let h = 0; h <= c.H; h++) {
        const head = h === c.H ? -1 : h;
        const map = headMap(c.result.attention[l]!, head, c.H, c.T);
        const canvas = el('canvas', { class: 'thumb' });
        drawHeatmap(canvas, map, c.T, THUMB_SIDE, toUnit, this.lut);
        const scores = head >= 0 ? c.scores[l]![head]! : undefined;
        const label = scores ? headLabel(scores) : undefined;
        const tag = el('span', { class: `tag ${label ?? 'none'}` }, label ? HEAD_LABEL_TEXT[label] : '');
        const desc = scores
          ? `Layer ${l} head ${head}${label ? `, ${HEAD_LABEL_LONG[label]} head` : ''}. Scores: previous ${fmt(scores.previous)}, induction ${fmt(scores.induction)}, duplicate ${fmt(scores.duplicate)}, first ${fmt(scores.first)}`
          : `Layer ${l}, average of heads`;
        const b = el('button', { class: 'cell', title: desc }, canvas, tag);
        b.setAttribute('aria-label', desc);
        b.setAttribute('role', 'gridcell');
        b.dataset.layer = String(l);
        b.dataset.head = String(head);
        if (l === this.layer && head === this.head) b.setAttribute('aria-selected', 'true');
        b.addEventListener('click', () => this.choose(l, head));
        b.addEventListener('keydown', (e) => this.gridKey(e, l, h));
        b.tabIndex = l === this.layer && head === this.head ? 0 : -1;
        cells.push(b);
      }
      const row = el('div', { class: 'grid-row' }, el('span', { class: 'layer-name' }, `L${l}`), ...cells);
      row.setAttribute('role', 'row');
      rows.push(row);
    }
    this.gridEl.replaceChildren(...rows);
  }

  private gridKey(e: KeyboardEvent, l: number, col: number): void {
    const c = this.current!;
    const d: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const mv = d[e.key];
    if (!mv) return;
    e.preventDefault();
    const nl = Math.max(0, Math.min(c.L - 1, l + mv[0]));
    const nc = Math.max(0, Math.min(c.H, col + mv[1]));
    const target = this.gridEl.querySelector<HTMLElement>(`.cell[data-layer="${nl}"][data-head="${nc === c.H ? -1 : nc}"]`);
    if (target) {
      this.gridEl.querySelectorAll<HTMLElement>('.cell').forEach((x) => (x.tabIndex = -1));
      target.tabIndex = 0;
      target.focus();
    }
  }

  private choose(layer: number, head: number): void {
    if (!this.current) return;
    const layerChanged = layer !== this.layer;
    this.layer = layer;
    this.head = head;
    this.layerSelect.setValue(String(layer));
    this.headSelect.setValue(String(head));
    this.gridEl.querySelectorAll('.cell').forEach((x) => {
      const sel = (x as HTMLElement).dataset.layer === String(layer) && (x as HTMLElement).dataset.head === String(head);
      if (sel) x.setAttribute('aria-selected', 'true');
      else x.removeAttribute('aria-selected');
    });
    const s = getState();
    setState({ ...s, layer, head });
    this.renderFocus();
    this.postHoverSummary();
    if (layerChanged) void this.retrace();
    else {
      this.renderTraceMatrices();
      this.renderAblationView();
    }
  }

  /** The shape trace and ablations belong to one layer: run the model again with that trace layer. */
  private async retrace(): Promise<void> {
    const c = this.current!;
    const id = this.activeRequest;
    this.traceEl.replaceChildren(el('p', { class: 'hint' }, `Tracing layer ${this.layer}…`));
    const layer = this.layer;
    const wanted = () => id === this.activeRequest && c === this.current && layer === this.layer;
    const r = await c.engine.inspect(c.result.ids, layer, wanted).catch((e: unknown) => this.failed(e, this.traceEl));
    if (!r || !wanted()) return;
    c.result = { ...c.result, trace: r.trace };
    this.renderTrace();
    await this.renderAblations(id);
  }

  /** A failed follow-up run (trace, ablation): said in its section and logged; a cancelled one says nothing. */
  private failed(e: unknown, where: HTMLElement): undefined {
    if (e instanceof Cancelled) return undefined;
    const message = e instanceof Error ? e.message : String(e);
    where.replaceChildren(el('p', { class: 'message error' }, `This part could not be computed: ${message}`));
    post({ type: 'log', level: 'error', message });
    return undefined;
  }

  private setScale(scale: ColorScale): void {
    this.scale = scale;
    this.scaleSelect.setValue(scale);
    this.redraw();
  }

  private redraw(): void {
    if (!this.current) return;
    this.renderFocus();
    this.renderGrid();
    this.renderTraceMatrices();
    this.renderAblationView();
  }

  private renderTrace(): void {
    const c = this.current!;
    const t = c.result.trace;
    if (!t) {
      this.traceEl.replaceChildren(el('p', { class: 'hint' }, 'No trace for this layer.'));
      return;
    }
    const rows = traceRows(t);
    const table = el(
      'table',
      { class: 'trace-table' },
      el('caption', {}, `Layer ${this.layer}, sizes read from the tensors that ran`),
      el('thead', {}, el('tr', {}, ...['step', 'operation', 'shape', 'min', 'max', ''].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...rows.map((r) => el('tr', {}, el('th', { scope: 'row' }, r.step), el('td', {}, r.op), el('td', { class: 'shape' }, r.shape), el('td', { class: 'num' }, fmt(r.min)), el('td', { class: 'num' }, fmt(r.max)), el('td', { class: 'note' }, r.note ?? '')))),
    );
    const p = parameterEquivalence(c.D, c.H);
    const n = (x: number) => x.toLocaleString('en-US');
    const equivalence = el(
      'p',
      { class: 'equivalence' },
      `Splitting D = ${p.D} into H = ${p.H} heads of dh = ${p.dh} keeps the projection parameters: one head of width ${p.D} needs 3·(${p.D}·${p.D} + ${p.D}) = ${n(p.oneHead)} for Q, K, V; ${p.H} heads of width ${p.dh} need ${p.H}·3·(${p.D}·${p.dh} + ${p.dh}) = ${n(p.multiHead)}. W_O is ${p.D}·${p.D} + ${p.D} = ${n(p.output)} either way. Heads change what is computed, not how many weights there are.`,
    );
    this.traceEl.replaceChildren(table, el('div', { class: 'trace-matrices' }), equivalence);
    this.renderTraceMatrices();
  }

  /** Scaled scores, mask and softmax of the chosen head (or their means over heads), side by side. */
  private renderTraceMatrices(): void {
    const c = this.current;
    const box = this.traceEl.querySelector('.trace-matrices');
    const t = c?.result.trace;
    if (!c || !box || !t) return;
    const who = this.headWords();
    const T = c.T;
    const scores = this.headSlice(t.scaledScores.data);
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) {
      const v = scores[i * T + j]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const mask = new Float32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) mask[i * T + j] = 1;
    const fig = (title: string, m: Float32Array, toUnit: (v: number) => number, caption: string) => {
      const canvas = el('canvas', { class: 'trace-canvas' });
      drawHeatmap(canvas, m, T, TRACE_SIDE, toUnit, this.lut);
      canvas.setAttribute('role', 'img');
      canvas.setAttribute('aria-label', `${title}, ${who}: ${caption}`);
      return el('figure', {}, canvas, el('figcaption', {}, el('strong', {}, title), el('br'), caption));
    };
    box.replaceChildren(
      fig('QKᵀ/√dh', scores, rangeToUnit(min, max), `${fmt(min)} … ${fmt(max)} (causal part)`),
      fig('causal mask', mask, (v) => v, 'kept (bright) / −∞ (dark)'),
      fig('softmax', this.headSlice(t.probs.data), weightToUnit(this.scale), `rows sum to 1 · ${this.scale}`),
    );
    box.setAttribute('aria-label', `Layer ${this.layer}, ${who}`);
  }

  private static readonly VARIANTS = [
    { name: 'as trained', ablation: undefined },
    { name: 'no 1/√dh', ablation: { noScale: true } },
    { name: 'no causal mask', ablation: { noMask: true } },
  ] as const;

  /** Runs the chosen layer as trained, without 1/√dh and without the causal mask, then shows what changed. */
  private async renderAblations(id: number): Promise<void> {
    const c = this.current!;
    const layer = this.layer;
    this.ablationEl.replaceChildren(el('p', { class: 'hint' }, `Recomputing layer ${layer} without 1/√dh and without the causal mask…`));
    const wanted = () => id === this.activeRequest && c === this.current && layer === this.layer;
    const maps: Float32Array[] = [];
    for (const v of InspectorPanelView.VARIANTS) {
      const r = v.ablation ? await c.engine.inspect(c.result.ids, layer, wanted, v.ablation).catch((e: unknown) => this.failed(e, this.ablationEl)) : c.result;
      if (!r || !wanted()) return;
      maps.push(r.attention[layer]!);
    }
    c.ablation = { layer, maps };
    this.renderAblationView();
  }

  private renderAblationView(): void {
    const c = this.current;
    const a = c?.ablation;
    if (!c || !a || a.layer !== this.layer) return;
    const T = c.T;
    const names = InspectorPanelView.VARIANTS.map((v) => v.name);
    const stats = a.maps.map((m) =>
      Array.from({ length: c.H }, (_, h) => {
        const p = m.subarray(h * T * T, (h + 1) * T * T);
        return { entropy: meanRowEntropy(p, T), above: meanWeightAboveDiagonal(p, T) };
      }),
    );
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
    const meanEntropy = stats.map((s) => mean(s.map((x) => x.entropy)));
    const who = this.headWords();
    const entropy = (k: number) => (this.head >= 0 ? stats[k]![this.head]!.entropy : meanEntropy[k]!);
    const figs = a.maps.map((m, k) => {
      const canvas = el('canvas', { class: 'trace-canvas' });
      drawHeatmap(canvas, this.headSlice(m), T, TRACE_SIDE, weightToUnit(this.scale), this.lut);
      canvas.setAttribute('role', 'img');
      canvas.setAttribute('aria-label', `Layer ${a.layer}, ${who}, ${names[k]}`);
      const caption = `L${a.layer} ${this.head >= 0 ? `H${this.head}` : 'mean of heads'} · ${fmt(entropy(k))} nats${this.head >= 0 ? '' : ' (mean)'}`;
      return el('figure', {}, canvas, el('figcaption', {}, el('strong', {}, names[k]!), el('br'), caption));
    });
    const table = el(
      'table',
      { class: 'ablation-table' },
      el('caption', {}, `Layer ${a.layer}: mean row entropy in nats (uniform over all ${T} keys would be ${fmt(Math.log(T))}) and mean weight on future tokens`),
      el('thead', {}, el('tr', {}, ...['head', 'entropy', 'no 1/√dh', 'no mask', 'future weight, no mask'].map((h) => el('th', { scope: 'col' }, h)))),
      el(
        'tbody',
        {},
        ...Array.from({ length: c.H }, (_, h) =>
          el('tr', { class: h === this.head ? 'chosen' : '' }, el('th', { scope: 'row' }, `H${h}`), ...[stats[0]![h]!.entropy, stats[1]![h]!.entropy, stats[2]![h]!.entropy, stats[2]![h]!.above].map((v) => el('td', { class: 'num' }, fmt(v)))),
        ),
        el('tr', { class: this.head < 0 ? 'mean chosen' : 'mean' }, el('th', { scope: 'row' }, 'mean'), ...meanEntropy.map((v) => el('td', { class: 'num' }, fmt(v))), el('td', { class: 'num' }, fmt(mean(stats[2]!.map((s) => s.above))))),
      ),
    );
    this.ablationEl.replaceChildren(el('div', { class: 'trace-matrices' }, ...figs), table, el('p', { class: 'hint' }, 'Without 1/√dh the scores are √dh times larger, so rows get sharper (lower entropy); without the mask, tokens also read the future — weight the trained model never saw.'));
  }

  private renderPredictions(): void {
    const c = this.current!;
    const r = c.result;
    const tokenText = (id: number) => showWhitespace(c.engine.model.tokenizer.tokenText(id));
    const finite = [...r.loss].filter(Number.isFinite);
    const meanLoss = finite.reduce((a, b) => a + b, 0) / Math.max(1, finite.length);
    const maxLoss = Math.max(1e-9, ...finite);
    const rows = c.req.tokens.slice(0, c.T).map((t, i) => {
      const loss = i > 0 ? r.loss[i - 1]! : NaN;
      const top = r.top[i]!;
      return el(
        'tr',
        {},
        el('td', { class: 'num' }, String(i)),
        el('td', { class: 'tok' }, showWhitespace(t.text)),
        el('td', { class: 'num loss' }, Number.isFinite(loss) ? loss.toFixed(2) : '—', bar(Number.isFinite(loss) ? loss / maxLoss : 0)),
        el('td', { class: 'preds' }, top.ids.slice(0, this.topK).map((id, k) => `${tokenText(id)} ${top.probs[k]!.toFixed(2)}`).join('   ')),
      );
    });
    this.predictionsEl.replaceChildren(
      el('p', {}, `Mean loss ${meanLoss.toFixed(3)} nats over ${finite.length} predicted tokens (perplexity ${Math.exp(meanLoss).toFixed(1)}). Loss of token i: −ln p(token i | tokens before it).`),
      el('div', { class: 'table-wrap' }, el('table', { class: 'pred-table' }, el('thead', {}, el('tr', {}, ...['#', 'token', 'loss', `top ${this.topK} next tokens`].map((h) => el('th', { scope: 'col' }, h)))), el('tbody', {}, ...rows))),
    );
  }

  private postHoverSummary(): void {
    const c = this.current;
    if (!c) return;
    const summary = hoverSummary({
      attention: c.result.attention,
      H: c.H,
      T: c.T,
      layer: this.layer,
      head: this.head,
      chosen: this.chosenMap(),
      loss: c.result.loss,
      top: c.result.top,
      tokenText: (id) => c.engine.model.tokenizer.tokenText(id),
      k: this.topK,
    });
    post({ type: 'hoverSummary', requestId: c.req.requestId, summary });
  }

  private fileBase(): string {
    return `attention-L${this.layer}${this.head < 0 ? 'avg' : `H${this.head}`}`;
  }

  private async exportPng(): Promise<void> {
    const blob = await new Promise<Blob | null>((r) => this.heatmap.canvas.toBlob(r, 'image/png'));
    if (blob) await this.report(save(`${this.fileBase()}.png`, 'image/png', new Uint8Array(await blob.arrayBuffer())));
  }

  private async exportNpy(): Promise<void> {
    const c = this.current;
    if (!c) return;
    const all = new Float32Array(c.L * c.H * c.T * c.T);
    c.result.attention.forEach((a, l) => all.set(a, l * c.H * c.T * c.T));
    await this.report(save('attention.npy', 'application/octet-stream', float32Npy(all, [c.L, c.H, c.T, c.T])));
  }

  private async exportJson(): Promise<void> {
    const c = this.current;
    if (!c) return;
    const m = this.chosenMap();
    const json = {
      model: c.req.model.label,
      provider: c.engine.provider,
      adapter: c.engine.adapter,
      layer: this.layer,
      head: this.head < 0 ? 'average' : this.head,
      tokens: c.req.tokens.slice(0, c.T).map(({ id, text, start, end }) => ({ id, text, start, end })),
      attention: Array.from({ length: c.T }, (_, i) => Array.from(m.subarray(i * c.T, (i + 1) * c.T))),
    };
    await this.report(save(`${this.fileBase()}.json`, 'application/json', new TextEncoder().encode(JSON.stringify(json))));
  }

  private async report(p: Promise<{ path?: string; error?: string }>): Promise<void> {
    const r = await p;
    this.statusEl.textContent = r.path ? `Saved ${r.path}` : r.error === 'cancelled' ? '' : `Export failed: ${r.error}`;
  }
}

const view = new InspectorPanelView();
onHostMessage((m) => view.handle(m));
announceReady();
