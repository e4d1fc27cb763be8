/**
 * `npm run bench:rank-heads`: ranking every head (kernels/inspect/headRanking.ts) on wasm in Node, in one
 * process, rounds alternating so that the machine's load falls on each alike: the ranking with 1 head per
 * run against `--batches` heads per run (the sets along the batch dimension of the one forward session),
 * wall time of all L·H heads.
 * Model: the embedded one on samples/repeated.md's repeated passage (default), `--model DIR`, or
 * `--shape small` (a random GPT-2-small-shaped fp16 folder made in a temp dir by
 * test/support/gpt2ShapedFolder.ts) on `--tokens N` one-token letters (default 256). `--rounds N` (2),
 * `--threads N` (ORT's Node default). A benchmark: it prints figures and asserts nothing.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { rankHeads } from '../kernels/inspect/headRanking.js';
import { DecoderInspector } from '../kernels/runtime/decoderInspector.js';
import { loadModelFolderFromDisk } from '../node/folderReader.js';
import { loadWasmOrt } from '../cli/wasmOrt.js';
import { GPT2_SMALL, gpt2ShapedFolder } from '../test/support/gpt2ShapedFolder.js';

const ROOT = join(import.meta.dirname, '..');

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');

async function main(): Promise<void> {
  const rounds = Number(option('--rounds') ?? 2);
  const batches = (option('--batches') ?? '4,8').split(',').map(Number);
  const threads = option('--threads');
  const scratch = mkdtempSync(join(tmpdir(), 'bench-rank-'));
  try {
    let modelDir = option('--model') ?? join(ROOT, 'media', 'models', 'tinycode-4l8h-1k');
    let text: string;
    if (option('--shape') === 'small') {
      modelDir = join(scratch, 'model');
      mkdirSync(modelDir);
      for (const [name, bytes] of gpt2ShapedFolder(GPT2_SMALL)) writeFileSync(join(modelDir, name), bytes);
      // Letters that take part in no merge of the tiny tokenizer: one token each.
      const letters = 'abcdfgjklmopqrsuvwxyz';
      text = Array.from({ length: Number(option('--tokens') ?? 256) }, (_, i) => letters[(i * 7 + (i >> 3)) % letters.length]).join('');
    } else {
      const sample = readFileSync(join(ROOT, 'samples', 'repeated.md'), 'utf8');
      text = sample.slice(sample.indexOf('The quick'));
    }
    const model = await loadModelFolderFromDisk(modelDir);
    const ids = model.tokenizer.encode(text).map((t) => t.id);
    const T = ids.length;
    const ort = await loadWasmOrt(threads === undefined ? undefined : Number(threads));
    const { nLayer: L, nHead: H } = model.config;
    console.log(`machine: ${cpus().length} cores, load average ${load()}; ${modelDir}: ${L} layers × ${H} heads, T = ${T}, wasm ${ort.env.wasm.numThreads} thread(s)`);
    const inspector = await DecoderInspector.create({ model, ort, executionProvider: 'wasm' });
    try {
      const rank = async (batch: number) => {
        const t0 = performance.now();
        await rankHeads({ layers: L, heads: H, losses: (sets) => inspector.ablatedLosses(ids, sets, 'zero'), ranges: [{ start: 0, end: T }], batch });
        return (performance.now() - t0) / 1000;
      };
      // Sessions made and run once before anything is timed.
      await rank(1);
      const ranked = new Map<number, number[]>([1, ...batches].map((b) => [b, []]));
      for (let round = 0; round < rounds; round++) {
        for (const b of ranked.keys()) ranked.get(b)!.push(await rank(b));
        console.log(`round ${round + 1}: ${[...ranked].map(([b, s]) => `batch ${b} ${s.at(-1)!.toFixed(2)} s`).join(', ')}; load ${load()}`);
      }
      const one = median(ranked.get(1)!);
      console.log(`rank every head (${L * H} heads + the model as it is), median of ${rounds}:`);
      for (const [b, s] of ranked) console.log(`  ${b} per run: ${median(s).toFixed(2)} s (ratio to 1 per run ${(median(s) / one).toFixed(2)})`);
    } finally {
      await inspector.release();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
