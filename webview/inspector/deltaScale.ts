/**
 * A diverging colour scale for signed changes (an attention difference, a Δloss): 0 is the editor
 * background, negative values run toward the theme's blue, positive toward its red, symmetric over
 * ±limit, so the sign reads at a glance in light, dark and high-contrast themes (--vscode-* colours).
 * Shared by every view that shows a change; the legend says what each end means.
 */
import type { ColorScale } from '../../protocol/inspector.js';
import { parseColor, rampTable, scaleWeight, type Rgb } from './colors.js';
import { el } from './dom.js';

export interface DeltaScale {
  /** |value| drawn at full colour; larger values are clamped. */
  limit: number;
  /** 256 RGB entries, blue → background → red. */
  lut: Uint8ClampedArray;
  /** Value → ramp position in [0, 1] (0.5: no change). */
  toUnit(v: number): number;
  /** Value → CSS colour (for elements such as tokens). */
  css(v: number): string;
}

/** The theme's diverging ramp: chart blue → editor background → chart red. */
export function divergingRamp(element: Element): Uint8ClampedArray {
  const style = getComputedStyle(element);
  const v = (name: string, fb: Rgb) => parseColor(style.getPropertyValue(name), fb);
  return rampTable(v('--vscode-charts-blue', [55, 148, 255]), v('--vscode-editor-background', [30, 30, 30]), v('--vscode-charts-red', [241, 76, 76]));
}

/** The largest |value| among the finite ones; a tiny floor so that an all-zero change still draws. */
export function symmetricLimit(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]!);
    if (a > m && Number.isFinite(a)) m = a;
  }
  return Math.max(m, 1e-6);
}

/**
 * The scale over ±limit; `shape` (the panel's colour scale) bends |v| / limit as it bends attention
 * weights, so that small changes show under sqrt or log as small weights do, the sign kept.
 */
export function deltaScale(limit: number, lut: Uint8ClampedArray, shape: ColorScale = 'linear'): DeltaScale {
  const toUnit = (v: number) => (Number.isFinite(v) ? 0.5 + 0.5 * Math.sign(v) * scaleWeight(Math.abs(v) / limit, shape) : 0.5);
  return {
    limit,
    lut,
    toUnit,
    css: (v) => {
      const k = Math.round(toUnit(v) * 255) * 3;
      return `rgb(${lut[k]}, ${lut[k + 1]}, ${lut[k + 2]})`;
    },
  };
}

/**
 * Per token i, the change in the loss of predicting it (loss[i − 1]): a − b; undefined for the first
 * token and where either run has no loss (the last position).
 */
export function tokenLossDelta(a: Float32Array, b: Float32Array): (number | undefined)[] {
  return Array.from({ length: b.length }, (_, i) => {
    const d = i > 0 ? a[i - 1]! - b[i - 1]! : NaN;
    return Number.isFinite(d) ? d : undefined;
  });
}

/** "+0.123" / "−0.123": the sign always shown, a true minus sign. */
export function signed(v: number, digits = 3): string {
  return `${v < 0 ? '−' : '+'}${Math.abs(v).toFixed(digits)}`;
}

/**
 * The scale as a labelled bar: −limit … 0 … +limit, with what each end means (`negative`, `positive`)
 * said in words, for sighted and screen-reader users alike.
 */
export function deltaLegend(s: DeltaScale, what: string, negative: string, positive: string): HTMLElement {
  const bar = el('canvas', { class: 'legend-bar delta', width: 128, height: 8 });
  const ctx = bar.getContext('2d');
  if (ctx) {
    const img = ctx.createImageData(bar.width, bar.height);
    for (let x = 0; x < bar.width; x++) {
      const k = Math.round((x / (bar.width - 1)) * 255) * 3;
      for (let y = 0; y < bar.height; y++) img.data.set([s.lut[k]!, s.lut[k + 1]!, s.lut[k + 2]!, 255], (y * bar.width + x) * 4);
    }
    ctx.putImageData(img, 0, 0);
  }
  const legend = el('div', { class: 'legend delta-legend', role: 'img' }, el('span', {}, what), el('span', {}, `${signed(-s.limit)} ${negative}`), bar, el('span', {}, `${signed(s.limit)} ${positive}`));
  legend.setAttribute('aria-label', `${what}: blue ${negative} (down to ${signed(-s.limit)}), background no change, red ${positive} (up to ${signed(s.limit)})`);
  return legend;
}
