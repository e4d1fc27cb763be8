/**
 * onnxruntime-web's wasm build for Node, loaded by path from node_modules (not bundled into dist/cli.js:
 * it finds its .wasm next to itself). Threads: ORT-web runs pthreads on worker_threads in Node.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { OrtModule } from '../kernels/runtime/decoderInspector.js';

function ortDist(): string {
  for (const root of [join(__dirname, '..'), join(__dirname, '..', '..'), process.cwd()]) {
    const dir = join(root, 'node_modules', 'onnxruntime-web', 'dist');
    if (existsSync(join(dir, 'ort.node.min.mjs'))) return dir;
  }
  throw new Error('onnxruntime-web was not found under node_modules (run npm install)');
}

/** Default thread count: every core, at most 4 (ORT-web's own cap). */
export function defaultWasmThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

export async function loadWasmOrt(threads = defaultWasmThreads()): Promise<OrtModule> {
  const ort = (await import(pathToFileURL(join(ortDist(), 'ort.node.min.mjs')).href)) as OrtModule;
  ort.env.wasm.numThreads = threads;
  return ort;
}
