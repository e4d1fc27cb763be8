/**
 * `attention-inspector rank-heads`: runs the text once as it is, then once per head with that head alone
 * ablated (zero or mean; kernels/inspect/headRanking.ts, one session whose graph takes the ablated heads
 * as an input, `--batch` heads per run), and writes the change in mean loss per head:
 * - rank-heads.json: `{ model, provider, ablation, tokens, range?, baseline: { meanLoss, rangeMeanLoss? },
 *   deltaMeanLoss: [layer][head], deltaRangeMeanLoss?: [layer][head], ranking: [{ head: 'L.H', deltaMeanLoss,
 *   deltaRangeMeanLoss? }] (largest first, by the range's Δ when there is one), batch, wallSeconds }`; the mean loss
 *   is over every inspected token that has one (all but the first), or over tokens a … b − 1 of `--range a:b`;
 * - rank-heads.png: the table of Δ (the range's when given) as a diverging heatmap (cli/heatmapPng.ts).
 * Progress (one line per head) on stderr.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { HeadAblationMode } from '../kernels/graph/decoderGraph.js';
import { type HeadRanking, rankHeads, rankingReport } from '../kernels/inspect/headRanking.js';
import { DecoderInspector } from '../kernels/runtime/decoderInspector.js';
import { loadModelFolderFromDisk } from '../node/folderReader.js';
import { UsageError } from './errors.js';
import { parseOptions } from './options.js';
import { checkRange, parseAblationMode, parseRange, type TokenRange } from './headSpec.js';
import { headGridPng } from './heatmapPng.js';
import { embeddedModelDir, inspectedTokens, positive, readText } from './inspect.js';
import { loadWasmOrt } from './wasmOrt.js';

/** Heads per run on wasm: see README, "Head ablation" (batching measured against one head per run). */
const DEFAULT_BATCH = 8;

export const RANK_HEADS_USAGE = `attention-inspector rank-heads --text-file FILE [options]
  --text-file FILE        UTF-8 text to run
  --model DIR             Hugging Face model folder (default: the embedded tinycode-4l8h-1k)
  --out DIR               output folder (default: attention-inspector-out)
  --range A:B             also the Δ mean loss over tokens A … B − 1 (from 0, as tokens.json numbers them)
  --ablation zero|mean    what the ablated head's output becomes: 0 (default) or its mean over the tokens
  --batch N               heads ablated per run of the model, along its batch dimension (default ${DEFAULT_BATCH})
  --max-tokens N          run at most the first N tokens
  --truncate              run the first n_positions tokens of a longer text instead of failing`;

interface RankHeadsArgs {
  textFile: string;
  model: string;
  out: string;
  range?: TokenRange;
  mode: HeadAblationMode;
  batch: number;
  maxTokens?: number;
  truncate: boolean;
}

function parseRankHeadsArgs(argv: string[]): RankHeadsArgs | 'help' {
  const values = parseOptions(argv, {
    'text-file': { type: 'string' },
    model: { type: 'string' },
    out: { type: 'string', default: 'attention-inspector-out' },
    range: { type: 'string' },
    ablation: { type: 'string', default: 'zero' },
    batch: { type: 'string' },
    'max-tokens': { type: 'string' },
    truncate: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) return 'help';
  if (!values['text-file']) throw new UsageError('--text-file FILE is required');
  return {
    textFile: values['text-file'],
    model: values.model ?? embeddedModelDir(),
    out: values.out!,
    range: values.range === undefined ? undefined : parseRange(values.range),
    mode: parseAblationMode(values.ablation!),
    batch: values.batch === undefined ? DEFAULT_BATCH : positive('--batch', values.batch),
    maxTokens: values['max-tokens'] === undefined ? undefined : positive('--max-tokens', values['max-tokens']),
    truncate: values.truncate!,
  };
}

export async function runRankHeadsCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const args = parseRankHeadsArgs(argv);
  if (args === 'help') {
    log(RANK_HEADS_USAGE);
    return 0;
  }
  const t0 = performance.now();
  const text = await readText(args.textFile);
  const model = await loadModelFolderFromDisk(resolve(args.model));
  const { config, tokenizer } = model;
  const { tokens, truncated } = inspectedTokens(text, tokenizer, config.nPositions, args, log);
  const ids = tokens.map((t) => t.id);
  const T = ids.length;
  if (T < 2) throw new UsageError(`the text file ${args.textFile} has one token: no token has a loss`);
  if (args.range) checkRange(args.range, T);
  const all = { start: 0, end: T };
  await mkdir(args.out, { recursive: true });

  const ort = await loadWasmOrt();
  const provider = `onnxruntime-web ${ort.env.versions.web} wasm in Node, ${ort.env.wasm.numThreads} thread(s)`;
  const inspector = await DecoderInspector.create({ model, ort, executionProvider: 'wasm' });
  const { nLayer: L, nHead: H } = config;
  const ranges: TokenRange[] = args.range ? [all, args.range] : [all];
  const signed = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(4)}`;
  let ranked: HeadRanking;
  try {
    ranked = await rankHeads({
      layers: L,
      heads: H,
      losses: (sets) => inspector.ablatedLosses(ids, sets, args.mode),
      ranges,
      batch: args.batch,
      onBaseline: ([whole, range]) =>
        log(`rank-heads: ${T} tokens, mean loss ${whole.toFixed(4)} nats${args.range ? `, tokens ${args.range.start}:${args.range.end} ${range.toFixed(4)}` : ''}; ablating each of ${L * H} heads (${args.mode}, ${args.batch} per run)`),
      onHead: ({ layer, head, delta: [whole, range] }, done, total) =>
        log(`rank-heads: ${done}/${total} head ${layer}.${head}: ${args.range ? `Δ range ${signed(range)}` : `Δ ${signed(whole)}`} nats (${((performance.now() - t0) / 1000).toFixed(1)} s)`),
    });
  } finally {
    await inspector.release();
  }
  const report = rankingReport(ranked, args.range);
  const [delta, rangeDelta] = ranked.delta;
  const wallSeconds = (performance.now() - t0) / 1000;
  const json = {
    model: basename(resolve(args.model)),
    provider,
    ablation: args.mode,
    batch: args.batch,
    tokens: T,
    ...(truncated ? { truncated } : {}),
    ...report,
    wallSeconds,
  };
  await writeFile(join(args.out, 'rank-heads.json'), JSON.stringify(json, null, 1) + '\n');
  await writeFile(join(args.out, 'rank-heads.png'), headGridPng(args.range ? rangeDelta : delta));
  const top = report.ranking.slice(0, 3).map((r) => `${r.head} ${(args.range ? r.deltaRangeMeanLoss! : r.deltaMeanLoss).toFixed(3)}`);
  log(`${L * H} heads ranked in ${wallSeconds.toFixed(1)} s on ${provider}; largest Δ mean loss: ${top.join(', ')}; wrote rank-heads.json and rank-heads.png to ${args.out}`);
  return 0;
}
