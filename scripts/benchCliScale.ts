/**
 * `npm run bench:cli`: `attention-inspector inspect` (the built dist/cli.js, wasm) on a random model of
 * GPT-2-small's shape (12 layers, d 768, 12 heads, vocab 50257, fp16 safetensors, 249 MB; made here in
 * a temp dir by test/support/gpt2ShapedFolder.ts, never committed) at T = 1024, side by side with a
 * plain NumPy float32 forward pass keeping every attention map (scripts/numpyForward.py) on the same
 * file and ids: wall time and peak RSS of each (/usr/bin/time -v) and their ratio. A benchmark, not a
 * test: it prints figures. Options: `--shape small|medium|smollm2-135m|qwen2.5-0.5b` (medium: 24
 * layers, d 1024, 16 heads; the Llama-style shapes as their config.json has them, BF16, made by
 * test/support/llamaShapedFolder.ts, without the NumPy side, which is GPT-2 only), `--tokens N` (1024),
 * `--skip-numpy`, `--layers LIST` (passed to inspect: only those layers' maps; no NumPy side). CPU time
 * (user + sys) is printed beside the wall time: on a shared machine it moves less with the load.
 * Targets (issue 12): small at 1024 tokens: CLI ≤ 15 s and ≤ NumPy's wall time, peak RSS ≤ 1.5 GB;
 * medium: completes within 3 GB. Issue 13: SmolLM2-135M shape at T = 2048 ≤ 30 s, ≤ 2 GB; Qwen2.5-0.5B
 * shape at 1024 completes within 3 GB.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelFolderFromDisk } from '../node/folderReader.js';
import { GPT2_MEDIUM, GPT2_SMALL, gpt2ShapedFolder } from '../test/support/gpt2ShapedFolder.js';
import { LLAMA_SHAPES, llamaShapedFolder } from '../test/support/llamaShapedFolder.js';

const ROOT = join(import.meta.dirname, '..');

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

interface Measured {
  wallS: number;
  /** user + sys seconds. */
  cpuS: number;
  peakRssMB: number;
  stdout: string;
}

/** Runs a command under /usr/bin/time -v; its wall time and peak resident set size. */
function measure(command: string, args: string[]): Measured {
  const r = spawnSync('/usr/bin/time', ['-v', command, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  const wall = r.stderr.match(/Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/);
  const rss = r.stderr.match(/Maximum resident set size \(kbytes\): (\d+)/);
  const cpu = ['User', 'System'].map((k) => Number(r.stderr.match(new RegExp(`${k} time \\(seconds\\): ([\\d.]+)`))?.[1] ?? NaN));
  if (!wall || !rss) throw new Error(`no figures from /usr/bin/time:\n${r.stderr}`);
  return { wallS: Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]), cpuS: cpu[0] + cpu[1], peakRssMB: Number(rss[1]) / 1024, stdout: r.stdout + r.stderr };
}

async function main(): Promise<void> {
  const shapeName = option('--shape') ?? 'small';
  const llama = LLAMA_SHAPES[shapeName];
  if (!llama && shapeName !== 'small' && shapeName !== 'medium') throw new Error(`--shape ${shapeName}: not one of small, medium, ${Object.keys(LLAMA_SHAPES).join(', ')}`);
  const tokens = Number(option('--tokens') ?? 1024);
  const cli = join(ROOT, 'dist', 'cli.js');
  if (!existsSync(cli)) throw new Error('dist/cli.js is missing: run npm run build first');
  const dir = mkdtempSync(join(tmpdir(), 'bench-cli-'));
  try {
    const modelDir = join(dir, 'model');
    mkdirSync(modelDir);
    if (llama) {
      console.log(`making a ${shapeName}-shaped random model (${llama.num_hidden_layers} layers, d ${llama.hidden_size}, ${llama.num_attention_heads}/${llama.num_key_value_heads} heads, vocab ${llama.vocab_size}, BF16) in ${dir}…`);
      for (const [name, bytes] of llamaShapedFolder(llama, { dtype: 'BF16', qkStd: 0.06 })) writeFileSync(join(modelDir, name), bytes);
    } else {
      const shape = shapeName === 'medium' ? GPT2_MEDIUM : GPT2_SMALL;
      console.log(`making a GPT-2-${shapeName}-shaped random model (${shape.nLayer} layers, d ${shape.nEmbd}, ${shape.nHead} heads) in ${dir}…`);
      for (const [name, bytes] of gpt2ShapedFolder(shape)) writeFileSync(join(modelDir, name), bytes);
    }
    // Letters that take part in no merge of the tiny tokenizer: one token each.
    const letters = 'abcdfgjklmopqrsuvwxyz';
    const text = Array.from({ length: tokens }, (_, i) => letters[(i * 7 + (i >> 3)) % letters.length]).join('');
    writeFileSync(join(dir, 'text.txt'), text);
    const model = await loadModelFolderFromDisk(modelDir);
    const ids = model.tokenizer.encode(text).map((t) => t.id);
    if (ids.length !== tokens) throw new Error(`the text has ${ids.length} tokens, not ${tokens}`);
    writeFileSync(join(dir, 'ids.json'), JSON.stringify(ids));

    const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
    console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model}), load average ${load()}`);
    const layers = option('--layers');
    const ours = measure(process.execPath, [cli, 'inspect', '--model', modelDir, '--text-file', join(dir, 'text.txt'), '--out', join(dir, 'out'), '--max-tokens', String(tokens), ...(layers ? ['--layers', layers] : [])]);
    console.log(`attention-inspector inspect: ${ours.wallS.toFixed(1)} s wall, ${ours.cpuS.toFixed(1)} s CPU (user + sys), peak RSS ${ours.peakRssMB.toFixed(0)} MB (load average after: ${load()})`);
    console.log(`  ${ours.stdout.split('\n').find((l) => l.includes('tokens,')) ?? ''}`);
    if (llama || layers || process.argv.includes('--skip-numpy')) return;
    const numpy = measure('/usr/bin/python3', [join(ROOT, 'scripts', 'numpyForward.py'), modelDir, join(dir, 'ids.json')]);
    console.log(`NumPy float32 forward:       ${numpy.wallS.toFixed(1)} s wall, ${numpy.cpuS.toFixed(1)} s CPU, peak RSS ${numpy.peakRssMB.toFixed(0)} MB (load average after: ${load()})`);
    console.log(`  ${numpy.stdout.split('\n')[0]}`);
    console.log(`ratio CLI / NumPy: wall ${(ours.wallS / numpy.wallS).toFixed(2)}, peak RSS ${(ours.peakRssMB / numpy.peakRssMB).toFixed(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
