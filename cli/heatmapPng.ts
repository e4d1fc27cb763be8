/**
 * PNG heatmaps (Node only: zlib). Of attention: one image per layer, heads tiled in rows of four; each
 * cell is query row × key column, colour by √p (so weak weights stay visible), from dark blue to yellow.
 * Of a layer × head table (rank-heads): headGridPng.
 */
import { promisify } from 'node:util';
import { deflate, deflateSync } from 'node:zlib';

const deflateAsync = promisify(deflate);

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

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function ihdr(width: number, height: number, colourType: 2 | 3): Buffer {
  const h = Buffer.alloc(13);
  h.writeUInt32BE(width, 0);
  h.writeUInt32BE(height, 4);
  h.set([8, colourType, 0, 0, 0], 8);
  return chunk('IHDR', h);
}

/** An 8-bit RGB PNG from its scanlines as IDAT holds them (`raw`: per row a filter byte, 0, then RGB). */
export function encodePng(width: number, height: number, raw: Uint8Array): Buffer {
  return Buffer.concat([SIGNATURE, ihdr(width, height, 2), chunk('IDAT', deflateSync(raw, { level: 1 })), chunk('IEND', new Uint8Array())]);
}

/**
 * An 8-bit palette PNG (`raw`: per row a filter byte, 0, then one palette index a pixel; `palette`: RGB
 * triples), compressed on zlib's thread pool. Deflate level 1: at 1,024 tokens a layer's image is 13 MB
 * of indices, which level 6 takes 4× longer to compress for a file only 15% smaller.
 */
async function encodePalettePng(width: number, height: number, raw: Uint8Array, palette: Uint8Array): Promise<Buffer> {
  const idat = await deflateAsync(raw, { level: 1 });
  return Buffer.concat([SIGNATURE, ihdr(width, height, 3), chunk('PLTE', palette), chunk('IDAT', idat), chunk('IEND', new Uint8Array())]);
}

const LOW = [13, 8, 135];
const HIGH = [240, 249, 33];
const GAP = 4;
const COLUMNS = 4;
/** Palette indices 0…LEVELS−1 are √p = k/(LEVELS−1) (within half a level per channel of the exact colour); WHITE is the gaps. */
const LEVELS = 255;
const WHITE = LEVELS;
const PALETTE = Uint8Array.from({ length: 3 * (LEVELS + 1) }, (_, i) => {
  const [k, c] = [Math.floor(i / 3), i % 3];
  return k === WHITE ? 255 : Math.round(LOW[c] + ((HIGH[c] - LOW[c]) * k) / (LEVELS - 1));
});

/** The palette index of weight `p`: √p in LEVELS − 1 steps, rounded (NaN and negatives: 0). */
function level(p: number): number {
  return (Math.sqrt(Math.min(1, p)) * (LEVELS - 1) + 0.5) | 0;
}

/** Pixels per side of a head's cell at most: a longer map is drawn a block of s × s weights per pixel. */
export const MAX_CELL = 1024;

/**
 * Heatmaps of layers of one shape (heads, T), drawn as palette indices (one byte a pixel: a third of RGB
 * to fill and to compress) into one scanline buffer reused layer after layer (13 MB at 1,024 tokens and
 * 12 heads): the cells are overwritten, the white gaps and filter bytes stay. Heads are drawn one at a
 * time (drawHead), so no layer's maps need be held. Up to MAX_CELL tokens a weight is a pixel (or
 * scale × scale pixels); beyond, a pixel is the largest weight of its s × s block (a sharp diagonal stays
 * visible), so the image stays 4 × 1,024 pixels wide whatever T. One image at a time: encode() must have
 * resolved before the next layer's heads are drawn.
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
    this.stride = this.width + 1;
    this.raw = new Uint8Array(this.stride * this.height).fill(WHITE);
    for (let y = 0; y < this.height; y++) this.raw[y * this.stride] = 0;
  }

  /** Draws head `h`'s map (T·T, row-major query, key) into its cell; `map` may be reused once this returns. */
  drawHead(h: number, map: Float32Array): void {
    const { T, scale, step, cell, cols, stride, raw } = this;
    const x0 = (h % cols) * (cell + GAP);
    const y0 = Math.floor(h / cols) * (cell + GAP);
    const block = step > 1 ? new Float32Array(cell / scale) : undefined;
    /** The weights of the pixel row being drawn: the map's row itself, or the maxima of its blocks. */
    let weights = map;
    let from = 0;
    for (let y = 0; y < cell; y++) {
      if (y % scale === 0) {
        const row = (y / scale) * step;
        if (!block) from = row * T;
        else {
          block.fill(0);
          for (let r = row; r < Math.min(T, row + step); r++) {
            for (let c = 0; c < T; c++) {
              const p = map[r * T + c];
              const j = Math.floor(c / step);
              if (p > block[j]) block[j] = p;
            }
          }
          weights = block;
        }
      }
      const o = (y0 + y) * stride + 1 + x0;
      // A weight a pixel (the common case, T from 128 to MAX_CELL) without the division by the scale.
      if (scale === 1) for (let x = 0; x < cell; x++) raw[o + x] = level(weights[from + x]);
      else for (let x = 0; x < cell; x++) raw[o + x] = level(weights[from + Math.floor(x / scale)]);
    }
  }

  /** The PNG of the heads drawn so far; the compression overlaps whatever the caller does next. */
  encode(): Promise<Buffer> {
    return encodePalettePng(this.width, this.height, this.raw, PALETTE);
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
