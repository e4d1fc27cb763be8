/**
 * `npm run bench:trace -- --model DIR [--tokens N] [--threads N]`: what the panel does after an
 * inspection, on `DecoderInspector` as the panel makes it (`keepLayerInputs`), wasm in Node: inspect with
 * layer 0 traced, trace layers ⌊L/2⌋ and L − 1 (each by its trace graph on the kept layer input), ablate
 * head 0 of layer ⌊L/2⌋ − 1 zero, then mean (the same forward session). Prints each step's wall time and
 * the process's resident memory after it. A benchmark: it prints figures and asserts nothing.
 */
import { loadavg } from 'node:os';
import { memoryUsage } from 'node:process';
import { loadWasmOrt } from '../cli/wasmOrt.js';
import { DecoderInspector, type LayerInspection } from '../kernels/runtime/decoderInspector.js';
import { loadModelFolderFromDisk } from '../node/folderReader.js';
import { option } from './inspectRun.js';

async function main(): Promise<void> {
  const dirAt = process.argv.indexOf('--model');
  if (dirAt < 0) throw new Error('usage: npm run bench:trace -- --model DIR [--tokens N] [--threads N]');
  const model = await loadModelFolderFromDisk(process.argv[dirAt + 1] ?? '');
  const T = Math.min(option('--tokens', 1024), model.config.nPositions);
  const ort = await loadWasmOrt(process.argv.includes('--threads') ? option('--threads', 2) : undefined);
  const { nLayer: L, vocabSize: V } = model.config;
  const ids = Array.from({ length: T }, (_, i) => (i * 389 + 11) % V);
  const inspector = await DecoderInspector.create({ model, ort, executionProvider: 'wasm', keepLayerInputs: true });
  const mib = () => Math.round(memoryUsage().rss / 2 ** 20);
  console.log(`T = ${T}, ${L} layers, wasm ${ort.env.wasm.numThreads} thread(s), load average ${loadavg()[0].toFixed(1)}`);
  const step = async <R>(name: string, f: () => Promise<R>): Promise<R> => {
    const t0 = performance.now();
    const r = await f();
    console.log(`${name}: ${((performance.now() - t0) / 1000).toFixed(2)} s, RSS after ${mib()} MiB`);
    return r;
  };
  try {
    const run: LayerInspection = await step('inspect, layer 0 traced', () => inspector.inspectLayers(ids, { traceLayer: 0 }));
    for (const l of new Set([L >> 1, L - 1])) await step(`trace layer ${l}`, () => run.traceLayer(l));
    const head = { layer: Math.max(0, (L >> 1) - 1), head: 0 };
    for (const headMode of ['zero', 'mean'] as const) {
      const ablated = await step(`ablate head ${head.layer}.${head.head} (${headMode})`, () => inspector.inspectLayers(ids, { ablation: { heads: [head], headMode } }));
      ablated.release();
    }
    run.release();
  } finally {
    await inspector.release();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
