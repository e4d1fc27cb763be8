/**
 * Decodes the 8-bit RGB and palette PNGs the CLI writes, independently of its encoder: checks the
 * signature and every chunk's CRC, inflates the IDAT stream, undoes each row's filter (all five PNG
 * filter types) and looks palette indices up in PLTE.
 */
import assert from 'node:assert/strict';
import { crc32, inflateSync } from 'node:zlib';

export interface DecodedPng {
  width: number;
  height: number;
  /** Row-major RGB, 3 bytes a pixel. */
  rgb: Uint8Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

export function decodeRgbPng(png: Buffer): DecodedPng {
  assert.ok(png.subarray(0, 8).equals(SIGNATURE), 'not a PNG signature');
  let at = 8;
  let header: Buffer | undefined;
  let palette: Buffer | undefined;
  const idat: Buffer[] = [];
  let ended = false;
  while (at < png.length) {
    const length = png.readUInt32BE(at);
    const type = png.subarray(at + 4, at + 8).toString('latin1');
    const data = png.subarray(at + 8, at + 8 + length);
    assert.equal(png.readUInt32BE(at + 8 + length), crc32(png.subarray(at + 4, at + 8 + length)), `${type} chunk CRC`);
    if (type === 'IHDR') header = data;
    else if (type === 'PLTE') palette = data;
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') ended = true;
    at += 12 + length;
  }
  assert.ok(header && ended && idat.length > 0, 'IHDR, IDAT and IEND chunks');
  const width = header.readUInt32BE(0);
  const height = header.readUInt32BE(4);
  const colourType = header[9];
  assert.deepEqual([header[8], ...header.subarray(10, 13)], [8, 0, 0, 0], 'bit depth 8, deflate, no interlace');
  assert.ok(colourType === 2 || (colourType === 3 && palette && palette.length % 3 === 0), 'RGB, or palette with a PLTE chunk');
  const bpp = colourType === 2 ? 3 : 1;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  assert.equal(raw.length, (stride + 1) * height, 'inflated size');
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = pixels.subarray(y * stride, (y + 1) * stride);
    const up = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : new Uint8Array(stride);
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? out[x - bpp] : 0;
      const b = up[x];
      const c = x >= bpp ? up[x - bpp] : 0;
      const predictor = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter];
      assert.ok(predictor !== undefined, `row ${y}: unknown filter ${filter}`);
      out[x] = (line[x] + predictor) & 0xff;
    }
  }
  if (colourType === 2) return { width, height, rgb: pixels };
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < pixels.length; i++) {
    assert.ok(pixels[i] * 3 < palette!.length, `pixel ${i}: index ${pixels[i]} outside the palette`);
    rgb.set(palette!.subarray(pixels[i] * 3, pixels[i] * 3 + 3), i * 3);
  }
  return { width, height, rgb };
}
