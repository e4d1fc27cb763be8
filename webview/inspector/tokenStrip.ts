/**
 * The inspected tokens in a row, whitespace made visible. Click or Enter pins the token's query row,
 * Shift the key column; arrows, Home and End move between tokens (one tab stop for the strip).
 */
import type { TokenInfo } from '../../protocol/inspector.js';
import type { Pin } from './bigHeatmap.js';
import type { DeltaScale } from './deltaScale.js';
import { el, section } from './dom.js';
import { showWhitespace } from './tokenText.js';

/** A signed change per token (a Δloss), coloured on a diverging scale; undefined where a token has none. */
export interface TokenChanges {
  values: readonly (number | undefined)[];
  scale: DeltaScale;
  /** The change of token i in words, added to its tooltip and label. */
  describe(i: number, v: number): string;
}

export class TokenStrip {
  private readonly strip = el('div', { class: 'token-strip', role: 'listbox' });
  /** The legend of the changes shown, where no other view has it (the comparison's is in its card). */
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
   * Colours each token by its change (undefined: plain again), its tooltip and label saying the value;
   * `legend`, if given, is shown under the strip.
   */
  showChanges(c: TokenChanges | undefined, legend?: HTMLElement): void {
    [...this.strip.children].forEach((node, i) => {
      const t = node as HTMLElement;
      const base = t.dataset.base!;
      const label = t.dataset.label!;
      const v = c?.values[i];
      const changed = c !== undefined && v !== undefined && Number.isFinite(v);
      t.classList.toggle('changed', changed);
      if (changed) t.style.setProperty('--change', c.scale.css(v));
      else t.style.removeProperty('--change');
      const words = changed ? c.describe(i, v) : '';
      t.title = words ? `${base} · ${words}` : base;
      t.setAttribute('aria-label', words ? `${label}, ${words}` : label);
    });
    this.legend.replaceChildren(...(legend ? [legend] : []));
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
