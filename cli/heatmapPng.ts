/**
 * PNG heatmaps (Node only: zlib). Of attention: one image per layer, heads tiled in rows of four; each
 * cell is query row × key column, colour by √p (so weak weights stay visible), from dark blue to yellow.
 * Of a layer × head table (rank-heads): headGridPng.
 */
import { deflateSync } from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * An 8-bit RGB PNG from its scanlines as IDAT holds them (`raw`: per row a filter byte, 0, then RGB). Deflate level 1: at 1,024 tokens a layer's image is 38 MB of pixels, which level 6
 * takes 4× longer to compress for a file only 15% smaller.
 */
export function encodePng(width: number, height: number, raw: Uint8Array): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 1 })), chunk('IEND', new Uint8Array())]);
}

const LOW = [13, 8, 135];
const HIGH = [240, 249, 33];
const SPAN = HIGH.map((h, c) => h - LOW[c]);
const GAP = 4;
const COLUMNS = 4;

/** Pixels per side of a head's cell at most: a longer map is drawn a block of s × s weights per pixel. */
export const MAX_CELL = 1024;

/**
 * Heatmaps of layers of one shape (heads, T), drawn into one scanline buffer reused layer after layer
 * (38 MB at 1,024 tokens and 12 heads): the cells are overwritten, the white gaps and filter bytes stay.
 * Up to MAX_CELL tokens a weight is a pixel (or scale × scale pixels); beyond, a pixel is the largest
 * weight of its s × s block (so a sharp diagonal stays visible), which keeps the image at 4 × 1,024
 * pixels wide whatever T (at 4,096 tokens a pixel per weight would be 605 MB of scanlines for 9 heads).
 */
export class LayerHeatmaps {
  private readonly scale: number;
  /** Weights per pixel side (1 up to MAX_CELL tokens). */
  private readonly step: number;
  private readonly cell: number;
  private readonly cols: number;
  private readonly width: number;
  private readonly height: number;
  private readonly stride: number;
  private readonly raw: Uint8Array;

  constructor(
    heads: number,
    private readonly T: number,
  ) {
    this.scale = Math.max(1, Math.floor(128 / T));
    this.step = Math.ceil(T / MAX_CELL);
    this.cell = Math.ceil(T / this.step) * this.scale;
    this.cols = Math.min(COLUMNS, heads);
    const rows = Math.ceil(heads / this.cols);
    this.width = this.cols * this.cell + (this.cols - 1) * GAP;
    this.height = rows * this.cell + (rows - 1) * GAP;
    // Pixels go straight into the scanlines (filter byte 0 first in each): no second image-sized copy.
    this.stride = this.width * 3 + 1;
    this.raw = new Uint8Array(this.stride * this.height).fill(255);
    for (let y = 0; y < this.height; y++) this.raw[y * this.stride] = 0;
  }

  /** Draws head `h`'s map (T·T, row-major query, key) into its cell of the next png(). */
  drawHead(h: number, map: Float32Array): void {
    const { T, scale, step, cell, cols, stride, raw } = this;
    const x0 = (h % cols) * (cell + GAP);
    const y0 = Math.floor(h / cols) * (cell + GAP);
    const block = new Float32Array(cell / scale);
    for (let y = 0; y < cell; y++) {
      const row = Math.floor(y / scale) * step;
      if (y % scale === 0) {
        block.fill(0);
        for (let r = row; r < Math.min(T, row + step); r++) {
          for (let c = 0; c < T; c++) {
            const p = map[r * T + c];
            const j = Math.floor(c / step);
            if (p > block[j]) block[j] = p;
          }
        }
      }
      for (let x = 0; x < cell; x++) {
        const p = Math.sqrt(Math.min(1, block[Math.floor(x / scale)]));
        const o = (y0 + y) * stride + 1 + (x0 + x) * 3;
        raw[o] = Math.round(LOW[0] + SPAN[0] * p);
        raw[o + 1] = Math.round(LOW[1] + SPAN[1] * p);
        raw[o + 2] = Math.round(LOW[2] + SPAN[2] * p);
      }
    }
  }

  /** The PNG of the heads drawn so far. */
  encode(): Buffer {
    return encodePng(this.width, this.height, this.raw);
  }

}

const NEGATIVE = [33, 102, 172];
const POSITIVE = [178, 24, 43];
const GRID_CELL = 24;

/**
 * A layer × head table (`values[layer][head]`) as a PNG: one GRID_CELL-pixel square per head, layers top
 * to bottom, heads left to right; a diverging scale, white at 0, red at +max|v|, blue at −max|v|.
 */
export function headGridPng(values: readonly (readonly number[])[]): Buffer {
  const rows = values.length;
  const cols = values[0].length;
  const span = Math.max(...values.flat().map(Math.abs)) || 1;
  const width = cols * GRID_CELL;
  const stride = width * 3 + 1;
  const raw = new Uint8Array(stride * rows * GRID_CELL);
  for (let y = 0; y < rows * GRID_CELL; y++) {
    for (let x = 0; x < width; x++) {
      const v = values[Math.floor(y / GRID_CELL)][Math.floor(x / GRID_CELL)] / span;
      const end = v < 0 ? NEGATIVE : POSITIVE;
      for (let c = 0; c < 3; c++) raw[y * stride + 1 + x * 3 + c] = Math.round(255 + (end[c] - 255) * Math.min(1, Math.abs(v)));
    }
  }
  return encodePng(width, rows * GRID_CELL, raw);
}
