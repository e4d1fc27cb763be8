/**
 * Turns a T×T attention matrix into pixels: never a DOM element per cell. Matrices larger than the
 * target are max-pooled (a bright cell stays visible when shrunk); smaller ones map one cell to one pixel
 * and the canvas scales them up without smoothing.
 */
import type { ColorScale } from '../../protocol/inspector.js';
import { scaleWeight } from './colors.js';

/** Side of the image drawn for a T×T matrix within a `max` budget. */
export function imageSide(T: number, max: number): number {
  return Math.min(T, max);
}

/**
 * RGBA pixels (side × side) of `m` (T×T, row = query). Above the diagonal of a causal matrix is plain
 * background, like any zero weight.
 */
export function heatmapPixels(m: Float32Array, T: number, side: number, toUnit: (v: number) => number, lut: Uint8ClampedArray): Uint8ClampedArray<ArrayBuffer> {
  const px = new Uint8ClampedArray(side * side * 4);
  for (let y = 0; y < side; y++) {
    const r0 = Math.floor((y * T) / side);
    const r1 = Math.max(r0 + 1, Math.floor(((y + 1) * T) / side));
    for (let x = 0; x < side; x++) {
      const c0 = Math.floor((x * T) / side);
      const c1 = Math.max(c0 + 1, Math.floor(((x + 1) * T) / side));
      let w = -Infinity;
      for (let r = r0; r < r1; r++) {
        const row = r * T;
        for (let c = c0; c < c1; c++) {
          const v = m[row + c]!;
          if (v > w) w = v;
        }
      }
      const u = toUnit(w);
      const k = u > 0 ? (u < 1 ? Math.round(u * 255) : 255) : 0;
      const o = (y * side + x) * 4;
      px[o] = lut[k * 3]!;
      px[o + 1] = lut[k * 3 + 1]!;
      px[o + 2] = lut[k * 3 + 2]!;
      px[o + 3] = 255;
    }
  }
  return px;
}

/** Attention weight → ramp position under a colour scale. */
export function weightToUnit(scale: ColorScale): (v: number) => number {
  return (v) => scaleWeight(v, scale);
}

/** Any values → ramp position, linear between the finite min and max (−∞, e.g. masked scores, at 0). */
export function rangeToUnit(min: number, max: number): (v: number) => number {
  const span = max - min || 1;
  return (v) => (Number.isFinite(v) ? (v - min) / span : 0);
}

/** Draws `m` into `canvas`, whose backing store becomes side × side. */
export function drawHeatmap(canvas: HTMLCanvasElement, m: Float32Array, T: number, maxSide: number, toUnit: (v: number) => number, lut: Uint8ClampedArray): void {
  const side = imageSide(T, maxSide);
  if (canvas.width !== side) canvas.width = side;
  if (canvas.height !== side) canvas.height = side;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.putImageData(new ImageData(heatmapPixels(m, T, side, toUnit, lut), side, side), 0, 0);
}
