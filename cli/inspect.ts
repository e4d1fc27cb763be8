/**
 * `attention-inspector inspect`: tokenizes a text file, runs the model with every layer's attention
 * probabilities and writes
 * - tokens.json: `{ model, backend, provider, layers, heads, ablation?, tokens: [{ id, text, start, end, loss, top }], truncated? }`
 *   (`ablation: { heads: ['3.1', …], mode: 'zero' | 'mean' }` when `--ablate` ran those heads ablated;
 *   start/end in UTF-16 code units of the file's text after UTF-8 decoding, a leading BOM removed;
 *   `loss` = −ln p(this token | the tokens before it), null at the first token, as the panel and hovers show it;
 *   `top` = the 5 most likely next tokens);
 * - attention.npy: float32, NumPy .npy v1.0, shape (L, H, T, T), or (len(LIST), H, T, T) for `--layers LIST`;
 * - attention-layer{l}.png: heatmaps of each layer's heads (cli/heatmapPng.ts).
 * The model runs once, keeping only the written layers' q and k; the npy is streamed: its header, then
 * each head's map as it is derived (LayerInspection.headMap), so only one head's (T, T) map is ever in memory.
 * Text longer than the model's context is an error unless `--truncate` is given (then only the first
 * nPositions tokens are inspected and tokens.json says so: `truncated: { keptTokens, inspectedChars,
 * totalChars, originalTokens?, message }`); `--max-tokens N` inspects the first N. Only as much of the
 * text is tokenized as is inspected (kernels/tokenizer/tokenizePrefix.ts), so `originalTokens` is there
 * only when that was all of it.
 */
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { QUERY_BLOCK } from '../kernels/graph/attentionGraph.js';
import { type Ablation, LOGITS_BLOCK } from '../kernels/graph/decoderGraph.js';
import { estimateInspectionMemory, formatBytes, longestFittingTokens, type MemoryEstimateInput } from '../kernels/inspect/memoryEstimate.js';
import { float32NpyHeader } from '../kernels/inspect/npy.js';
import type { TextTokenizer, Token } from '../kernels/tokenizer/textTokenizer.js';
import { loadModelFolderFromDisk } from '../node/folderReader.js';
import { tokenizePrefix } from '../kernels/tokenizer/tokenizePrefix.js';
import { DecoderInspector, type InspectorModel } from '../kernels/runtime/decoderInspector.js';
import { UsageError } from './errors.js';
import { parseOptions } from './options.js';
import { checkHeads, headName, parseAblationMode, parseHeadList } from './headSpec.js';
import { LayerHeatmaps } from './heatmapPng.js';
import { loadWasmOrt } from './wasmOrt.js';

export const INSPECT_USAGE = `attention-inspector inspect --text-file FILE [options]
  --text-file FILE        UTF-8 text to inspect
  --model DIR             Hugging Face GPT-2 folder (default: the embedded tinycode-4l8h-1k)
  --backend wasm|webgpu   wasm in Node (default) or WebGPU in headless Chromium (same engine as the panel)
  --out DIR               output folder (default: attention-inspector-out)
  --layers LIST           only these layers' attention, in this order (e.g. 0,5,11; default: all)
  --max-tokens N          inspect at most the first N tokens (N at most the model's n_positions)
  --truncate              inspect the first n_positions tokens of a longer text instead of failing
  --ablate LIST           run with these heads ablated (LAYER.HEAD, e.g. 3.1,3.2,2.2)
  --ablation zero|mean    what an ablated head's output becomes: 0 (default) or its mean over the tokens

  --memory-budget MB      refuse (exit 2) an inspection whose estimated peak memory is over MB
                          (kernels/inspect/memoryEstimate.ts), naming the longest that fits (default: none)`;

export const EMBEDDED_MODEL = 'tinycode-4l8h-1k';

/** The embedded model, relative to the bundle (dist/cli.js) or to the source (cli/inspect.ts). */
export function embeddedModelDir(): string {
  return join(__dirname, '..', 'media', 'models', EMBEDDED_MODEL);
}

export interface InspectArgs {
  textFile: string;
  model: string;
  backend: 'wasm' | 'webgpu';
  out: string;
  truncate: boolean;
  /** As given; checked against the model once it is loaded. */
  layers?: number[];
  maxTokens?: number;
  /** Heads as given (checked against the model once it is loaded) and what they are replaced by. */
  ablation?: Ablation;
  /** MiB; no budget when undefined. */
  memoryBudgetMB?: number;
}

