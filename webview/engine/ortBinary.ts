/**
 * onnxruntime-web's wasm binaries reach a page gzipped (dist/ort/*.wasm.gz, a quarter of the bytes) and
 * are inflated here with the browser's DecompressionStream: webview resources come through VS Code's
 * resource loader, whose throughput is most of a cold start. Shared by the inspector engine, the
 * headless page and the benchmark view.
 */
import type { OrtModule } from '../../kernels/bench/ortRunner.js';

/** The binary each onnxruntime-web bundle loads: `onnxruntime-web/webgpu` needs the asyncify build. */
export type OrtBinary = 'ort-wasm-simd-threaded.wasm' | 'ort-wasm-simd-threaded.asyncify.wasm';

const loaded = new WeakMap<object, Promise<void>>();

async function inflate(url: string): Promise<ArrayBuffer> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`onnxruntime's binary could not be loaded (${url}: HTTP ${res.status})`);
  const bytes = await res.arrayBuffer();
  const head = new Uint8Array(bytes, 0, Math.min(2, bytes.byteLength));
  // A server that sends it with Content-Encoding: gzip has inflated it already.
  if (head[0] !== 0x1f || head[1] !== 0x8b) return bytes;
  return new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer();
}

/**
 * Gives `ort` its binary from `ortBase` (a URL ending in '/') before its first session; once per module.
 * Threads: as many as the page may use (a webview is not cross-origin isolated, so one).
 */
export function useOrtBinary(ort: OrtModule, ortBase: string, file: OrtBinary): Promise<void> {
  let p = loaded.get(ort);
  if (!p) {
    ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
    // Worker threads still load ORT's glue (.mjs) from here.
    ort.env.wasm.wasmPaths = ortBase;
    p = inflate(`${ortBase}${file}.gz`).then((binary) => {
      ort.env.wasm.wasmBinary = binary;
    });
    p.catch(() => loaded.delete(ort));
    loaded.set(ort, p);
  }
  return p;
}
