/**
 * `attention-inspector bench`: the side-panel benchmark without VS Code. Runs in Node on Dawn
 * (`--runtime node`, default; SwiftShader without a GPU, any Vulkan GPU with one) or in headless
 * Chromium (`--runtime chromium`, the same page the view shows, served from dist/).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toCsv, toJson } from '../kernels/bench/export.js';
import { checkGrouping, FULL_SETTINGS, parseBackends, parseKernels, parseNumberList, parsePrecisions, parseTileChoice, QUICK_SETTINGS, SettingsError } from '../kernels/bench/grid.js';
import { attentionGraphBuilder } from '../kernels/bench/graphSource.js';
import { runBenchmark, type BenchEnvironment } from '../kernels/bench/runBenchmark.js';
import { headsLabel, speedups, textTable, trialsTable } from '../kernels/bench/table.js';
import type { BenchReport, BenchSettings } from '../kernels/bench/types.js';

export const BENCH_USAGE = `attention-inspector bench [options]
  --kernels ours,manual,ort-fused   kernels to run (default all)
  --T 128,256,512                   sequence lengths
  --heads 8                         head counts (query heads)
  --q-per-kv 1,4                    query heads per key/value head: 1 multi-head, 4 grouped-query
                                    (8 heads over 2 K/V heads); each head count a multiple of each
  --batch 1                         batch sizes
  --precision fp32[,fp16]           precisions (fp16 needs shader-f16 for WebGPU)
  --backend webgpu,wasm             backends (ours is WebGPU only)
  --head-dim 64                     head size
  --no-causal                       full (bidirectional) attention instead of causal
  --budget MS --warmup N --min-runs N --max-runs N   timing method
  --no-timestamps                   time ours by queue completion too (as onnxruntime is timed)
  --tiles auto|tune|first-fit       tiles of ours: tune = time every configuration that fits the
                                    adapter and keep the fastest that agrees (auto: tune on a GPU)
  --[no-]interleave                 time the kernels of one shape in alternation (default on, off for --full)
  --full                            the full grid (T 128…4096, heads 4/8/16, batch 1/8, fp32/fp16)
  --runtime node|chromium           where to run (default node: Dawn for Node)
  --json FILE  --csv FILE           write the report`;

export interface BenchArgs {
  settings: BenchSettings;
  runtime: 'node' | 'chromium';
  json?: string;
  csv?: string;
}

export function parseBenchArgs(argv: string[]): BenchArgs {
  const s: BenchSettings = structuredClone(argv.includes('--full') ? FULL_SETTINGS : QUICK_SETTINGS);
  const out: BenchArgs = { settings: s, runtime: 'node' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new SettingsError(`${flag} needs a value`);
      return v;
    };
    const one = (what: string) => parseNumberList(value(), what)[0];
    switch (flag) {
      case '--full': break;
      case '--kernels': s.kernels = parseKernels(value()); break;
      case '--T': s.seqLens = parseNumberList(value(), '--T'); break;
      case '--heads': s.heads = parseNumberList(value(), '--heads'); break;
      case '--q-per-kv': s.queriesPerKv = parseNumberList(value(), '--q-per-kv'); break;
      case '--batch': s.batches = parseNumberList(value(), '--batch'); break;
      case '--precision': s.precisions = parsePrecisions(value()); break;
      case '--backend': s.backends = parseBackends(value()); break;
      case '--head-dim': s.headDim = one('--head-dim'); break;
      case '--no-causal': s.causal = false; break;
      case '--interleave': s.interleave = true; break;
      case '--no-interleave': s.interleave = false; break;
      case '--no-timestamps': s.timestamps = false; break;
      case '--causal': s.causal = true; break;
      case '--tiles': s.tileChoice = parseTileChoice(value()); break;
      case '--budget': s.budgetMs = one('--budget'); break;
      case '--warmup': s.warmup = Number(value()); break;
      case '--min-runs': s.minRuns = one('--min-runs'); break;
      case '--max-runs': s.maxRuns = one('--max-runs'); break;
      case '--json': out.json = value(); break;
      case '--csv': out.csv = value(); break;
      case '--runtime': {
        const r = value();
        if (r !== 'node' && r !== 'chromium') throw new SettingsError(`--runtime: node or chromium, got "${r}"`);
        out.runtime = r;
        break;
      }
      default: throw new SettingsError(`unknown option ${flag}\n${BENCH_USAGE}`);
    }
  }
  if (s.headDim % 4 !== 0) throw new SettingsError('--head-dim must be a multiple of 4');
  checkGrouping(s);
  return out;
}

async function nodeEnvironment(s: BenchSettings, log: (line: string) => void): Promise<BenchEnvironment> {
  const { nodeGpuAdapter } = await import('../node/dawnGpu.js');
  const { requestKernelDevice } = await import('../kernels/flash/gpuFacts.js');
  const env: BenchEnvironment = { description: `Node ${process.versions.node}, Dawn for Node (webgpu package)` };
  if (s.backends.includes('webgpu')) {
    try {
      const adapter = await nodeGpuAdapter();
      env.gpu = { adapter, device: await requestKernelDevice(adapter) };
    } catch (e) {
      log(`WebGPU unavailable: ${(e as Error).message}`);
    }
  }
  if (s.kernels.some((k) => k !== 'ours')) {
    const buildGraph = attentionGraphBuilder;
    if (!buildGraph) {
      log('manual and ort-fused need the attention graph builder (kernels/graph), not in this build: they show as unavailable.');
    } else {
      const { loadNodeOrt } = await import('../node/dawnOrt.js');
      const { ort, provider } = await loadNodeOrt(env.gpu?.adapter);
      env.ort = { ort, webgpuProvider: provider, buildGraph };
    }
  }
  return env;
}

function adapterLine(r: BenchReport): string {
  const a = r.adapter;
  if (!a) return 'adapter: none';
  const sg = a.subgroups ? `subgroups ${a.subgroupMinSize}–${a.subgroupMaxSize}` : 'no subgroups';
  return `adapter: ${a.vendor} ${a.architecture} (${a.description})${a.isFallbackAdapter ? ' [CPU fallback]' : ''}; ${sg}; shader-f16 ${a.shaderF16 ? 'yes' : 'no'}; timestamps ${a.timestampQuery ? 'yes' : 'no'}`;
}

/** The folder holding dist/ and media/: where the CLI bundle lives, or the repository when run from source. */
function projectRoot(): string {
  for (const dir of [join(__dirname, '..'), join(__dirname, '..', '..'), process.cwd()]) {
    if (existsSync(join(dir, 'dist', 'webview', 'benchmark.js'))) return dir;
  }
  return process.cwd();
}

