/**
 * The inspector panel's controller: receives the host's messages, runs the model (engine.ts) with
 * request ids so that a newer inspection or a cancel drops what is in flight, keeps what the panel shows
 * (the chosen layer and head, the pinned row or column, the colour scale) and hands each view the part
 * of it that view draws; posts back run facts and the hover summary.
 *
 * Memory: the model runs once and keeps each layer's q and k and its input (O(L·T·D): another layer's
 * shape trace runs that layer alone on it); maps are derived from the q and k a head at a time. The
 * chosen head's map is derived first, at full resolution; then each layer's heads
 * are digested (thumbnails, scores, the hovers' strongest keys, layerDigest.ts) and dropped, a head per
 * task, with the stage shown ("maps of layer k/L") and a Cancel button. What stays of the maps is the
 * digests and a few recent full maps (RECENT_MAPS_BYTES), never all L·H·T² weights.
 */
import { patternKeysOf, type PatternKeys } from '../../kernels/inspect/headScores.js';
import type { Ablation } from '../../kernels/graph/decoderGraph.js';
import type { LayerInspection, LayerTrace } from '../../kernels/runtime/decoderInspector.js';
import type { ColorScale, HostMessage, InspectRequest, ModelName, PageResources } from '../../protocol/inspector.js';
import { button, spinner } from '../components/controls.js';
import { ablationMaps, AblationsView, digestAblations, type AblationDigest } from './ablationsView.js';
import type { Pin } from './bigHeatmap.js';
import { themeRamp, type HeatmapColors } from './colors.js';
import { el } from './dom.js';
import { liveSessions } from '../engine/liveSessions.js';
import { Cancelled, cancelLoading, getEngine, watchWeights, type Engine, type WeightsProgress } from './engine.js';
import { exportButtons, savedText } from './exports.js';
import { ablatedTokensJson, ablationWords, changeScores, HeadMarks, headKey, hoverAblation, meanLossOfTokens, parseHeadKey, type AblatedRun } from './headAblation.js';
import { ablationTokenChanges, HeadAblationControls } from './headAblationView.js';
import type { HeadAblationMode } from '../../kernels/graph/decoderGraph.js';
import { FocusHeatmap } from './focusHeatmap.js';
import { HeadGrid, THUMB_SIDE } from './headGrid.js';
import { HeadRankingView } from './headRanking.js';
import type { HeadChoice } from './headMaps.js';
import { getState, post, save, saveInParts, setState } from './host.js';
import { hoverSummary } from './hoverSummary.js';
import { digestLayer, headMapOf, MAPS_MEASURE, meanOfHeads, type DigestSource, type LayerDigest } from './layerDigest.js';
import { NoticeList } from './notices.js';
import { PinnedComparison, type ComparedInspection } from './pinnedComparison.js';
import { PredictionsView } from './predictionsView.js';
import { RecentMaps } from './recentMaps.js';
import { ShapeTraceView } from './shapeTraceView.js';
import { TokenStrip } from './tokenStrip.js';
import { TopBar } from './topBar.js';

/** Full T×T maps kept for drawing again at once: 8 at T = 1,024, every map of a short inspection. */
const RECENT_MAPS_BYTES = 32 << 20;

interface Inspection {
  req: InspectRequest;
  engine: Engine;
  /** The one forward pass: loss, top-k, and what every map is derived from. */
  run: LayerInspection;
  /** The traced layer's tensors (a later trace of another layer replaces them). */
  trace: LayerTrace | undefined;
  T: number;
  H: number;
  L: number;
  keys: PatternKeys;
  /** Per layer, once its maps were digested. */
  digests: (LayerDigest | undefined)[];
  recent: RecentMaps;
  /** Set by the Cancel button: the maps stop, what was drawn stays. */
  mapsStopped: boolean;
  /** True while the layers' maps are being digested. */
  digesting: boolean;
  /** The traced layer as trained, without 1/√dh, without the mask: stats of every head, maps of the chosen. */
  ablation?: AblationDigest;
  /** The last "Run ablated" of marked heads, shown beside this (clean) inspection until cleared. */
  ablated?: AblatedRun;
}

/** A task boundary that the 4 ms clamp of nested timers does not slow (a message to ourselves). */
const yieldToPage = () =>
  new Promise<void>((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => resolve();
    ch.port2.postMessage(null);
  });

