/**
 * `npm run bench:core`: the embedded model's forward pass with every layer's attention probabilities,
 * onnxruntime-web wasm in Node (DecoderInspector, the code the CLI runs) against PyTorch eager on the
 * same CPU (scripts/benchCore.py: the plain reference forward pass, same weights, same T, same thread
 * count). ORT and PyTorch alternate run by run, so both see the same machine load. Prints medians and
 * the ratio ORT / PyTorch.
 * Options: --threads N (default: ORT-web's Node default, every core up to 4), --runs N (default 7),
 * --T 256,1024. Debian's torch calls the system BLAS (the reference BLAS unless another is installed);
 * BENCH_TORCH_BLAS_DIR=<folder with another libblas.so.3, e.g. OpenBLAS> adds a second PyTorch column.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { defaultWasmThreads, loadWasmOrt } from '../cli/wasmOrt.js';
import { loadModelFolderFromDisk } from '../node/folderReader.js';
import { DecoderInspector } from '../kernels/runtime/decoderInspector.js';

const ROOT = join(import.meta.dirname, '..');
const MODEL = join(ROOT, 'media', 'models', 'tinycode-4l8h-1k');

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

interface TorchWorker {
  label: string;
  info: { torch: string; threads: number; blas: string };
  run(T: number): Promise<number>;
  close(): void;
}

async function torchWorker(label: string, threads: number, blasDir?: string): Promise<TorchWorker> {
  const env = blasDir ? { ...process.env, LD_LIBRARY_PATH: blasDir, OPENBLAS_NUM_THREADS: String(threads) } : process.env;
  const py = spawn('/usr/bin/python3', [join(ROOT, 'scripts', 'benchCore.py'), MODEL, String(threads)], { stdio: ['pipe', 'pipe', 'inherit'], env });
  const lines = createInterface({ input: py.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const l = await lines.next();
    if (l.done) throw new Error(`${label}: the Python worker ended`);
    return JSON.parse(l.value as string);
  };
  const info = await next();
  return {
    label,
    info,
    async run(T) {
      py.stdin.write(`${T}\n`);
      return (await next()).ms;
    },
    close: () => py.stdin.end(),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { threads: { type: 'string' }, runs: { type: 'string', default: '7' }, T: { type: 'string', default: '256,1024' } } });
  const threads = values.threads ? Number(values.threads) : defaultWasmThreads();
  const runs = Number(values.runs);
  const lengths = values.T!.split(',').map(Number);

  const workers = [await torchWorker('PyTorch', threads)];
  if (process.env.BENCH_TORCH_BLAS_DIR) workers.push(await torchWorker('PyTorch + BENCH_TORCH_BLAS_DIR', threads, process.env.BENCH_TORCH_BLAS_DIR));
  const ort = await loadWasmOrt(threads);
  const model = await loadModelFolderFromDisk(MODEL);
  const inspector = await DecoderInspector.create({ model, ort, executionProvider: 'wasm' });
  const { nLayer, nHead, nEmbd, vocabSize } = model.config;
  const ortRun = async (T: number): Promise<number> => {
    const ids = Array.from({ length: T }, (_, i) => (i * 7919 + 13) % vocabSize);
    const t0 = performance.now();
    const r = await inspector.inspect(ids);
    const ms = performance.now() - t0;
    if (r.attention.length !== nLayer) throw new Error('attention maps missing');
    return ms;
  };

  console.log(`embedded model: ${nLayer} layers × ${nHead} heads, d=${nEmbd}, vocab ${vocabSize}, fp32, B=1; forward pass returning every layer's attention maps`);
  console.log(`ORT: onnxruntime-web ${ort.env.versions.web} wasm in Node ${process.version}, ${ort.env.wasm.numThreads} thread(s), graph optimization 'basic', manual attention`);
  for (const w of workers) console.log(`${w.label}: torch ${w.info.torch}, ${w.info.threads} thread(s), BLAS ${w.info.blas}, eager attention`);
  console.log(`median of ${runs} alternating runs after 2 warm-ups each\n`);
  console.log(`| T | ORT wasm (ms) | ${workers.map((w) => `${w.label} (ms) | ratio ORT/${w.label}`).join(' | ')} |`);
  console.log(`|---|---|${workers.map(() => '---|---|').join('')}`);
  for (const T of lengths) {
    const times = [[] as number[], ...workers.map(() => [] as number[])];
    for (let i = 0; i < runs + 2; i++) {
      const round = [await ortRun(T)];
      for (const w of workers) round.push(await w.run(T));
      if (i >= 2) round.forEach((ms, k) => times[k].push(ms));
    }
    const [o, ...p] = times.map(median);
    console.log(`| ${T} | ${o.toFixed(1)} | ${p.map((x) => `${x.toFixed(1)} | ${(o / x).toFixed(2)}`).join(' | ')} |`);
  }
  for (const w of workers) w.close();
  await inspector.release();
}

main().catch((e: unknown) => {
  console.error(`bench:core failed: ${(e as Error).message}`);
  process.exit(1);
});
