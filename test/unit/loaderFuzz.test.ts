// Seeded fuzzing of the model-folder loader: thousands of damaged folders must each end in a
// ModelFileError (or, when the damage happens to leave a valid model, load correctly) — never another
// exception, never a hang, never an allocation driven by what a header claims. Asserted on what was
// observed: every kind of error reached, the slowest case, and each case's ArrayBuffer growth against
// its folder's size.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MODEL_FILE_ERROR_CODES, ModelFileError, type ModelFileErrorCode } from '../../kernels/model/errors';
import { expectedShapes } from '../../kernels/model/decoderWeights';
import { loadModelFolder } from '../../kernels/model/modelFolder';
import { observe } from '../support/reliability.js';
import { folderReader, mulberry32, tinyGpt2Folder, type Folder } from './tinyGpt2Folder';

const EMBEDDED = 'media/models/tinycode-4l8h-1k';
/** Fixed so CI is deterministic; set LOADER_FUZZ_SEED to explore other cases locally. */
const SEED = Number(process.env.LOADER_FUZZ_SEED ?? 20261123);
const TINY_CASES = 2400;
const EMBEDDED_CASES = 40;
/** Most ArrayBuffer memory a case may add, as a multiple of its folder's size (measured: 0.02, see the log line). */
const GROWTH_BOUND = 1;

type Rng = { int(n: number): number; pick<T>(xs: readonly T[]): T; chance(p: number): boolean };

