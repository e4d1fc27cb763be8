import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ModelFileError, type ModelFileErrorCode } from '../../kernels/model/errors';
import { parseSafetensors, writeSafetensors } from '../../kernels/model/safetensors';
import { float16BitsToFloat32, float32BitsToFloat16Bits, toFloat16Bits, toFloat32 } from '../../kernels/model/weightData';
import type { WeightTensor } from '../../kernels/model/types';
import { encodeValues } from './tinyGpt2Folder';

const EMBEDDED = 'media/models/tinycode-4l8h-1k/model.safetensors';

function fileWithHeader(header: unknown, dataBytes: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

function expectError(fn: () => unknown, code: ModelFileErrorCode, tensor?: string): ModelFileError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ModelFileError, `expected a ModelFileError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.tensor, tensor);
    assert.ok(e.message.includes(e.file));
    if (tensor) assert.ok(e.message.includes(tensor));
    return e;
  }
  assert.fail(`expected ModelFileError ${code}`);
}

test('the embedded model parses: 52 F16 tensors, views into the file', () => {
  const bytes = new Uint8Array(readFileSync(EMBEDDED));
  const tensors = parseSafetensors(bytes);
  assert.equal(tensors.size, 52);
  const wte = tensors.get('transformer.wte.weight')!;
  assert.deepEqual(wte.shape, [4096, 256]);
  assert.equal(wte.dtype, 'F16');
  assert.equal(wte.data.buffer, bytes.buffer);
  let total = 0;
  for (const t of tensors.values()) total += t.data.length;
  assert.ok(total < bytes.length);
});

test('round trip through writeSafetensors for F32, F16 and BF16, with metadata', () => {
  const values = Float32Array.from([0, 1, -2.5, 65504, 1e-7, -0.1, 3.140625, 100]);
  const entries: [string, WeightTensor][] = (['F32', 'F16', 'BF16'] as const).map((dtype) => [
    `t_${dtype}`,
    { dtype, shape: [2, 4], data: encodeValues(values, dtype) },
  ]);
  entries.push(['scalar', { dtype: 'F32', shape: [], data: encodeValues(Float32Array.of(7), 'F32') }]);
  entries.push(['empty', { dtype: 'F16', shape: [0, 3], data: new Uint8Array(0) }]);
  const parsed = parseSafetensors(writeSafetensors(entries, { format: 'pt' }));
  assert.equal(parsed.size, 5);
  assert.deepEqual([...toFloat32(parsed.get('t_F32')!)], [...values]);
  const f16 = toFloat32(parsed.get('t_F16')!);
  values.forEach((v, i) => assert.equal(f16[i], float16BitsToFloat32(float32BitsToFloat16Bits(new Uint32Array(Float32Array.of(v).buffer)[0]))));
  assert.equal(f16[3], 65504);
  assert.equal(toFloat32(parsed.get('t_BF16')!)[2], -2.5);
  assert.deepEqual([...toFloat32(parsed.get('scalar')!)], [7]);
  assert.equal(toFloat32(parsed.get('empty')!).length, 0);
});

test('fp16 rounding is to nearest even, with subnormals, overflow and NaN', () => {
  const bitsOf = (x: number) => new Uint32Array(Float32Array.of(x).buffer)[0];
  const h = (x: number) => float32BitsToFloat16Bits(bitsOf(x));
  assert.equal(h(1), 0x3c00);
  assert.equal(h(-2), 0xc000);
  assert.equal(h(65504), 0x7bff);
  assert.equal(h(65520), 0x7c00); // halfway to the next step rounds to even: infinity
  assert.equal(h(65519), 0x7bff);
  assert.equal(h(1 + 2 ** -11), 0x3c00); // tie → even (down)
  assert.equal(h(1 + 3 * 2 ** -11), 0x3c02); // tie → even (up)
  assert.equal(h(2 ** -24), 0x0001);
  assert.equal(h(2 ** -25), 0x0000); // tie → even (zero)
  assert.equal(h(3 * 2 ** -25), 0x0002);
  assert.equal(h(2 ** -14), 0x0400);
  assert.equal(h(-0), 0x8000);
  assert.equal(h(Infinity), 0x7c00);
  assert.ok(Number.isNaN(float16BitsToFloat32(h(NaN))));
  // Exhaustive: every fp16 value survives f32 → fp16, and every midpoint rounds to the even neighbour.
  for (let b = 0; b < 0x7c00; b++) {
    const v = float16BitsToFloat32(b);
    assert.equal(h(v), b);
    if (b < 0x7bff) {
      const mid = (v + float16BitsToFloat32(b + 1)) / 2;
      assert.equal(h(mid), b % 2 === 0 ? b : b + 1);
    }
  }
});

test('conversions handle unaligned data and BF16 → fp16', () => {
  const raw = encodeValues(Float32Array.of(1.5, -3), 'F32');
  const shifted = new Uint8Array(raw.length + 1);
  shifted.set(raw, 1);
  const t: WeightTensor = { dtype: 'F32', shape: [2], data: shifted.subarray(1) };
  assert.deepEqual([...toFloat32(t)], [1.5, -3]);
  assert.deepEqual([...toFloat16Bits(t)], [0x3e00, 0xc200]);
  const bf: WeightTensor = { dtype: 'BF16', shape: [2], data: encodeValues(Float32Array.of(1.5, -3), 'BF16') };
  assert.deepEqual([...toFloat16Bits(bf)], [0x3e00, 0xc200]);
  const f16Unaligned = new Uint8Array(5);
  f16Unaligned.set(encodeValues(Float32Array.of(1.5, -3), 'F16'), 1);
  assert.deepEqual([...toFloat16Bits({ dtype: 'F16', shape: [2], data: f16Unaligned.subarray(1) })], [0x3e00, 0xc200]);
});

test('each header defect is its own typed error naming file and tensor', () => {
  const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  expectError(() => parseSafetensors(new Uint8Array(5)), 'bad-header');
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
  expectError(() => parseSafetensors(huge), 'header-too-large');
  new DataView(huge.buffer).setBigUint64(0, 2n ** 53n, true);
  expectError(() => parseSafetensors(huge), 'header-too-large');
  new DataView(huge.buffer).setBigUint64(0, 9n, true);
  expectError(() => parseSafetensors(huge), 'header-too-large');
  const badUtf8 = fileWithHeader('xx', 0);
  badUtf8[9] = 0xff;
  expectError(() => parseSafetensors(badUtf8), 'bad-header');
  expectError(() => parseSafetensors(fileWithHeader([1], 0)), 'bad-header');
  const notJson = fileWithHeader({}, 0);
  notJson[8] = 0x7d;
  expectError(() => parseSafetensors(notJson), 'bad-header');
  expectError(() => parseSafetensors(fileWithHeader({ __metadata__: 3 }, 0)), 'bad-header');
  expectError(() => parseSafetensors(fileWithHeader({ a: 3 }, 0)), 'bad-header', 'a');
  expectError(() => parseSafetensors(fileWithHeader({ a: { ...ok, dtype: 'I64' } }, 8)), 'bad-dtype', 'a');
  expectError(() => parseSafetensors(fileWithHeader({ a: { ...ok, dtype: 'F64' } }, 8)), 'bad-dtype', 'a');
  expectError(() => parseSafetensors(fileWithHeader({ a: { ...ok, shape: [3] } }, 8)), 'bad-shape', 'a');
  expectError(() => parseSafetensors(fileWithHeader({ a: { ...ok, shape: [-2] } }, 8)), 'bad-shape', 'a');
  expectError(() => parseSafetensors(fileWithHeader({ a: { ...ok, shape: [2.5] } }, 8)), 'bad-shape', 'a');
  expectError(() => parseSafetensors(fileWithHeader({ a: { ...ok, shape: '2' } }, 8)), 'bad-shape', 'a');
  expectError(() => parseSafetensors(fileWithHeader({ a: { ...ok, shape: [2 ** 40, 2 ** 40, 2 ** 40] } }, 8)), 'bad-shape', 'a');
  expectError(() => parseSafetensors(fileWithHeader({ a: { ...ok, shape: [1e308, 1e308, 0] } }, 8)), 'bad-shape', 'a');
  expectError(() => parseSafetensors(fileWithHeader({ a: { ...ok, data_offsets: [0, 16] } }, 8)), 'out-of-bounds', 'a');
  expectError(() => parseSafetensors(fileWithHeader({ a: { ...ok, data_offsets: [8, 0] } }, 8)), 'out-of-bounds', 'a');
  expectError(() => parseSafetensors(fileWithHeader({ a: { ...ok, data_offsets: [-8, 0] } }, 8)), 'out-of-bounds', 'a');
  expectError(() => parseSafetensors(fileWithHeader({ a: { ...ok, data_offsets: [0, 2 ** 64] } }, 8)), 'out-of-bounds', 'a');
  expectError(() => parseSafetensors(fileWithHeader({ a: { ...ok, data_offsets: [0] } }, 8)), 'out-of-bounds', 'a');
  const overlap = { a: ok, b: { ...ok, data_offsets: [4, 12] } };
  expectError(() => parseSafetensors(fileWithHeader(overlap, 16)), 'overlap', 'b');
  const err = expectError(() => parseSafetensors(fileWithHeader({ a: { ...ok, dtype: 'I8' } }, 8), 'weights/model.safetensors'), 'bad-dtype', 'a');
  assert.equal(err.file, 'weights/model.safetensors');
  assert.match(err.message, /^weights\/model\.safetensors, tensor "a": dtype "I8" is not supported/);
});

test('zero-element tensors and unsorted offsets are accepted', () => {
  const header = {
    b: { dtype: 'F16', shape: [2], data_offsets: [8, 12] },
    a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    z: { dtype: 'BF16', shape: [4, 0], data_offsets: [8, 8] },
  };
  const parsed = parseSafetensors(fileWithHeader(header, 12));
  assert.deepEqual([...parsed.keys()].sort(), ['a', 'b', 'z']);
  assert.equal(parsed.get('b')!.data.length, 4);
});

test('bytes that belong to no tensor are refused, as the reference implementation refuses them', () => {
  const a = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  const between = expectError(() => parseSafetensors(fileWithHeader({ a, b: { dtype: 'F16', shape: [2], data_offsets: [12, 16] } }, 16)), 'gap', 'b');
  assert.match(between.message, /^model\.safetensors, tensor "b": data \[12, 16\) leaves 4 bytes that belong to no tensor \("a" ends at 8\)$/);
  expectError(() => parseSafetensors(fileWithHeader({ a: { ...a, data_offsets: [4, 12] } }, 12)), 'gap', 'a');
  const trailing = expectError(() => parseSafetensors(fileWithHeader({ a }, 11), 'gpt2/model.safetensors'), 'gap');
  assert.match(trailing.message, /^gpt2\/model\.safetensors has 3 bytes after the last tensor's data/);
  expectError(() => parseSafetensors(fileWithHeader({}, 1)), 'gap');
  assert.equal(parseSafetensors(fileWithHeader({}, 0)).size, 0);
});
