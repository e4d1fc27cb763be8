/** Reads the `.npy` files the product and the Python references write: little-endian float32, C order. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

export interface Float32Npy {
  shape: number[];
  data: Float32Array;
}

export function readFloat32Npy(path: string): Float32Npy {
  const bytes = readFileSync(path);
  assert.equal(bytes.subarray(0, 8).toString('latin1'), '\x93NUMPY\x01\x00', `${path} is not a .npy file of format 1.0`);
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
  assert.match(header, /'descr': '<f4'/, `${path} is not little-endian float32`);
  assert.match(header, /'fortran_order': False/, `${path} is not in C order`);
  const shape = (/'shape': \(([^)]*)\)/.exec(header)?.[1] ?? '').split(',').filter((s) => s.trim()).map(Number);
  const body = bytes.subarray(10 + headerLength);
  const data = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  assert.equal(data.length, shape.reduce((a, b) => a * b, 1), `${path}: body length does not match shape (${shape})`);
  return { shape, data };
}