function rng(seed: number): Rng {
  const next = mulberry32(seed);
  return {
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
  };
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

const ODD_VALUES: unknown[] = [
  0, -1, 1, 2, 1.5, -0.5, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 64, 1e308, -1e308, Number.MAX_SAFE_INTEGER, '8', '', null, true,
  [], {}, [1, 2], 'gelu_new', 'F16',
];
const DTYPES: unknown[] = ['F64', 'I64', 'I32', 'I8', 'U8', 'BOOL', 'F8_E4M3', 'f32', '', 3, null, ['F32'], 'F32', 'F16', 'BF16'];

interface Header {
  length: number;
  json: Record<string, unknown>;
  data: Uint8Array;
}

function splitSafetensors(bytes: Uint8Array): Header {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return { length, json: JSON.parse(dec(bytes.subarray(8, 8 + length))), data: bytes.subarray(8 + length) };
}

function joinSafetensors(headerText: string, data: Uint8Array, claimedLength?: bigint): Uint8Array {
  const json = enc(headerText);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, claimedLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** An entry's offsets, or a stand-in once an earlier mutation damaged them. */
function offsetsOf(entry: unknown): number[] {
  const o = (entry as { data_offsets?: unknown } | null)?.data_offsets;
  return Array.isArray(o) && o.length === 2 && o.every((v) => typeof v === 'number') ? (o as number[]) : [0, 8];
}

/** Returns a damaged copy of a tensor entry. */
function mutateEntry(r: Rng, entry: Record<string, unknown>, others: Record<string, unknown>[], dataLength: number): Record<string, unknown> {
  const e = { ...entry };
  const offsets = offsetsOf(e);
  const shape = Array.isArray(e.shape) ? (e.shape as number[]) : [2];
  switch (r.int(12)) {
    case 0: e.dtype = r.pick(DTYPES); break;
    case 1: e.shape = shape.length ? shape.slice(1) : [1]; break;
    case 2: e.shape = [...shape, r.pick([0, 1, 2, 3])]; break;
    case 3: e.shape = shape.map((d, i) => (i === r.int(shape.length) ? r.pick(ODD_VALUES) : d)); break;
    case 4: e.shape = [2 ** 26, 2 ** 26, 2 ** 26, 2 ** 26]; break;
    case 5: e.shape = r.pick(ODD_VALUES); break;
    case 6: {
      const other = offsetsOf(r.pick(others));
      e.data_offsets = [other[0] + r.int(4), other[0] + r.int(4) + (offsets[1] - offsets[0])];
      break;
    }
    case 7: e.data_offsets = [offsets[0], dataLength + 1 + r.int(1000)]; break;
    case 8: e.data_offsets = [offsets[1], offsets[0]]; break;
    case 9: e.data_offsets = [r.pick(ODD_VALUES), r.pick(ODD_VALUES)]; break;
    case 10: e.data_offsets = r.pick([[0], [0, 1, 2], 'x', null, [-8, offsets[1] - offsets[0] - 8]]); break;
    default: delete e[r.pick(['dtype', 'shape', 'data_offsets'])]; break;
  }
  return e;
}

function mutateSafetensors(r: Rng, bytes: Uint8Array): Uint8Array {
  const h = splitSafetensors(bytes);
  const names = Object.keys(h.json).filter((n) => n !== '__metadata__');
  const json = { ...h.json };
  const kind = r.int(10);
  if (kind === 0) {
    const claims = [2n ** 53n, 2n ** 64n - 1n, 2n ** 32n, 2n ** 63n, BigInt(bytes.length), BigInt(bytes.length - 7), BigInt(h.length + 1), 0n, BigInt(h.length - 1)];
    return joinSafetensors(JSON.stringify(json), h.data, r.pick(claims));
  }
  if (kind === 1) {
    const text = JSON.stringify(json);
    const cut = r.int(text.length);
    return joinSafetensors(r.chance(0.5) ? text.slice(0, cut) : text.slice(0, cut) + r.pick(['}', ']', ',', '"', '\u0000', '{"a":', 'null']) + text.slice(cut), h.data);
  }
  if (kind === 2) {
    delete json[r.pick(names)];
  } else if (kind === 3) {
    json[r.pick(['x', 'transformer.h.7.attn.c_attn.weight', '__proto__', 'constructor', 'lm_head.weight', 'transformer.h.0.attn.bias'])] = json[r.pick(names)];
  } else if (kind === 4) {
    json.__metadata__ = r.pick(ODD_VALUES);
  } else if (kind === 5) {
    const name = r.pick(names);
    json[name.startsWith('transformer.') ? name.slice(12) : `transformer.${name}`] = json[name];
  } else {
    const count = 1 + r.int(3);
    for (let i = 0; i < count; i++) {
      const name = r.pick(names);
      json[name] = mutateEntry(r, json[name] as Record<string, unknown>, names.map((n) => json[n] as Record<string, unknown>), h.data.length);
    }
  }
  return joinSafetensors(JSON.stringify(json), h.data);
}

function mutateConfig(r: Rng, bytes: Uint8Array): Uint8Array {
  const json = JSON.parse(dec(bytes)) as Record<string, unknown>;
  const keys = ['n_layer', 'n_head', 'n_embd', 'n_positions', 'n_ctx', 'vocab_size', 'n_inner', 'layer_norm_epsilon', 'activation_function', 'bos_token_id', 'eos_token_id', 'model_type'];
  const count = 1 + r.int(2);
  for (let i = 0; i < count; i++) {
    const key = r.pick(keys);
    if (r.chance(0.2)) delete json[key];
    else if (r.chance(0.3) && typeof json[key] === 'number') json[key] = (json[key] as number) * r.pick([2, 0.5, -1]) + r.pick([0, 1, -1]);
    else json[key] = r.pick(ODD_VALUES);
  }
  return enc(r.chance(0.1) ? JSON.stringify([json]) : JSON.stringify(json));
}

function mutateTokenizerText(r: Rng, name: string, bytes: Uint8Array): Uint8Array {
  const text = dec(bytes);
  if (name === 'merges.txt') {
    const lines = text.split('\n');
    const i = 1 + r.int(Math.max(1, lines.length - 1));
    lines[i] = r.pick(['a', 'a b c', ' ', 'zz qq', 'Ġ', '\t x', 'Ġ t', lines[i] + ' ']);
    return enc(lines.join('\n'));
  }
  const json = JSON.parse(text) as Record<string, unknown>;
  const vocab = (name === 'tokenizer.json' ? (json.model as Record<string, unknown>).vocab : json) as Record<string, unknown>;
  switch (r.int(name === 'tokenizer.json' ? 8 : 4)) {
    case 0: vocab[r.pick(Object.keys(vocab))] = r.pick(ODD_VALUES); break;
    case 1: delete vocab[r.pick(Object.keys(vocab))]; break;
    case 2: vocab[r.pick(['<|x|>', 'new', '', '__proto__'])] = r.pick([...ODD_VALUES, 2 ** 24, 5000, 100000]); break;
    case 3: return enc(JSON.stringify(r.pick([[], null, 3, 'vocab', { a: { b: 1 } }])));
    case 4: json.normalizer = r.pick([{ type: 'NFC' }, 3, null]); break;
    case 5: json.pre_tokenizer = r.pick([{ type: 'Whitespace' }, { type: 'ByteLevel', add_prefix_space: true }, null, 'x']); break;
    case 6: json.added_tokens = r.pick([[{ id: -1, content: 'x' }], [{ id: 3, content: '' }], 'x', [{ id: 9999, content: '<|big|>' }], [{ id: 3, content: '<|x|>' }], [null]]); break;
    default: (json.model as Record<string, unknown>).merges = r.pick([['a b c'], [['a']], 'x', [3], ['x y'], [['Ġ', 't']]]); break;
  }
  return enc(JSON.stringify(json));
}

/** One damaged copy of `base`, described by a short label. */
function mutate(r: Rng, base: Folder): { folder: Folder; label: string } {
  const folder = new Map(base);
  const names = [...folder.keys()];
  const kind = r.int(100);
  if (kind < 12) {
    const name = r.pick(names);
    const bytes = folder.get(name)!;
    folder.set(name, bytes.subarray(0, r.chance(0.5) ? r.int(Math.min(bytes.length, 4096)) : r.int(bytes.length)));
    return { folder, label: `truncate ${name}` };
  }
  if (kind < 27) {
    const name = r.pick(names);
    const bytes = folder.get(name)!.slice();
    const headerEnd = name === 'model.safetensors' ? 8 + splitSafetensors(bytes).length : bytes.length;
    const flips = 1 + r.int(8);
    for (let i = 0; i < flips; i++) {
      const at = r.chance(0.7) ? r.int(headerEnd) : r.int(bytes.length);
      bytes[at] ^= 1 << r.int(8);
    }
    folder.set(name, bytes);
    return { folder, label: `flip ${name}` };
  }
  if (kind < 60) {
    folder.set('model.safetensors', mutateSafetensors(r, folder.get('model.safetensors')!));
    return { folder, label: 'header' };
  }
  if (kind < 75) {
    folder.set('config.json', mutateConfig(r, folder.get('config.json')!));
    return { folder, label: 'config' };
  }
  if (kind < 82) {
    const name = r.pick(names);
    folder.delete(name);
    return { folder, label: `delete ${name}` };
  }
  if (kind < 85) {
    folder.set('pytorch_model.bin', new Uint8Array([0x80, 0x02]));
    folder.delete('model.safetensors');
    return { folder, label: 'pickle' };
  }
  const tokenizerFiles = names.filter((n) => n !== 'config.json' && n !== 'model.safetensors');
  const name = r.pick(tokenizerFiles);
  if (r.chance(0.2)) {
    folder.set(name, Uint8Array.from({ length: r.int(64) }, () => r.int(256)));
  } else {
    folder.set(name, mutateTokenizerText(r, name, folder.get(name)!));
  }
  return { folder, label: `tokenizer ${name}` };
}

/** Raised by the disk reader (node/folderReader.ts) when a read fails; an in-memory folder cannot fail so. */
const DISK_ONLY_CODES: readonly ModelFileErrorCode[] = ['unreadable-file'];

interface Tally {
  cases: number;
  loaded: number;
  byCode: Map<ModelFileErrorCode, number>;
  slowestMs: number;
  /** The case whose ArrayBuffer memory grew most, as a multiple of its folder's size. */
  worstGrowth: { ratio: number; bytes: number; folderBytes: number; label: string };
}

// A full collection before each case, so that what a case allocates is not hidden by, or blamed on,
// garbage left by the cases before it.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** In the reliability tally: a damaged folder either loads as a coherent model or is refused with a ModelFileError. */
const KIND = 'damaged model folder (loader fuzz)';

async function runCase(folder: Folder, label: string, tally: Tally): Promise<void> {
  const folderBytes = [...folder.values()].reduce((n, b) => n + b.length, 0);
  collectGarbage();
  const before = process.memoryUsage().arrayBuffers;
  const t0 = performance.now();
  // Measured while the loaded model (if any) is still alive: what it holds plus what is not yet collected.
  const grown = () => process.memoryUsage().arrayBuffers - before;
  let growth: number;
  try {
    const m = await loadModelFolder(folderReader(folder));
    // Still valid after the damage: it must be a coherent model.
    const shapes = expectedShapes(m.config);
    assert.equal(m.weights.size, shapes.size, label);
    for (const [name, shape] of shapes) assert.deepEqual(m.weights.get(name)!.shape, shape, `${label}: ${name}`);
    assert.ok(m.tokenizer.vocabSize <= m.config.vocabSize, label);
    const sample = 'the cat\n  é<|endoftext|>👍 in';
    const tokens = m.tokenizer.encode(sample);
    assert.equal(tokens.at(-1)!.end, sample.length, label);
    assert.equal(m.tokenizer.decode(tokens.map((t) => t.id)), sample, label);
    growth = grown();
    tally.loaded++;
    observe(KIND, 'handled', undefined, label);
  } catch (e) {
    growth = grown();
    const clear = e instanceof ModelFileError && e.message.length < 400 && e.message.includes(e.file);
    observe(KIND, clear ? 'clear error' : 'unclear', undefined, label);
    if (!(e instanceof ModelFileError)) {
      assert.fail(`${label}: threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} instead of a ModelFileError`);
    }
    assert.ok(e.message.length < 400 && e.message.includes(e.file), `${label}: ${e.message}`);
    tally.byCode.set(e.code, (tally.byCode.get(e.code) ?? 0) + 1);
  }
  tally.slowestMs = Math.max(tally.slowestMs, performance.now() - t0);
  if (growth / folderBytes > tally.worstGrowth.ratio) tally.worstGrowth = { ratio: growth / folderBytes, bytes: growth, folderBytes, label };
  tally.cases++;
}

test(`loader fuzz: ${TINY_CASES} damaged tiny folders and ${EMBEDDED_CASES} damaged embedded ones`, { timeout: 300_000 }, async () => {
  const tally: Tally = { cases: 0, loaded: 0, byCode: new Map(), slowestMs: 0, worstGrowth: { ratio: -Infinity, bytes: 0, folderBytes: 0, label: '' } };
  const bases = [
    tinyGpt2Folder({ dtype: 'F32' }),
    tinyGpt2Folder({ dtype: 'F16', prefix: false, maskBuffers: true }),
    tinyGpt2Folder({ dtype: 'BF16', lmHead: true }),
    tinyGpt2Folder({ dtype: 'F16', tokenizerJson: true }),
  ];
  const r = rng(SEED);
  for (let i = 0; i < TINY_CASES; i++) {
    const { folder, label } = mutate(r, bases[i % bases.length]);
    await runCase(folder, `tiny case ${i} (${label})`, tally);
  }
  const embedded: Folder = new Map(
    ['config.json', 'model.safetensors', 'vocab.json', 'merges.txt'].map((n) => [n, new Uint8Array(readFileSync(`${EMBEDDED}/${n}`))]),
  );
  for (let i = 0; i < EMBEDDED_CASES; i++) {
    const { folder, label } = mutate(r, embedded);
    await runCase(folder, `embedded case ${i} (${label})`, tally);
  }
  const codes = [...tally.byCode].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ');
  const w = tally.worstGrowth;
  console.log(
    `loader fuzz (seed ${SEED}): ${tally.cases} cases, ${tally.loaded} still valid and loaded, errors: ${codes}; slowest case ${tally.slowestMs.toFixed(0)} ms; ` +
      `most ArrayBuffer growth ${(w.bytes / 2 ** 10).toFixed(0)} KiB = ${w.ratio.toFixed(2)} × the folder's ${(w.folderBytes / 2 ** 10).toFixed(0)} KiB (${w.label})`,
  );
  const unseen = MODEL_FILE_ERROR_CODES.filter((c) => !DISK_ONLY_CODES.includes(c) && !tally.byCode.has(c));
  assert.deepEqual(unseen, [], 'error kinds the mutations never reached');
  assert.ok(tally.loaded > 0, 'no mutation left a valid model, so the still-valid path went untested');
  // A hang, or an allocation driven by a header's claims (terabytes), would exceed these by orders of magnitude.
  assert.ok(tally.slowestMs < 10_000, `slowest case ${tally.slowestMs.toFixed(0)} ms`);
  assert.ok(w.ratio <= GROWTH_BOUND, `${w.label}: ArrayBuffer memory grew ${w.ratio.toFixed(2)} × its folder's size`);
});
