/// <reference types="@webgpu/types" />
/**
 * onnxruntime-web with its native WebGPU provider on Dawn for Node, set up as
 * ../shared/guides/webgpu-without-gpu.md describes.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { prepareOrtWebGpu } from '../kernels/bench/ortDevice.js';
import type { OrtModule } from '../kernels/bench/ortRunner.js';

export class NodeOrtError extends Error {
  override name = 'NodeOrtError';
}

function ortDist(): string {
  for (const root of [process.cwd(), join(__dirname, '..')]) {
    const dir = join(root, 'node_modules', 'onnxruntime-web', 'dist');
    if (existsSync(join(dir, 'ort.webgpu.mjs'))) return dir;
  }
  throw new NodeOrtError('onnxruntime-web not found under node_modules (run npm install in the project)');
}

/** dawn.node rejects SharedArrayBuffer-backed data, which ORT's wasm heap may be. */
function copySharedWrites(): void {
  const proto = (globalThis as { GPUQueue?: { prototype: GPUQueue } }).GPUQueue?.prototype;
  if (!proto || (proto as GPUQueue & { sharedSafe?: boolean }).sharedSafe) return;
  const write = proto.writeBuffer;
  proto.writeBuffer = function (this: GPUQueue, buffer: GPUBuffer, offset: number, data: GPUAllowSharedBufferSource, dataOffset?: number, size?: number) {
    const shared = typeof SharedArrayBuffer !== 'undefined' && (data instanceof SharedArrayBuffer || (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer));
    if (shared) {
      const view = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data as SharedArrayBuffer);
      const elem = ArrayBuffer.isView(data) && 'BYTES_PER_ELEMENT' in data ? (data as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT : 1;
      const start = (dataOffset ?? 0) * elem;
      const len = size !== undefined ? size * elem : view.byteLength - start;
      return write.call(this, buffer, offset, view.slice(start, start + len));
    }
    return write.call(this, buffer, offset, data, dataOffset, size);
  } as GPUQueue['writeBuffer'];
  (proto as GPUQueue & { sharedSafe?: boolean }).sharedSafe = true;
}

/** Loads onnxruntime-web (native WebGPU EP build) and gives it its own device. */
export async function loadNodeOrt(adapter: GPUAdapter | undefined): Promise<{ ort: OrtModule; provider: string }> {
  const ort = (await import(pathToFileURL(join(ortDist(), 'ort.webgpu.mjs')).href)) as OrtModule;
  ort.env.wasm.numThreads = 1;
  if (!adapter) return { ort, provider: 'none' };
  copySharedWrites();
  return { ort, provider: await prepareOrtWebGpu(ort, 'native EP') };
}