export class InspectorController {
  private current: Inspection | undefined;
  /** The chosen map (T×T), as drawn. */
  private shown: Float32Array | undefined;
  private activeRequest = 0;
  private layer = 0;
  private head = 0;
  private readonly startupReported = new WeakSet<Engine>();
  private scale: ColorScale = 'sqrt';
  private topK = 5;
  private pin: Pin | undefined;
  private lut: Uint8ClampedArray = new Uint8ClampedArray(256 * 3);
  private accent = '#fff';

  private readonly topBar = new TopBar();
  private readonly notices = new NoticeList();
  private readonly tokenStrip = new TokenStrip((pin) => this.focus.pin(pin));
  private readonly grid = new HeadGrid(
    ({ layer, head }) => this.choose(layer, head),
    (h) => this.toggleMark(h),
  );
  /** Heads marked in the grid for the next "Run ablated". */
  private readonly marks = new HeadMarks();
  /** Until the first inspection of this page starts: the saved state's marks are taken back then. */
  private firstInspection = true;
  /** Bumped by each run and clear of the ablation: a newer one stops the older's work. */
  private ablationRun = 0;
  private readonly ablationControls = new HeadAblationControls({
    run: (mode) => void this.runAblated(mode),
    clear: () => this.clearAblation(),
    exportJson: () => void this.exportAblated(),
  });
  private readonly focus: FocusHeatmap = new FocusHeatmap(
    {
      onLayer: (layer) => this.choose(layer, this.head),
      onHead: (head) => this.choose(this.layer, head),
      onScale: (scale) => this.setScale(scale),
      onPin: (pin) => this.showPin(pin),
    },
    this.scale,
    exportButtons({
      canvas: () => this.focus.canvas,
      chosen: () => this.chosen,
      shown: () => {
        const c = this.current;
        const chosen = this.chosen;
        return (
          c && {
            modelLabel: c.req.model.label,
            provider: c.engine.provider,
            adapter: c.engine.adapter,
            tokens: c.req.tokens.slice(0, c.T),
            headMap: (l, h) => headMapOf(this.layerSource(c, l, () => true), h),
            chosenMap: () => this.mapOf(c, chosen, () => true),
            L: c.L,
            H: c.H,
            T: c.T,
          }
        );
      },
      save,
      saveInParts,
      setStatus: (text) => this.topBar.setStatus(text),
    }),
  );
  private readonly comparison: PinnedComparison = new PinnedComparison({
    onPinToggle: () => this.pinInspection(!this.comparison.isPinned),
    onChoose: ({ layer, head }) => this.choose(layer, head),
    setStatus: (text) => this.topBar.setStatus(text),
    canvas: () => this.focus.canvas,
    chosen: () => this.chosen,
    save,
    saveInParts,
  });
  /** Each inspection as the comparison sees it (one object per inspection: pinned is compared by identity). */
  private readonly comparedOf = new WeakMap<Inspection, ComparedInspection>();
  private readonly trace = new ShapeTraceView();
  private readonly ablations = new AblationsView();
  private readonly predictions = new PredictionsView();
  private readonly ranking = new HeadRankingView();
  private readonly body = el('div', { class: 'body', hidden: true });
  private readonly message = el('div', { class: 'message', role: 'alert', hidden: true });
  private readonly progress = el('div', { class: 'progress', role: 'status', hidden: true });
  /** When the last `weights` message went to the host: loading is said a few times a second at most. */
  private weightsPostedAt = 0;
  /** Says when what is shown is not from the active model (it changed, or the shown one was removed). */
  private readonly modelNotice = el('div', { class: 'model-notice', role: 'status', hidden: true });
  /** The active model as the host last said; inspections in flight keep the model of their request. */
  private activeModel: ModelName | undefined;
  private readonly removed = new Map<string, ModelName>();
  /** The inspection being run (its request), until it is shown or dropped. */
  private running: InspectRequest | undefined;

