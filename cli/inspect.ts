/**
 * `attention-inspector inspect`: tokenizes a text file, runs the model with every layer's attention
 * probabilities and writes
 * - tokens.json: `{ model, backend, provider, layers, heads, tokens: [{ id, text, start, end, loss, top }], truncated? }`
 *   (start/end in UTF-16 code units of the file's text after UTF-8 decoding, a leading BOM removed;
 *   `loss` = −ln p(this token | the tokens before it), null at the first token, as the panel and hovers show it;
 *   `top` = the 5 most likely next tokens);
 * - attention.npy: float32, NumPy .npy v1.0, shape (L, H, T, T);
 * - attention-layer{l}.png: heatmaps of each layer's heads (cli/heatmapPng.ts).
 * Text longer than the model's context is an error unless `--truncate` is given (then only the first
 * nPositions tokens are inspected and tokens.json says so: `truncated: { keptTokens, inspectedChars,
 * totalChars, originalTokens?, message }`). Only as much of the text is tokenized as is inspected
 * (kernels/tokenizer/tokenizePrefix.ts), so `originalTokens` is there only when that was all of it.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { float32Npy } from '../kernels/inspect/npy.js';
import type { LoadedModel } from '../kernels/model/modelFolder.js';
import { loadModelFolderFromDisk } from '../node/folderReader.js';
import type { Token } from '../kernels/tokenizer/byteLevelBpe.js';
import { tokenizePrefix } from '../kernels/tokenizer/tokenizePrefix.js';
import { Gpt2Inspector } from '../kernels/runtime/gpt2Inspector.js';
import { UsageError } from './errors.js';
import { layerHeatmap } from './heatmapPng.js';
import { loadWasmOrt } from './wasmOrt.js';

export const INSPECT_USAGE = `attention-inspector inspect --text-file FILE [options]
  --text-file FILE        UTF-8 text to inspect
  --model DIR             Hugging Face GPT-2 folder (default: the embedded tinycode-4l8h-1k)
  --backend wasm|webgpu   wasm in Node (default) or WebGPU in headless Chromium (same engine as the panel)
  --out DIR               output folder (default: attention-inspector-out)
  --truncate              inspect the first n_positions tokens of a longer text instead of failing`;

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
}

export function parseInspectArgs(argv: string[]): InspectArgs | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'text-file': { type: 'string' },
        model: { type: 'string' },
        backend: { type: 'string', default: 'wasm' },
        out: { type: 'string', default: 'attention-inspector-out' },
        truncate: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
  if (values.help) return 'help';
  if (!values['text-file']) throw new UsageError('--text-file FILE is required');
  if (values.backend !== 'wasm' && values.backend !== 'webgpu') throw new UsageError(`--backend must be wasm or webgpu, not "${values.backend}"`);
  return { textFile: values['text-file'], model: values.model ?? embeddedModelDir(), backend: values.backend, out: values.out!, truncate: values.truncate! };
}

async function readText(file: string): Promise<string> {
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

interface InspectOutput {
  provider: string;
  backend: 'wasm' | 'webgpu';
  attention: Float32Array[];
  loss: ArrayLike<number>;
  top: { ids: number[]; probs: number[] }[];
}

async function runWasm(model: LoadedModel, ids: number[]): Promise<InspectOutput> {
  const ort = await loadWasmOrt();
  const inspector = await Gpt2Inspector.create({ model, ort, executionProvider: 'wasm' });
  try {
    const r = await inspector.inspect(ids);
    return { ...r, provider: `onnxruntime-web ${ort.env.versions.web} wasm in Node, ${ort.env.wasm.numThreads} thread(s)`, backend: 'wasm' };
  } finally {
    await inspector.release();
  }
}

function tokenEntry(model: LoadedModel, t: Token, i: number, out: InspectOutput) {
  // The runner's loss[i] is that of predicting token i + 1.
  const loss = i > 0 ? out.loss[i - 1] : NaN;
  return {
    id: t.id,
    text: t.text,
    start: t.start,
    end: t.end,
    loss: Number.isNaN(loss) ? null : loss,
    top: out.top[i].ids.map((id, k) => ({ id, text: model.tokenizer.tokenText(id), p: out.top[i].probs[k] })),
  };
}

export async function runInspectCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const args = parseInspectArgs(argv);
  if (args === 'help') {
    log(INSPECT_USAGE);
    return 0;
  }
  const text = await readText(args.textFile);
  const model = await loadModelFolderFromDisk(resolve(args.model));
  const { nPositions, nLayer, nHead } = model.config;
  // One token more than the context tells whether the text is longer.
  const prefix = tokenizePrefix(model.tokenizer, text, nPositions + 1);
  const all = prefix.tokens;
  if (all.length === 0) throw new UsageError(`the text file ${args.textFile} has no tokens`);
  const whole = prefix.tokenizedChars === text.length;
  let truncated: { originalTokens?: number; keptTokens: number; inspectedChars: number; totalChars: number; message: string } | undefined;
  if (all.length > nPositions) {
    const count = whole ? `${all.length}` : `more than ${nPositions}`;
    if (!args.truncate) throw new UsageError(`the text has ${count} tokens but the model's context is ${nPositions} (use --truncate to inspect the first ${nPositions})`);
    const inspectedChars = all[nPositions - 1].end;
    truncated = {
      ...(whole ? { originalTokens: all.length } : {}),
      keptTokens: nPositions,
      inspectedChars,
      totalChars: text.length,
      message: `only the first ${nPositions} of ${count} tokens were inspected (the model's context): the first ${inspectedChars} of ${text.length} characters`,
    };
    log(`note: ${truncated.message}`);
  }
  const tokens = all.slice(0, nPositions);
  const ids = tokens.map((t) => t.id);
  const out = args.backend === 'wasm' ? await runWasm(model, ids) : await (await import('./headlessRun.js')).inspectInChromium(resolve(args.model), ids, log);
  const T = ids.length;
  const attention = new Float32Array(nLayer * nHead * T * T);
  out.attention.forEach((a, l) => attention.set(a, l * nHead * T * T));
  await mkdir(args.out, { recursive: true });
  const json = {
    model: basename(resolve(args.model)),
    backend: out.backend,
    provider: out.provider,
    layers: nLayer,
    heads: nHead,
    tokens: tokens.map((t, i) => tokenEntry(model, t, i, out)),
    ...(truncated ? { truncated } : {}),
  };
  await writeFile(join(args.out, 'tokens.json'), JSON.stringify(json, null, 1) + '\n');
  await writeFile(join(args.out, 'attention.npy'), float32Npy(attention, [nLayer, nHead, T, T]));
  for (let l = 0; l < nLayer; l++) await writeFile(join(args.out, `attention-layer${l}.png`), layerHeatmap(out.attention[l], nHead, T));
  log(`${T} tokens, ${nLayer} layers × ${nHead} heads on ${out.provider}: wrote tokens.json, attention.npy and attention-layer*.png to ${args.out}`);
  return 0;
}
