/**
 * The inspected tokens in a row, whitespace made visible. Click or Enter pins the token's query row,
 * Shift the key column; arrows, Home and End move between tokens (one tab stop for the strip).
 */
import type { TokenInfo } from '../../protocol/inspector.js';
import type { Pin } from './bigHeatmap.js';
import { el, section } from './dom.js';
import { showWhitespace } from './tokenText.js';

export class TokenStrip {
  private readonly strip = el('div', { class: 'token-strip', role: 'listbox' });
  /** The Δloss legend while an ablated run is shown. */
  private readonly legend = el('div', { class: 'delta-legend-slot' });
  readonly element = section('Tokens', 'tokens', this.strip, this.legend);

  constructor(private readonly onPin: (pin: Pin) => void) {
    this.strip.setAttribute('aria-label', 'Tokens (whitespace shown as · → ↵); Enter pins the token’s row, Shift+Enter its column');
    this.strip.addEventListener('keydown', (e) => this.onKey(e));
  }

  render(tokens: readonly TokenInfo[]): void {
    const strip = tokens.map((t, i) => {
      const s = el('span', { class: 'token', tabIndex: i === 0 ? 0 : -1, title: `#${i} id ${t.id} · line ${t.line + 1}:${t.character + 1}` }, showWhitespace(t.text));
      s.setAttribute('role', 'option');
      s.setAttribute('aria-label', `token ${i}: ${t.text.trim() ? t.text : 'whitespace'}, id ${t.id}`);
      s.dataset.base = s.title;
      s.dataset.label = s.getAttribute('aria-label')!;
      s.addEventListener('click', (e) => this.onPin({ kind: e.shiftKey ? 'column' : 'row', index: i }));
      return s;
    });
    this.strip.replaceChildren(...strip);
  }

  /**
   * Colours each token by its change in loss (delta[i − 1] for token i), on a diverging scale of ±maxAbs
   * that `legend` explains, and adds `notes[i]` to its hover and label; undefined: the clean colours.
   */
  showDelta(change: { delta: Float32Array; maxAbs: number; notes: readonly string[]; legend: HTMLElement } | undefined): void {
    [...this.strip.children].forEach((node, i) => {
      const s = node as HTMLElement;
      const d = change && i > 0 ? change.delta[i - 1]! : NaN;
      s.classList.toggle('delta-up', Number.isFinite(d) && d > 0);
      s.classList.toggle('delta-down', Number.isFinite(d) && d < 0);
      if (Number.isFinite(d)) s.style.setProperty('--delta', (Math.min(1, Math.abs(d) / change!.maxAbs) * 100).toFixed(1) + '%');
      else s.style.removeProperty('--delta');
      const note = change?.notes[i];
      s.title = note ? `${s.dataset.base}\n${note}` : s.dataset.base!;
      s.setAttribute('aria-label', note ? `${s.dataset.label}; ${note}` : s.dataset.label!);
    });
    this.legend.replaceChildren(...(change ? [change.legend] : []));
  }

  /** Marks the pinned token (undefined: none). */
  markPinned(index: number | undefined): void {
    this.strip.querySelectorAll('.pinned').forEach((e) => e.classList.remove('pinned'));
    if (index !== undefined) this.strip.children[index]?.classList.add('pinned');
  }

  private onKey(e: KeyboardEvent): void {
    const items = [...this.strip.children] as HTMLElement[];
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
      this.onPin({ kind: e.shiftKey ? 'column' : 'row', index: i });
      e.preventDefault();
    }
  }
}