export async function runBenchCommand(argv: string[], log: (line: string) => void = (l) => process.stderr.write(l + '\n')): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(BENCH_USAGE + '\n');
    return 0;
  }
  let args: BenchArgs;
  try {
    args = parseBenchArgs(argv);
  } catch (e) {
    log((e as Error).message);
    return 2;
  }
  let report: BenchReport;
  if (args.runtime === 'chromium') {
    const { runInChromium } = await import('./chromium.js');
    report = await runInChromium(projectRoot(), args.settings, log);
  } else {
    const env = await nodeEnvironment(args.settings, log);
    const controller = new AbortController();
    process.once('SIGINT', () => controller.abort());
    report = await runBenchmark(args.settings, env, {
      signal: controller.signal,
      onProgress: (done, total, row, running) => {
        if (running) log(`[${done + 1}/${total}] ${running.kernel} ${running.backend} ${running.precision} B${running.batch} ${headsLabel(running)} T${running.seqLen}…`);
        else if (row && row.status !== 'ok') log(`  ${row.status}: ${row.note ?? ''}`);
      },
    });
    env.gpu?.device.destroy();
  }
  process.stdout.write(`${adapterLine(report)}\n${report.environment}\n\n${textTable(report)}\n`);
  for (const r of report.rows.filter((x) => x.tileTrials)) {
    process.stdout.write(`\ntiles tried for ours B${r.batch} ${headsLabel(r)} T${r.seqLen} ${r.precision}:\n${trialsTable(r.tileTrials!)}\n`);
  }
  const ratios = speedups(report);
  if (ratios.length) {
    process.stdout.write('\nours vs ort-fused (WebGPU), time ratio ort-fused/ours:\n');
    for (const s of ratios) process.stdout.write(`  B${s.batch} ${headsLabel(s)} T${s.seqLen} ${s.precision}: ${s.ratio.toFixed(2)}×\n`);
  }
  if (args.json) writeFileSync(args.json, toJson(report));
  if (args.csv) writeFileSync(args.csv, toCsv(report));
  return report.rows.some((r) => r.status === 'failed' || r.status === 'error') ? 1 : 0;
}

if (process.argv[1]?.replace(/\\/g, '/').endsWith('cli/bench.ts')) {
  runBenchCommand(process.argv.slice(2)).then((code) => process.exit(code));
}
