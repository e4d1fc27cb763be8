/**
 * Colours of the heatmaps: a weight in [0, 1] goes through the chosen scale, then along a ramp from the
 * editor background to the theme's accent (VS Code's --vscode-* variables), so light, dark and high
 * contrast themes all read well. Pure apart from `themeRamp`, which reads computed styles.
 */
import type { ColorScale } from '../../protocol/inspector.js';

export type Rgb = [number, number, number];

const LOG_FLOOR = 1e-4;

/** Weight → position on the ramp, in [0, 1]. */
export function scaleWeight(w: number, scale: ColorScale): number {
  const v = w <= 0 ? 0 : w >= 1 ? 1 : w;
  if (scale === 'linear') return v;
  if (scale === 'sqrt') return Math.sqrt(v);
  return v <= LOG_FLOOR ? 0 : (Math.log10(v) - Math.log10(LOG_FLOOR)) / -Math.log10(LOG_FLOOR);
}

/** A 256-entry RGB lookup table from `low` through `mid` to `high`. */
export function rampTable(low: Rgb, mid: Rgb, high: Rgb): Uint8ClampedArray {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    const [a, b, u] = t < 0.5 ? [low, mid, t * 2] : [mid, high, (t - 0.5) * 2];
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = a[c]! + (b[c]! - a[c]!) * u;
  }
  return lut;
}

export function parseColor(css: string, fallback: Rgb): Rgb {
  const s = css.trim();
  const hex = /^#([0-9a-f]{3,8})$/i.exec(s);
  if (hex) {
    const h = hex[1]!;
    const full = h.length <= 4 ? [...h.slice(0, 3)].map((c) => c + c).join('') : h.slice(0, 6);
    return [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16)) as Rgb;
  }
  const rgb = /^rgba?\(([^)]+)\)$/i.exec(s);
  if (rgb) {
    const parts = rgb[1]!.split(/[\s,/]+/).filter(Boolean).slice(0, 3).map(Number);
    if (parts.length === 3 && parts.every((p) => Number.isFinite(p))) return parts as Rgb;
  }
  return fallback;
}

/** The theme's ramp: editor background → chart blue → a bright end (foreground-tinted). */
export function themeRamp(el: Element): Uint8ClampedArray {
  const style = getComputedStyle(el);
  const v = (name: string, fb: Rgb) => parseColor(style.getPropertyValue(name), fb);
  const bg = v('--vscode-editor-background', [30, 30, 30]);
  const dark = bg[0] + bg[1] + bg[2] < 384;
  const mid = v('--vscode-charts-blue', dark ? [55, 148, 255] : [26, 133, 255]);
  const high = dark ? v('--vscode-charts-yellow', [255, 230, 80]) : v('--vscode-charts-red', [200, 30, 30]);
  return rampTable(bg, mid, high);
}

/** How the views colour attention weights: the chosen scale and the theme's ramp (256 RGB entries). */
export interface HeatmapColors {
  scale: ColorScale;
  lut: Uint8ClampedArray;
  /** Values that are not weights (a signed difference): their own value → ramp position, in place of `scale`. */
  toUnit?: (v: number) => number;
}

/** Value → ramp position under these colours. */
export function unitOf(colors: HeatmapColors): (v: number) => number {
  return colors.toUnit ?? ((v) => scaleWeight(v, colors.scale));
}
