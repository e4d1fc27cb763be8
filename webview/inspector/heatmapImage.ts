/**
 * Turns a T×T attention matrix into pixels: never a DOM element per cell. Matrices larger than the
 * target are max-pooled (a bright cell stays visible when shrunk); smaller ones map one cell to one
 * pixel, or to `cell` × `cell` pixels where the canvas is drawn at device pixels.
 */
import type { ColorScale } from '../../protocol/inspector.js';
import { scaleWeight } from './colors.js';

/** Side of the image drawn for a T×T matrix within a `max` budget. */
export function imageSide(T: number, max: number): number {
  return Math.min(T, max);
}

/** `m` (T×T) max-pooled to side × side (side ≤ T): a bright cell stays visible when shrunk. */
export function maxPool(m: Float32Array, T: number, side: number): Float32Array {
  if (side === T) return m;
  const out = new Float32Array(side * side);
  maxPoolRows(m, T, side, 0, side, out);
  return out;
}

/** The query rows that pooled row `y` of side covers begin here (pooled rows y0 … y1 − 1 cover [pooledRowStart(y0), pooledRowStart(y1))). */
export function pooledRowStart(y: number, T: number, side: number): number {
  return Math.floor((y * T) / side);
}

/** Pooled rows y0 … y1 − 1 of maxPool(m, T, side), written into `out` (side × side). */
export function maxPoolRows(m: Float32Array, T: number, side: number, y0: number, y1: number, out: Float32Array): void {
  for (let y = y0; y < y1; y++) {
    const r0 = pooledRowStart(y, T, side);
    const r1 = Math.max(r0 + 1, pooledRowStart(y + 1, T, side));
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
      out[y * side + x] = w;
    }
  }
}

/**
 * RGBA pixels of `m` (T×T, row = query) max-pooled to side × side, each cell `cell` × `cell` pixels
 * (crisp at device pixels: never scaled by the browser). Above the diagonal of a causal matrix is plain
 * background, like any zero weight.
 */
export function heatmapPixels(m: Float32Array, T: number, side: number, toUnit: (v: number) => number, lut: Uint8ClampedArray, cell = 1): Uint8ClampedArray<ArrayBuffer> {
  const pooled = maxPool(m, T, side);
  const w = side * cell;
  const px = new Uint8ClampedArray(w * w * 4);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const u = toUnit(pooled[y * side + x]!);
      const k = u > 0 ? (u < 1 ? Math.round(u * 255) : 255) : 0;
      const r = lut[k * 3]!;
      const g = lut[k * 3 + 1]!;
      const b = lut[k * 3 + 2]!;
      for (let dy = 0; dy < cell; dy++) {
        let o = ((y * cell + dy) * w + x * cell) * 4;
        for (let dx = 0; dx < cell; dx++, o += 4) {
          px[o] = r;
          px[o + 1] = g;
          px[o + 2] = b;
          px[o + 3] = 255;
        }
      }
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

/** Draws `m` into `canvas`, whose backing store becomes (side · cell)², side = min(T, maxSide). */
export function drawHeatmap(canvas: HTMLCanvasElement, m: Float32Array, T: number, maxSide: number, toUnit: (v: number) => number, lut: Uint8ClampedArray, cell = 1): void {
  const side = imageSide(T, maxSide);
  const w = side * cell;
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== w) canvas.height = w;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.putImageData(new ImageData(heatmapPixels(m, T, side, toUnit, lut, cell), w, w), 0, 0);
}