/** A non-negative decimal integer, or undefined. */
function integer(text: string): number | undefined {
  return /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : undefined;
}

function parseLayers(text: string): number[] {
  const layers = text.split(',').map((part) => integer(part.trim()));
  if (layers.some((l) => l === undefined)) throw new UsageError(`--layers must be a comma-separated list of layer numbers, not "${text}"`);
  const seen = new Set<number>();
  for (const l of layers as number[]) {
    if (seen.has(l)) throw new UsageError(`--layers names layer ${l} twice`);
    seen.add(l);
  }
  return layers as number[];
}

export function positive(option: string, text: string): number {
  const n = integer(text);
  if (!n) throw new UsageError(`${option} must be a positive integer, not "${text}"`);
  return n;
}

export function parseInspectArgs(argv: string[]): InspectArgs | 'help' {
  const values = parseOptions(argv, {
    'text-file': { type: 'string' },
    model: { type: 'string' },
    backend: { type: 'string', default: 'wasm' },
    out: { type: 'string', default: 'attention-inspector-out' },
    truncate: { type: 'boolean', default: false },
    layers: { type: 'string' },
    'max-tokens': { type: 'string' },
    'memory-budget': { type: 'string' },
    ablate: { type: 'string' },
    ablation: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) return 'help';
  if (!values['text-file']) throw new UsageError('--text-file FILE is required');
  if (values.backend !== 'wasm' && values.backend !== 'webgpu') throw new UsageError(`--backend must be wasm or webgpu, not "${values.backend}"`);
  if (values.ablation !== undefined && values.ablate === undefined) throw new UsageError('--ablation needs --ablate LIST');
  return {
    textFile: values['text-file'],
    model: values.model ?? embeddedModelDir(),
    backend: values.backend,
    out: values.out!,
    truncate: values.truncate!,
    layers: values.layers === undefined ? undefined : parseLayers(values.layers),
    maxTokens: values['max-tokens'] === undefined ? undefined : positive('--max-tokens', values['max-tokens']),
    memoryBudgetMB: values['memory-budget'] === undefined ? undefined : positive('--memory-budget', values['memory-budget']),
    ablation: values.ablate === undefined ? undefined : { heads: parseHeadList(values.ablate), headMode: parseAblationMode(values.ablation ?? 'zero') },
  };
}

export interface InspectedTokens {
  tokens: Token[];
  truncated?: { originalTokens?: number; keptTokens: number; inspectedChars: number; totalChars: number; message: string };
}

/**
 * The tokens of `text` that are inspected: all of them, or the first `maxTokens`, or with `truncate` the
 * first `nPositions`; a longer text without either is a UsageError. Only that prefix is tokenized.
 */
export function inspectedTokens(
  text: string,
  tokenizer: TextTokenizer,
  nPositions: number,
  args: { textFile: string; maxTokens?: number; truncate: boolean },
  log: (line: string) => void,
  /** Called with the number of tokens that will be inspected, before the text is refused or truncated. */
  check: (T: number) => void = () => undefined,
): InspectedTokens {
  if (args.maxTokens !== undefined && args.maxTokens > nPositions) throw new UsageError(`--max-tokens ${args.maxTokens} is more than the model's context (${nPositions})`);
  // --max-tokens asks for at most N tokens; without it a text beyond the context is an error unless --truncate.
  const limit = args.maxTokens ?? nPositions;
  // One token more than the limit tells whether the text is longer.
  const prefix = tokenizePrefix(tokenizer, text, limit + 1);
  const all = prefix.tokens;
  if (all.length === 0) throw new UsageError(`the text file ${args.textFile} has no tokens`);
  const whole = prefix.tokenizedChars === text.length;
  check(Math.min(all.length, limit));
  let truncated: InspectedTokens['truncated'];
  if (all.length > limit) {
    const count = whole ? `${all.length}` : `more than ${limit}`;
    if (args.maxTokens === undefined && !args.truncate) throw new UsageError(`the text has ${count} tokens but the model's context is ${nPositions} (use --truncate to inspect the first ${nPositions})`);
    const inspectedChars = all[limit - 1].end;
    const why = args.maxTokens === undefined ? "the model's context" : '--max-tokens';
    truncated = {
      ...(whole ? { originalTokens: all.length } : {}),
      keptTokens: limit,
      inspectedChars,
      totalChars: text.length,
      message: `only the first ${limit} of ${count} tokens were inspected (${why}): the first ${inspectedChars} of ${text.length} characters`,
    };
    log(`note: ${truncated.message}`);
  }
  return { tokens: all.slice(0, limit), truncated };
}

export async function readText(file: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new UsageError(`cannot read the text file ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`the text file ${file} is not valid UTF-8`);
  }
  if (text.length === 0) throw new UsageError(`the text file ${file} is empty`);
  return text;
}

/** One inspection as the command writes it: head h of layer l's (T, T) map from `headMap(l, h)`. */
interface InspectOutput {
  provider: string;
  backend: 'wasm' | 'webgpu';
  loss: ArrayLike<number>;
  top: { ids: number[]; probs: number[] }[];
  headMap(layer: number, head: number): Promise<Float32Array>;
}

/**
 * A full garbage collection now. The run allocates next to nothing in JS, so without it the released
 * weights (the model file's bytes) would stay resident through the run's peak.
 */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/**
 * Runs the inspection in Node; `write` gets the result while its attention inputs are still kept.
 * `take` hands over the only reference to the weights: once the session exists they are let go (ORT has
 * its own copy), which on GPT-2 small is 250 MB less at the run's peak.
 */
async function inspectWasm(take: () => InspectorModel, ids: number[], layers: number[], ablation: Ablation | undefined, write: (out: InspectOutput) => Promise<void>): Promise<void> {
  const ort = await loadWasmOrt();
  const inspector = await DecoderInspector.create({ model: take(), ort, executionProvider: 'wasm' });
  // Only the written layers' q and k are kept.
  const options = { ablation, mapsLayers: layers };
  try {
    await inspector.prepare(options, { releaseWeights: true });
    collectGarbage();
    const r = await inspector.inspectLayers(ids, options);
    try {
      await write({ ...r, provider: `onnxruntime-web ${ort.env.versions.web} wasm in Node, ${ort.env.wasm.numThreads} thread(s)`, backend: 'wasm' });
    } finally {
      r.release();
    }
  } finally {
    await inspector.release();
  }
}

async function inspectWebGpu(modelDir: string, ids: number[], layers: number[], ablation: Ablation | undefined, log: (line: string) => void, write: (out: InspectOutput) => Promise<void>): Promise<void> {
  const { attention, ...r } = await (await import('./headlessRun.js')).inspectInChromium(modelDir, ids, layers, ablation, log);
  const n = ids.length * ids.length;
  await write({ ...r, headMap: async (l, h) => attention[layers.indexOf(l)].subarray(h * n, (h + 1) * n) });
}

/**
 * attention.npy, written as each head's map is derived: only one head's (T, T) map is in memory (a layer's
 * is 604 MB at 4,096 tokens and 9 heads, a head's 67 MB). A layer's PNG is compressed (zlib's thread
 * pool) while the next layer's first map is derived.
 */
async function writeAttention(out: InspectOutput, dir: string, layers: number[], heads: number, T: number): Promise<void> {
  const npy = await open(join(dir, 'attention.npy'), 'w');
  let image: Promise<void> = Promise.resolve();
  try {
    await npy.write(float32NpyHeader([layers.length, heads, T, T]));
    const heatmaps = new LayerHeatmaps(heads, T);
    for (const l of layers) {
      for (let h = 0; h < heads; h++) {
        const map = await out.headMap(l, h);
        await npy.write(new Uint8Array(map.buffer, map.byteOffset, map.byteLength));
        if (h === 0) await image; // the previous layer's image is compressed from the same pixels
        heatmaps.drawHead(h, map);
      }
      image = heatmaps.encode().then((png) => writeFile(join(dir, `attention-layer${l}.png`), png));
      image.catch(() => undefined); // awaited below or in the next layer; not unhandled meanwhile
    }
    await image;
  } finally {
    await image.catch(() => undefined);
    await npy.close();
  }
}

function tokenEntry(tokenizer: TextTokenizer, t: Token, i: number, out: InspectOutput) {
  // The runner's loss[i] is that of predicting token i + 1.
  const loss = i > 0 ? out.loss[i - 1] : NaN;
  return {
    id: t.id,
    text: t.text,
    start: t.start,
    end: t.end,
    loss: Number.isNaN(loss) ? null : loss,
    top: out.top[i].ids.map((id, k) => ({ id, text: tokenizer.tokenText(id), p: out.top[i].probs[k] })),
  };
}

/** Exit 2 (UsageError) when the inspection's estimated peak is over the budget, saying the longest T that fits. */
function checkBudget(estimate: Omit<MemoryEstimateInput, 'tokens'>, T: number, budgetMB: number): void {
  const budget = budgetMB * 1024 * 1024;
  const e = estimateInspectionMemory({ ...estimate, tokens: T });
  if (e.total <= budget) return;
  const fits = longestFittingTokens(estimate, budget);
  const parts = `weights ${formatBytes(e.weightsStored)} as stored, ${formatBytes(e.weightsRuntime)} in the runtime; activations ${formatBytes(e.activations)}; maps ${formatBytes(e.maps)}`;
  const advice = fits > 0 ? `the longest that fits is ${fits} tokens (--max-tokens ${fits})` : 'not even one token fits: the weights alone are over it';
  throw new UsageError(`inspecting ${T} tokens needs about ${formatBytes(e.total)} (${parts}), more than --memory-budget ${budgetMB} MB; ${advice}`);
}

export async function runInspectCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const args = parseInspectArgs(argv);
  if (args === 'help') {
    log(INSPECT_USAGE);
    return 0;
  }
  const text = await readText(args.textFile);
  // The weights are bound to no variable but `loaded`, so that inspectWasm can let go of them.
  let loaded: InspectorModel | undefined;
  const { config, tokenizer } = await loadModelFolderFromDisk(resolve(args.model)).then((m) => {
    loaded = { config: m.config, weights: m.weights };
    return m;
  });
  const take = (): InspectorModel => {
    const model = loaded!;
    loaded = undefined;
    return model;
  };
  const { nLayer, nHead } = config;
  const layers = args.layers ?? Array.from({ length: nLayer }, (_, l) => l);
  const bad = layers.find((l) => l >= nLayer);
  if (bad !== undefined) throw new UsageError(`--layers names layer ${bad}, but the model has ${nLayer} (0–${nLayer - 1})`);
  if (args.ablation) checkHeads(args.ablation.heads!, config);
  // Before anything is said or written: an inspection over the budget is refused in one line.
  const checkMemory = (T: number): void => {
    if (args.memoryBudgetMB === undefined) return;
    const wasm = args.backend === 'wasm';
    // The wasm run keeps only the written layers' q and k, runs attention in blocks of query rows, derives
    // one head's map at a time and lets go of the stored weights; the Chromium run returns every layer's maps.
    const estimate = {
      config,
      stored: loaded!.weights.values().next().value!.dtype,
      compute: 'fp32',
      mapsLayers: wasm ? 1 : layers.length,
      runtime: args.backend,
      keptWeights: wasm ? 'none' : 'all',
      logitsBlock: LOGITS_BLOCK,
      ...(wasm ? { keptLayers: layers.length, queryBlock: QUERY_BLOCK, mapsHeads: 1 } : {}),
    } as const;
    checkBudget(estimate, T, args.memoryBudgetMB);
  };
  const { tokens, truncated } = inspectedTokens(text, tokenizer, config.nPositions, args, log, checkMemory);
  const ids = tokens.map((t) => t.id);
  const T = ids.length;
  await mkdir(args.out, { recursive: true });
  let provider = '';
  const write = async (out: InspectOutput) => {
    provider = out.provider;
    const json = {
      model: basename(resolve(args.model)),
      backend: out.backend,
      provider: out.provider,
      layers: nLayer,
      heads: nHead,
      ...(args.layers ? { attentionLayers: layers } : {}),
      ...(args.ablation ? { ablation: { heads: args.ablation.heads!.map(headName), mode: args.ablation.headMode } } : {}),
      tokens: tokens.map((t, i) => tokenEntry(tokenizer, t, i, out)),
      ...(truncated ? { truncated } : {}),
    };
    await writeFile(join(args.out, 'tokens.json'), JSON.stringify(json, null, 1) + '\n');
    await writeAttention(out, args.out, layers, nHead, T);
  };
  if (args.backend === 'wasm') await inspectWasm(take, ids, layers, args.ablation, write);
  else await inspectWebGpu(resolve(args.model), ids, layers, args.ablation, log, write);
  log(`${T} tokens, ${layers.length} layers × ${nHead} heads on ${provider}: wrote tokens.json, attention.npy and attention-layer*.png to ${args.out}`);
  return 0;
}