  constructor(root: HTMLElement) {
    this.body.append(
      this.notices.element,
      this.comparison.element,
      this.tokenStrip.element,
      el('div', { class: 'columns' }, this.comparison.pinnedGridElement, this.grid.element, this.focus.element),
      this.trace.element,
      this.ablations.element,
      this.ranking.element,
      this.predictions.element,
    );
    this.topBar.element.append(this.comparison.pinButton);
    this.grid.element.append(this.ablationControls.element);
    root.replaceChildren(this.topBar.element, this.progress, this.message, this.modelNotice, this.body);
    watchWeights((w) => this.showWeights(w));
    this.readTheme();
    new MutationObserver(() => {
      this.readTheme();
      this.redraw();
    }).observe(document.body, { attributes: true, attributeFilter: ['class'] });
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
        if (m.requestId === this.activeRequest) this.drop('a newer inspection was started');
        return;
      case 'activeModel':
        this.activeModel = m.model;
        this.showModelNotice();
        return;
      case 'modelRemoved':
        this.removed.set(m.model.id, m.model);
        this.activeModel = m.active;
        // Its files are gone: a run of it in flight could only fail on them.
        if (this.running?.model.id === m.model.id) {
          this.drop(`${m.model.label} was removed`);
          if (!this.current) this.showMessage(`${m.model.label} was removed from the model store; its inspection was cancelled. Run Inspect Attention to inspect with ${m.active.label}.`, 'empty');
        }
        this.showModelNotice();
        return;
      case 'settings':
        this.topK = m.topK;
        this.setScale(m.colorScale);
        return;
      case 'message':
        this.showMessage(m.text, m.kind);
        return;
      case 'pinInspection':
        this.pinInspection(m.pin);
        return;
    }
  }

  private get chosen(): HeadChoice {
    return { layer: this.layer, head: this.head };
  }

  private get colors(): HeatmapColors {
    return { scale: this.scale, lut: this.lut };
  }

  private readTheme(): void {
    this.lut = themeRamp(document.body);
    const style = getComputedStyle(document.body);
    this.accent = style.getPropertyValue('--vscode-focusBorder').trim() || '#ffcc00';
    this.focus.drawLegend(this.lut);
  }

  private showMessage(text: string, kind: 'empty' | 'error'): void {
    this.progress.hidden = true;
    this.message.hidden = false;
    this.message.className = `message ${kind}`;
    this.message.textContent = text;
    this.body.hidden = kind === 'empty' || !this.current;
    this.topBar.setStatus('');
  }

  private setStatus(text: string, busy: boolean): void {
    this.topBar.setStatus(text);
    this.progress.hidden = !busy;
    if (busy) this.progress.replaceChildren(spinner(text), el('span', {}, text), button({ label: 'Cancel', title: 'Stop this inspection; what is drawn stays', secondary: true, onClick: () => this.cancelShown() }));
  }

  /**
   * The Cancel button: stops the maps of the shown inspection (its heatmap and the layers done so far
   * stay), or, before anything is drawn, the inspection itself (its run is dropped when it ends).
   */
  private cancelShown(): void {
    const c = this.current;
    if (c?.digesting && c.req.requestId === this.activeRequest) {
      c.mapsStopped = true;
      return;
    }
    const id = this.activeRequest;
    this.activeRequest = 0;
    this.setStatus('Cancelled', false);
    post({ type: 'progress', requestId: id, stage: 'cancelled in the panel' });
  }

  /** "GPT-2 small: 212 / 548 MB" with a Cancel button while an inspection waits for the weights. */
  private showWeights(w: WeightsProgress): void {
    const now = performance.now();
    if (w.state !== 'loading' || now - this.weightsPostedAt > 250) {
      this.weightsPostedAt = now;
      post({ type: 'weights', modelId: w.modelId, loadedBytes: w.loaded, totalBytes: w.total, ms: w.ms, state: w.state, via: w.via });
    }
    if (w.state !== 'loading' || this.activeRequest === 0 || w.total === 0) return;
    const text = `${w.label}: ${Math.floor(w.loaded / 1e6)} / ${Math.round(w.total / 1e6)} MB`;
    this.topBar.setStatus(text);
    const label = this.progress.querySelector('.weights-text');
    if (label) {
      label.textContent = text;
      return;
    }
    const cancel = button({ label: 'Cancel', title: `Stop loading ${w.label}`, secondary: true, onClick: () => cancelLoading() });
    this.progress.hidden = false;
    this.progress.replaceChildren(spinner(text), el('span', { class: 'weights-text' }, text), cancel);
  }

  private async inspect(req: InspectRequest): Promise<void> {
    const id = req.requestId;
    if (this.running) this.drop('a newer inspection was started');
    this.activeRequest = id;
    this.running = req;
    this.scale = req.colorScale;
    this.focus.showScale(this.scale);
    this.topK = req.topK;
    this.message.hidden = true;
    const saved = getState();
    const sameText = saved.request && saved.request.tokens.length === req.tokens.length && saved.request.tokens.every((t, i) => t.id === req.tokens[i]!.id);
    const { model, ortBase: _ortBase, commandEpochMs: _commandEpochMs, ...kept } = req;
    // A page made again (a reload) takes back the marks and, for the same text, the ablated run it showed.
    const restoring = this.firstInspection ? saved.ablation : undefined;
    this.firstInspection = false;
    if (restoring) for (const k of restoring.heads) if (/^\d+\.\d+$/.test(k)) this.marks.add(parseHeadKey(k));
    setState({ request: { ...kept, modelId: model.id }, layer: saved.layer, head: saved.head, ablation: saved.ablation });
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
      const run = await engine.inspect(
        req.tokens.map((t) => t.id),
        this.layer,
        () => id === this.activeRequest,
      );
      if (id !== this.activeRequest) {
        run.release();
        return;
      }
      const T = run.ids.length;
      if (this.current && !this.comparison.holds(this.current.req.requestId)) this.current.run.release();
      const c: Inspection = {
        req,
        engine,
        run,
        trace: run.trace,
        T,
        H,
        L,
        keys: patternKeysOf(run.ids),
        digests: [],
        recent: new RecentMaps(RECENT_MAPS_BYTES),
        mapsStopped: false,
        digesting: true,
      };
      this.current = c;
      this.comparison.setCurrent(this.compared(c));
      this.showModelNotice();
      this.shown = undefined;
      this.pin = undefined;
      const live = () => id === this.activeRequest && c === this.current;
      this.setStatus('Deriving the chosen head’s map…', true);
      this.shown = await this.mapOf(c, this.chosen, live);
      await this.comparison.prepareChosen(this.chosen, this.shown, live);
      if (!live()) return;
      this.topBar.showRun({ provider: engine.provider, adapter: engine.adapter, attention: run.provider.attention, maps: run.provider.maps, fallbackReason: engine.fallbackReason, modelLabel: req.model.label, T, source: req.source });
      this.focus.setShape(L, H, this.chosen);
      this.body.hidden = false;
      this.renderFocus();
      const firstHeatmapMs = Date.now() - req.commandEpochMs;
      document.body.dataset.firstHeatmapMs = String(firstHeatmapMs);
      this.notices.render({ selection: req.notices, truncated: run.truncated?.message, fallbackReason: engine.fallbackReason });
      this.tokenStrip.render(req.tokens.slice(0, T));
      this.renderComparison();
      for (const h of this.marks.list()) if (h.layer >= L || h.head >= H) this.marks.toggle(h);
      this.ablationRun++;
      this.renderGrid();
      this.showAblated();
      this.saveAblationState(undefined);
      if (sameText && restoring?.shownMode && this.marks.size > 0) {
        this.ablationControls.setMode(restoring.shownMode);
        void this.runAblated(restoring.shownMode);
      }
      this.predictions.render({ tokens: req.tokens.slice(0, T), loss: run.loss, top: run.top, tokenText: (t) => engine.model.tokenizer.tokenText(t), topK: this.topK });
      this.ranking.show({ modelLabel: req.model.label, provider: engine.provider, L, H, T, losses: (sets, mode, wanted) => engine.ablatedLosses(run.ids, sets, mode, wanted), save });
      await yieldToPage(); // the page's first build (token strip, predictions table) is a task of its own
      const tMaps = performance.now();
      const complete = await this.digestLayers(c, live);
      if (complete) await this.digestDifferences(live);
      // The span in which every layer's maps were derived and digested (where long tasks are looked for);
      // the hover summary and the trace table follow, each in a task of its own.
      performance.measure(MAPS_MEASURE, { start: tMaps });
      await yieldToPage();
      if (!live()) return;
      // The trace table's statistics read three (H, T, T) tensors in one task: after the maps, not among them.
      this.renderTrace();
      await yieldToPage();
      if (!live()) return;
      this.postHoverSummary();
      if (!complete) {
        this.setStatus(`Maps stopped after ${c.digests.filter(Boolean).length} of ${L} layers`, false);
        post({ type: 'mapsCancelled', requestId: id, layersDone: c.digests.filter(Boolean).length, layers: L });
        return;
      }
      this.setStatus('', false);
      // Shown from here on: a cancel before this (while the chosen head's map was derived) is said as one.
      this.running = undefined;
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
            graph: run.timingsMs.graph,
            session: run.timingsMs.session,
            run: run.timingsMs.run,
            inspect: run.timingsMs.total,
            maps: performance.now() - tMaps,
          },
          firstHeatmapMs,
          model: { id: req.model.id, label: req.model.label },
          resources: this.resources(),
        },
      });
      document.body.dataset.inspected = String(id);
      await this.runAblations(id);
      if (id !== this.activeRequest) return;
      // The page is idle now (every view's runs done): what it holds between inspections.
      const held = this.resources();
      const heap = held.jsHeapBytes === undefined ? '' : `, JS heap ${(held.jsHeapBytes / 1e6).toFixed(1)} MB`;
      post({ type: 'log', level: 'info', message: `inspection ${id} settled: ${held.liveSessions} onnxruntime sessions alive${heap}` });
    } catch (e) {
      if (id === this.running?.requestId) this.running = undefined;
      if (id !== this.activeRequest) return;
      if (e instanceof Cancelled) {
        this.showMessage(`${capitalized(e.message)}. Run Inspect Attention to load it again.`, 'empty');
        return;
      }
      const message = e instanceof Error ? e.message : String(e);
      post({ type: 'error', requestId: id, message });
      this.showMessage(`The inspection failed: ${message}`, 'error');
    }
  }

  /** Drops the inspection in flight (its later steps see it is no longer active) and tells the host why. */
  private drop(reason: string): void {
    const r = this.running;
    this.activeRequest = 0;
    if (!r) return;
    this.running = undefined;
    this.setStatus('', false);
    post({ type: 'cancelled', requestId: r.requestId, reason });
  }

  /**
   * What is shown is always labelled with its model (top bar); this says when that is no longer the model
   * inspections use, or no longer exists. The heatmaps stay: they are still true of the model that made
   * them, and the user may want to read or export them before inspecting again.
   */
  private showModelNotice(): void {
    const shown = this.current?.req.model;
    const active = this.activeModel;
    const removed = shown && this.removed.get(shown.id);
    const again = active ? ` Run Inspect Attention to inspect with ${active.label}.` : '';
    let text = '';
    if (removed) text = `${removed.label} was removed from the model store. The heatmaps below are from it, kept so that you can still read or export them.${again}`;
    else if (shown && active && shown.id !== active.id) text = `These heatmaps are from ${shown.label}; the active model is now ${active.label}.${again}`;
    this.modelNotice.textContent = text;
    this.modelNotice.hidden = text === '';
  }

  /** Sessions alive and the JS heap, after a full collection where the page may ask for one (tests expose gc). */
  private resources(): PageResources {
    (globalThis as { gc?: () => void }).gc?.();
    const memory = (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory;
    return { liveSessions: liveSessions(), ...(memory ? { jsHeapBytes: memory.usedJSHeapSize } : {}) };
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

  /** Maps of one layer of `c`, a head per task; `live` false stops it (Cancelled). */
  private layerSource(c: Inspection, layer: number, live: () => boolean): DigestSource {
    return {
      H: c.H,
      T: c.T,
      headRows: (h, first, count) => c.run.headRows(layer, h, first, count),
      between: async () => {
        await yieldToPage();
        if (!live()) throw new Cancelled('superseded');
      },
    };
  }

  /** A chosen map (one head, or a layer's mean of heads): kept recently, or derived now at full resolution. */
  private async mapOf(c: Inspection, choice: HeadChoice, live: () => boolean): Promise<Float32Array> {
    const kept = c.recent.get(choice);
    if (kept) return kept;
    const src = this.layerSource(c, choice.layer, live);
    const m = choice.head >= 0 ? await headMapOf(src, choice.head) : await meanOfHeads(src);
    c.recent.put(choice, m);
    return m;
  }

  /** Digests every layer's maps in turn; false when the Cancel button stopped it. */
  private async digestLayers(c: Inspection, live: () => boolean): Promise<boolean> {
    try {
      for (let l = 0; l < c.L; l++) {
        if (c.mapsStopped) return false;
        this.setStatus(`Maps of layer ${l + 1}/${c.L}…`, true);
        const d = await digestLayer(this.layerSource(c, l, () => live() && !c.mapsStopped), c.keys, THUMB_SIDE, (head, m) => c.recent.offer({ layer: l, head }, m));
        c.digests[l] = d;
        this.grid.showLayer(l, d, this.colors);
        post({ type: 'mapsProgress', requestId: c.req.requestId, layersDone: l + 1, layers: c.L });
      }
      return true;
    } catch (e) {
      if (e instanceof Cancelled && live()) return false;
      throw e;
    } finally {
      c.digesting = false;
    }
  }

  private renderFocus(): void {
    const c = this.current!;
    if (!this.shown) return;
    this.focus.render(this.comparison.focusContent({ map: this.shown, T: c.T, tokens: c.req.tokens, chosen: this.chosen, topK: this.topK, colors: this.colors, accent: this.accent }), this.pin);
  }

  /** `c` as the comparison sees it: its model, text, loss, digests and maps from its kept q and k. */
  private compared(c: Inspection): ComparedInspection {
    let x = this.comparedOf.get(c);
    if (!x) {
      x = {
        requestId: c.req.requestId,
        source: c.req.source,
        model: { id: c.req.model.id, label: c.req.model.label },
        T: c.T,
        L: c.L,
        H: c.H,
        KV: c.engine.model.config.nKvHead,
        tokens: c.req.tokens.slice(0, c.T),
        loss: c.run.loss,
        digests: c.digests,
        chosenMap: (choice, live) => this.mapOf(c, choice, live),
        headMap: (l, h, live) => headMapOf(this.layerSource(c, l, live), h),
        release: () => c.run.release(),
      };
      this.comparedOf.set(c, x);
    }
    return x;
  }

  /**
   * Pins the inspection shown (to compare the next one with it), or unpins; every view is drawn again
   * as the comparison now says (differences, side by side, or the current inspection alone).
   */
  private pinInspection(pin: boolean): void {
    const c = this.current;
    if (pin && !c) {
      this.topBar.setStatus('Nothing to pin: inspect a selection first.');
      return;
    }
    if (pin) this.comparison.pin(this.compared(c!));
    else this.comparison.unpin();
    if (!c) return;
    this.renderComparison();
    this.renderGrid();
    this.renderFocus();
  }

  /** The comparison card, the pinned grid and the token strip's Δloss as the comparison is now. */
  private renderComparison(): void {
    this.comparison.render(this.colors, this.chosen);
    this.showTokenChanges();
  }

  /**
   * The token strip's one change view: an ablated run's Δloss wins while it is shown (it is the newer,
   * more specific question); clearing it shows the comparison's Δloss again, if any.
   */
  private showTokenChanges(): void {
    const c = this.current;
    if (c?.ablated) {
      const { changes, legend } = ablationTokenChanges(c.run, c.ablated, (id) => c.engine.model.tokenizer.tokenText(id));
      this.tokenStrip.showChanges(changes, legend);
    } else this.tokenStrip.showChanges(this.comparison.tokenChanges());
  }

  /** While differencing: every head's difference digested into the grid (the current's maps are all digested). */
  private async digestDifferences(live: () => boolean): Promise<void> {
    const differencing = () => live() && this.comparison.state.kind === 'difference';
    await this.comparison.digestDifferences(this.colors, differencing, (l, d, colors) => this.grid.showLayer(l, d, colors), () => this.renderGrid()).catch((e: unknown) => this.failed(e, this.comparison));
    if (live()) this.renderComparison();
  }

  /** The pin the heatmap shows, marked on its token too. */
  private showPin(pin: Pin | undefined): void {
    this.pin = pin;
    this.tokenStrip.markPinned(pin && this.current ? pin.index : undefined);
  }

  private renderGrid(): void {
    const c = this.current!;
    const { content, colors } = this.comparison.gridContent({ digests: c.digests, L: c.L, H: c.H, KV: c.engine.model.config.nKvHead }, this.colors);
    this.comparison.titleGrid(this.grid.element);
    this.grid.render(content, this.chosen, colors);
    this.grid.showAblation((layer, head) => this.marks.has({ layer, head }), c.ablated?.change, c.digests, this.colors);
  }

  private toggleMark(h: HeadChoice): void {
    const c = this.current;
    if (!c) return;
    this.marks.toggle(h);
    this.grid.showAblation((layer, head) => this.marks.has({ layer, head }), c.ablated?.change, c.digests, this.colors);
    this.showAblationControls();
    this.saveAblationState(c.ablated?.mode);
  }

  /** The marks and the mode of the ablated run shown, in the page's state (a reload restores them). */
  private saveAblationState(shownMode: HeadAblationMode | undefined): void {
    setState({ ...getState(), ablation: { heads: this.marks.list().map(headKey), ...(shownMode ? { shownMode } : {}) } });
  }

  private showAblationControls(busy = ''): void {
    const c = this.current;
    const a = c?.ablated;
    const shown = c && a ? { words: ablationWords(a), meanBefore: meanLossOfTokens(c.run.loss), meanAfter: meanLossOfTokens(a.loss), predicted: [...a.loss].filter(Number.isFinite).length } : undefined;
    this.ablationControls.show(this.marks.list(), shown, busy, !!c);
  }

  /** Shows the ablated run of the inspection beside its clean results, or the clean results alone. */
  private showAblated(): void {
    const c = this.current;
    if (!c) return;
    const a = c.ablated;
    const tokenText = (id: number) => c.engine.model.tokenizer.tokenText(id);
    this.grid.showAblation((layer, head) => this.marks.has({ layer, head }), a?.change, c.digests, this.colors);
    this.showTokenChanges();
    this.predictions.render({ tokens: c.req.tokens.slice(0, c.T), loss: c.run.loss, top: c.run.top, tokenText, topK: this.topK, ...(a ? { ablated: { words: ablationWords(a), loss: a.loss, top: a.top } } : {}) });
    this.showAblationControls();
    this.postHoverSummary();
  }

  /**
   * "Run ablated": the model runs again with the marked heads ablated; the loss and guesses are shown at
   * once, then each later head's change score as its layer is done. The ablated run's q and k go then.
   */
  private async runAblated(mode: HeadAblationMode): Promise<void> {
    const c = this.current;
    const heads = this.marks.list();
    if (!c || heads.length === 0) return;
    const token = ++this.ablationRun;
    const live = () => c === this.current && token === this.ablationRun;
    this.showAblationControls(`Running with ${ablationWords({ heads, mode })}…`);
    let run: LayerInspection | undefined;
    try {
      run = await c.engine.inspect(c.run.ids, undefined, live, { heads, headMode: mode });
      if (!live()) return;
      const a: AblatedRun = { heads, mode, loss: run.loss, top: run.top, change: new Float32Array(c.L * c.H).fill(Number.NaN) };
      c.ablated = a;
      this.showAblated();
      this.saveAblationState(mode);
      const ablatedRun = run;
      const ablatedSource = (l: number): DigestSource => ({ ...this.layerSource(c, l, live), headRows: (h, first, count) => ablatedRun.headRows(l, h, first, count) });
      await changeScores(c.L, heads[0]!.layer, (l) => this.layerSource(c, l, live), ablatedSource, a.change, (l) => {
        this.grid.showAblation((layer, head) => this.marks.has({ layer, head }), a.change, c.digests, this.colors);
        if (l < c.L - 1) this.showAblationControls(`Attention change of layer ${l + 2}/${c.L}…`);
      });
      if (!live()) return;
      this.showAblationControls();
      document.body.dataset.ablated = String(token);
      post({ type: 'log', level: 'info', message: `ablated run: ${ablationWords(a)}, mean loss ${meanLossOfTokens(c.run.loss).toFixed(4)} → ${meanLossOfTokens(a.loss).toFixed(4)} nats` });
    } catch (e) {
      if (!live()) return;
      this.showAblationControls();
      this.failed(e, { showFailure: (m) => this.showAblationControls(`Ablated run failed: ${m}`) });
    } finally {
      run?.release();
    }
  }

  /** "Clear ablation": no head marked, the clean inspection shown again (it was kept: nothing runs). */
  private clearAblation(): void {
    this.ablationRun++;
    this.marks.clear();
    const c = this.current;
    if (c) c.ablated = undefined;
    delete document.body.dataset.ablated;
    this.showAblated();
    this.saveAblationState(undefined);
  }

  private async exportAblated(): Promise<void> {
    const c = this.current;
    const a = c?.ablated;
    if (!c || !a) return;
    const tokenText = (id: number) => c.engine.model.tokenizer.tokenText(id);
    const json = ablatedTokensJson(a, c.run, c.req.tokens.slice(0, c.T), tokenText, c.req.model.label, c.engine.provider);
    this.topBar.setStatus(savedText(await save('ablated-tokens.json', 'application/json', new TextEncoder().encode(JSON.stringify(json, null, 1)))));
  }

  private async choose(layer: number, head: number): Promise<void> {
    const c = this.current;
    if (!c) return;
    const layerChanged = layer !== this.layer;
    this.layer = layer;
    this.head = head;
    this.focus.showChoice(this.chosen);
    this.grid.select(this.chosen);
    this.comparison.select(this.chosen);
    const s = getState();
    setState({ ...s, layer, head });
    const stillChosen = () => c === this.current && layer === this.layer && head === this.head;
    const map = c.recent.get(this.chosen) ?? (await this.mapOf(c, this.chosen, stillChosen).catch((e: unknown) => this.failed(e, this.trace)));
    if (map) await this.comparison.prepareChosen(this.chosen, map, stillChosen).catch((e: unknown) => this.failed(e, this.comparison));
    if (!map || !stillChosen()) return;
    this.shown = map;
    this.renderFocus();
    this.postHoverSummary();
    if (layerChanged) void this.retrace();
    else {
      this.trace.renderMatrices(this.chosen, this.colors);
      await this.showAblationHead();
    }
  }

  /** The shape trace and ablations belong to one layer: that layer's trace graph runs on its kept input. */
  private async retrace(): Promise<void> {
    const c = this.current!;
    const id = this.activeRequest;
    this.trace.showTracing(this.layer);
    const layer = this.layer;
    const wanted = () => id === this.activeRequest && c === this.current && layer === this.layer;
    const trace = await c.engine.traceLayer(c.run, layer, wanted).catch((e: unknown) => this.failed(e, this.trace));
    if (!trace || !wanted()) return;
    c.trace = trace;
    this.renderTrace();
    await this.runAblations(id);
  }

  /** A failed follow-up run (trace, ablation): said in its view and logged; a cancelled one says nothing. */
  private failed(e: unknown, where: { showFailure(message: string): void }): undefined {
    if (e instanceof Cancelled) return undefined;
    const message = e instanceof Error ? e.message : String(e);
    where.showFailure(message);
    post({ type: 'log', level: 'error', message });
    return undefined;
  }

  private setScale(scale: ColorScale): void {
    this.scale = scale;
    this.focus.showScale(scale);
    this.redraw();
  }

  private redraw(): void {
    if (!this.current) return;
    this.renderComparison();
    this.renderFocus();
    this.renderGrid();
    this.trace.renderMatrices(this.chosen, this.colors);
    this.renderAblationView();
  }

  private renderTrace(): void {
    const c = this.current!;
    this.trace.render({ trace: c.trace, layer: this.layer, T: c.T, H: c.H, config: c.engine.model.config }, this.chosen, this.colors);
  }

  /** How the chosen layer's heads attend as trained, without 1/√dh and without the mask, derived from the kept q and k. */
  private ablationSource(c: Inspection, layer: number, live: () => boolean) {
    const src = this.layerSource(c, layer, live);
    return { ...src, headRows: (h: number, first: number, count: number, ablation: Ablation | undefined) => c.run.headRows(layer, h, first, count, ablation) };
  }

  /** The ablations of the chosen layer: every head's stats, the chosen head's maps. */
  private async runAblations(id: number): Promise<void> {
    const c = this.current!;
    const layer = this.layer;
    this.ablations.showRecomputing(layer);
    const wanted = () => id === this.activeRequest && c === this.current && layer === this.layer;
    const a = await digestAblations(this.ablationSource(c, layer, wanted), layer, this.head).catch((e: unknown) => this.failed(e, this.ablations));
    if (!a || !wanted()) return;
    c.ablation = a;
    this.renderAblationView();
    // A head chosen while these were derived found no digest to add its maps to: they are derived now.
    await this.showAblationHead();
  }

  /** Another head of the same layer: its ablation maps (the stats of every head are already there). */
  private async showAblationHead(): Promise<void> {
    const c = this.current;
    const a = c?.ablation;
    if (!c || !a || a.layer !== this.layer || a.head === this.head) return;
    const head = this.head;
    const wanted = () => c === this.current && a === c.ablation && head === this.head;
    const maps = await ablationMaps(this.ablationSource(c, a.layer, wanted), head).catch((e: unknown) => this.failed(e, this.ablations));
    if (!maps || !wanted()) return;
    c.ablation = { ...a, head, maps };
    this.renderAblationView();
  }

  private renderAblationView(): void {
    const c = this.current;
    const a = c?.ablation;
    if (!c || !a || a.layer !== this.layer || a.head !== this.head) return;
    this.ablations.render(a, c.T, c.H, this.colors);
  }

  private postHoverSummary(): void {
    const c = this.current;
    if (!c || !this.shown) return;
    const summary = hoverSummary({
      strongest: c.digests.flatMap((d) => (d ? [d.strongest] : [])),
      H: c.H,
      T: c.T,
      layer: this.layer,
      head: this.head,
      chosen: this.shown,
      loss: c.run.loss,
      top: c.run.top,
      tokenText: (id) => c.engine.model.tokenizer.tokenText(id),
      k: this.topK,
      ...(c.ablated ? { ablated: { ablation: hoverAblation(c.ablated), loss: c.ablated.loss, top: c.ablated.top } } : {}),
    });
    post({ type: 'hoverSummary', requestId: c.req.requestId, summary });
  }
}

const capitalized = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
