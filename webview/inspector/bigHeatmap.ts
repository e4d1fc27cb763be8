/**
 * The chosen head as a large heatmap (queries down, keys across) on two stacked canvases: the image,
 * and an overlay for the cursor and pinned row/column, so moving the mouse never redraws T² cells.
 * Mouse: hover reads out query, key and weight; click pins the query row, Shift+click the key column.
 * Keyboard: arrows move the cursor (Shift: ×10), Enter pins the row, Shift+Enter the column, Escape unpins.
 */
import { drawHeatmap } from './heatmapImage.js';

export interface Pin {
  kind: 'row' | 'column';
  index: number;
}

export interface BigHeatmapEvents {
  /** Cursor moved to (query, key), or left the map (undefined). */
  onCursor(cell: { query: number; key: number } | undefined): void;
  onPin(pin: Pin | undefined): void;
}

/** Larger maps (beyond the context of the models we run) are max-pooled to this many cells a side. */
const MAX_SIDE = 1024;
/** The map's CSS width when its cells fit in it whole (smaller maps get whole device pixels per cell). */
const PREFERRED_CSS = 560;

export class BigHeatmap {
  /** The scrolling frame around the map. */
  readonly frame: HTMLElement;
  private readonly element: HTMLElement;
  private readonly image: HTMLCanvasElement;
  private readonly overlay: HTMLCanvasElement;
  private T = 0;
  private cursor: { query: number; key: number } | undefined;
  private pin: Pin | undefined;
  private accent = '#ffffff';

  constructor(private readonly events: BigHeatmapEvents) {
    this.element = document.createElement('div');
    this.element.className = 'big-heatmap';
    this.image = document.createElement('canvas');
    this.image.className = 'image';
    this.image.setAttribute('role', 'img');
    this.overlay = document.createElement('canvas');
    this.overlay.className = 'overlay';
    this.overlay.tabIndex = 0;
    this.overlay.setAttribute('role', 'application');
    this.overlay.setAttribute('aria-roledescription', 'attention heatmap');
    this.overlay.setAttribute('aria-label', 'Attention heatmap: arrow keys move between cells, Enter pins the query row, Shift+Enter the key column, Escape unpins');
    this.element.append(this.image, this.overlay);
    this.frame = document.createElement('div');
    this.frame.className = 'big-heatmap-frame';
    this.frame.append(this.element);
    this.overlay.addEventListener('mousemove', (e) => this.setCursor(this.cellAt(e)));
    this.overlay.addEventListener('mouseleave', () => this.setCursor(undefined));
    this.overlay.addEventListener('click', (e) => {
      const c = this.cellAt(e);
      if (c) this.togglePin(e.shiftKey ? { kind: 'column', index: c.key } : { kind: 'row', index: c.query });
    });
    this.overlay.addEventListener('keydown', (e) => this.onKey(e));
    new ResizeObserver(() => this.drawOverlay()).observe(this.element);
  }

  /** Draws a T×T map; `label` describes it for screen readers. */
  draw(m: Float32Array, T: number, toUnit: (v: number) => number, lut: Uint8ClampedArray, label: string, accent: string): void {
    if (T !== this.T) {
      this.cursor = undefined;
      this.pin = undefined;
    }
    this.T = T;
    this.accent = accent;
    // At device pixels: each cell is `cell` × `cell` device pixels (at least one), and the map's CSS size
    // is exactly its backing store over devicePixelRatio, so the browser never scales it (no blur, no
    // cell lost); a map wider than the room scrolls in its frame.
    const dpr = window.devicePixelRatio || 1;
    const room = Math.min(this.frame.parentElement?.clientWidth || PREFERRED_CSS, PREFERRED_CSS) * dpr;
    const side = Math.min(T, MAX_SIDE);
    const cell = Math.max(1, Math.floor(room / side));
    this.element.style.width = this.element.style.height = `${(side * cell) / dpr}px`;
    drawHeatmap(this.image, m, T, MAX_SIDE, toUnit, lut, cell);
    this.image.setAttribute('aria-label', label);
    this.drawOverlay();
  }

  /** The image canvas (exports). */
  get canvas(): HTMLCanvasElement {
    return this.image;
  }

  setPin(pin: Pin | undefined): void {
    this.pin = pin;
    this.drawOverlay();
    this.events.onPin(pin);
  }

  private togglePin(p: Pin): void {
    this.setPin(this.pin && this.pin.kind === p.kind && this.pin.index === p.index ? undefined : p);
  }

  private setCursor(c: { query: number; key: number } | undefined): void {
    this.cursor = c;
    this.drawOverlay();
    this.events.onCursor(c);
  }

  private cellAt(e: MouseEvent): { query: number; key: number } | undefined {
    const r = this.overlay.getBoundingClientRect();
    if (!this.T || r.width === 0) return undefined;
    const key = Math.floor(((e.clientX - r.left) / r.width) * this.T);
    const query = Math.floor(((e.clientY - r.top) / r.height) * this.T);
    if (key < 0 || query < 0 || key >= this.T || query >= this.T) return undefined;
    return { query, key };
  }

  private onKey(e: KeyboardEvent): void {
    if (!this.T) return;
    const step = e.shiftKey ? 10 : 1;
    const c = this.cursor ?? { query: 0, key: 0 };
    const clamp = (v: number) => Math.max(0, Math.min(this.T - 1, v));
    const moves: Record<string, [number, number]> = { ArrowUp: [-step, 0], ArrowDown: [step, 0], ArrowLeft: [0, -step], ArrowRight: [0, step] };
    const mv = moves[e.key];
    if (mv) this.setCursor({ query: clamp(c.query + mv[0]), key: clamp(c.key + mv[1]) });
    else if (e.key === 'Home') this.setCursor({ query: c.query, key: 0 });
    else if (e.key === 'End') this.setCursor({ query: c.query, key: c.query });
    else if (e.key === 'Enter') this.togglePin(e.shiftKey ? { kind: 'column', index: c.key } : { kind: 'row', index: c.query });
    else if (e.key === 'Escape') this.setPin(undefined);
    else return;
    e.preventDefault();
  }

  private drawOverlay(): void {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(this.overlay.clientWidth * dpr);
    const h = Math.round(this.overlay.clientHeight * dpr);
    if (this.overlay.width !== w) this.overlay.width = w;
    if (this.overlay.height !== h) this.overlay.height = h;
    const ctx = this.overlay.getContext('2d');
    if (!ctx || !this.T) return;
    ctx.clearRect(0, 0, w, h);
    const cw = w / this.T;
    const ch = h / this.T;
    ctx.strokeStyle = this.accent;
    ctx.lineWidth = Math.max(1, dpr);
    if (this.pin) {
      ctx.setLineDash([4 * dpr, 3 * dpr]);
      if (this.pin.kind === 'row') ctx.strokeRect(0.5, this.pin.index * ch + 0.5, w - 1, Math.max(ch, 2) - 1);
      else ctx.strokeRect(this.pin.index * cw + 0.5, 0.5, Math.max(cw, 2) - 1, h - 1);
      ctx.setLineDash([]);
    }
    if (this.cursor) {
      const x = this.cursor.key * cw;
      const y = this.cursor.query * ch;
      ctx.globalAlpha = 0.35;
      ctx.fillStyle = this.accent;
      ctx.fillRect(0, y, x, Math.max(ch, 1));
      ctx.fillRect(x, 0, Math.max(cw, 1), y);
      ctx.globalAlpha = 1;
      ctx.strokeRect(x + 0.5, y + 0.5, Math.max(cw, 3) - 1, Math.max(ch, 3) - 1);
    }
  }
}
