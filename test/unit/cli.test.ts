// `attention-inspector inspect` run as a user would (node dist/cli.js) on the embedded model and on
// broken input: outputs checked against the forward fixtures, every bad input exits 2 with one line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { maxAbsDiff } from '../../kernels/flash/reference.js';
import { assertBadInput, CLI, runCli } from '../support/cliRun.js';
import { readFloat32Npy } from '../support/npy.js';
import { decodeRgbPng, type DecodedPng } from '../support/png.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MODEL = join(ROOT, 'media', 'models', 'tinycode-4l8h-1k');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'forward');
let dir: string;

const cli = (...args: string[]) => runCli(dir, ...args);

before(() => {
  if (!existsSync(CLI)) assert.equal(spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' }).status, 0);
  dir = mkdtempSync(join(tmpdir(), 'ai-cli-'));
});

test('inspect writes tokens.json and attention.npy matching the reference', () => {
  const { cases } = JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8')) as { cases: { name: string; text: string; ids: number[] }[] };
  const c = cases.find((x) => x.name === 'accented-cjk')!;
  writeFileSync(join(dir, 'in.txt'), c.text);
  const r = cli('inspect', '--text-file', 'in.txt', '--out', 'out');
  assert.equal(r.status, 0, r.stderr);
  const tokens = JSON.parse(readFileSync(join(dir, 'out', 'tokens.json'), 'utf8'));
  assert.equal(tokens.model, 'tinycode-4l8h-1k');
  assert.equal(tokens.backend, 'wasm');
  assert.equal(tokens.layers, 4);
  assert.equal(tokens.heads, 8);
  assert.deepEqual(tokens.tokens.map((t: { id: number }) => t.id), c.ids);
  for (const t of tokens.tokens) assert.equal(c.text.slice(t.start, t.end), t.text);
  const T = c.ids.length;
  const got = readFloat32Npy(join(dir, 'out', 'attention.npy'));
  const want = readFloat32Npy(join(FIXTURES, `${c.name}.attention.npy`));
  assert.deepEqual(got.shape, [4, 8, T, T]);
  const worst = maxAbsDiff(got.data, want.data);
  assert.ok(worst <= 1e-5, `attention.npy vs reference: ${worst}`);
  assertHeatmap(decodeRgbPng(readFileSync(join(dir, 'out', 'attention-layer3.png'))), want.data.subarray(3 * 8 * T * T, 4 * 8 * T * T), 8, T);
});

test('--layers writes only those layers, in that order; --max-tokens inspects the first N tokens', () => {
  const { cases } = JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8')) as { cases: { name: string; text: string; ids: number[] }[] };
  const c = cases.find((x) => x.name === 'english')!;
  writeFileSync(join(dir, 'english.txt'), c.text);
  const T = c.ids.length;
  const N = T - 3;
  const r = cli('inspect', '--text-file', 'english.txt', '--out', 'some', '--layers', '3,1', '--max-tokens', String(N));
  assert.equal(r.status, 0, r.stderr);
  const tokens = JSON.parse(readFileSync(join(dir, 'some', 'tokens.json'), 'utf8'));
  // A text this short is tokenized whole, so the total is known; the N tokens cover it up to the last one's end.
  const inspectedChars = tokens.tokens[N - 1].end;
  assert.match(r.stderr, new RegExp(`only the first ${N} of ${T} tokens were inspected \\(--max-tokens\\): the first ${inspectedChars} of ${c.text.length} characters`));
  assert.deepEqual(tokens.attentionLayers, [3, 1]);
  assert.deepEqual(tokens.tokens.map((t: { id: number }) => t.id), c.ids.slice(0, N));
  assert.deepEqual(tokens.truncated, {
    originalTokens: T,
    keptTokens: N,
    inspectedChars,
    totalChars: c.text.length,
    message: `only the first ${N} of ${T} tokens were inspected (--max-tokens): the first ${inspectedChars} of ${c.text.length} characters`,
  });
  const got = readFloat32Npy(join(dir, 'some', 'attention.npy'));
  assert.deepEqual(got.shape, [2, 8, N, N]);
  // Causal attention: the first N tokens' maps are the top-left N × N corner of the full text's.
  const want = readFloat32Npy(join(FIXTURES, `${c.name}.attention.npy`));
  let worst = 0;
  [3, 1].forEach((l, i) => {
    for (let h = 0; h < 8; h++) {
      for (let q = 0; q < N; q++) {
        for (let k = 0; k < N; k++) worst = Math.max(worst, Math.abs(got.data[((i * 8 + h) * N + q) * N + k] - want.data[((l * 8 + h) * T + q) * T + k]));
      }
    }
  });
  assert.ok(worst <= 1e-5, `attention.npy vs reference: ${worst}`);
  assert.ok(existsSync(join(dir, 'some', 'attention-layer3.png')) && existsSync(join(dir, 'some', 'attention-layer1.png')));
  assert.ok(!existsSync(join(dir, 'some', 'attention-layer0.png')));
});

test('bad --layers and --max-tokens exit 2 with one error line', () => {
  writeFileSync(join(dir, 'b.txt'), 'hello');
  assertBadInput(cli('inspect', '--text-file', 'b.txt', '--layers', '1,x'), /--layers must be a comma-separated list/);
  assertBadInput(cli('inspect', '--text-file', 'b.txt', '--layers=-1'), /--layers must be a comma-separated list/);
  assertBadInput(cli('inspect', '--text-file', 'b.txt', '--layers', '2,2'), /layer 2 twice/);
  assertBadInput(cli('inspect', '--text-file', 'b.txt', '--layers', '0,4'), /layer 4, but the model has 4/);
  assertBadInput(cli('inspect', '--text-file', 'b.txt', '--max-tokens', '0'), /--max-tokens must be a positive integer/);
  assertBadInput(cli('inspect', '--text-file', 'b.txt', '--max-tokens', '1.5'), /--max-tokens must be a positive integer/);
  assertBadInput(cli('inspect', '--text-file', 'b.txt', '--max-tokens', '1025'), /more than the model's context \(1024\)/);
});

/**
 * The layer heatmap as documented (cli/heatmapPng.ts): heads in rows of four, 4-pixel white gaps, each
 * T×T cell scaled up to at least 128 pixels, colour from dark blue (13, 8, 135) to yellow (240, 249, 33)
 * by √p. Compared with the reference attention, so within one level per channel.
 */
function assertHeatmap(png: DecodedPng, attention: Float32Array, heads: number, T: number): void {
  const scale = Math.max(1, Math.floor(128 / T));
  const cell = T * scale;
  assert.deepEqual([png.width, png.height], [4 * cell + 3 * 4, Math.ceil(heads / 4) * cell + (Math.ceil(heads / 4) - 1) * 4]);
  const low = [13, 8, 135];
  const high = [240, 249, 33];
  let worst = 0;
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      const col = Math.floor(x / (cell + 4));
      const row = Math.floor(y / (cell + 4));
      const cx = x - col * (cell + 4);
      const cy = y - row * (cell + 4);
      const inCell = cx < cell && cy < cell;
      const p = inCell ? attention[((row * 4 + col) * T + Math.floor(cy / scale)) * T + Math.floor(cx / scale)] : undefined;
      for (let c = 0; c < 3; c++) {
        const want = p === undefined ? 255 : low[c] + (high[c] - low[c]) * Math.sqrt(p);
        worst = Math.max(worst, Math.abs(png.rgb[(y * png.width + x) * 3 + c] - want));
      }
    }
  }
  assert.ok(worst <= 1, `heatmap pixels differ from the reference attention's colours by up to ${worst.toFixed(2)} levels`);
}

test('a broken model folder exits 2 with one error line', () => {
  const broken = join(dir, 'broken');
  mkdirSync(broken, { recursive: true });
  for (const f of ['config.json', 'vocab.json', 'merges.txt']) copyFileSync(join(MODEL, f), join(broken, f));
  writeFileSync(join(broken, 'model.safetensors'), readFileSync(join(MODEL, 'model.safetensors')).subarray(0, 5000));
  writeFileSync(join(dir, 'a.txt'), 'hello');
  assertBadInput(cli('inspect', '--model', broken, '--text-file', 'a.txt'), /model\.safetensors/);
  assertBadInput(cli('inspect', '--model', join(dir, 'no-such-model'), '--text-file', 'a.txt'), /config\.json/);
});

test('--truncate on a long one-line text: the first 1024 tokens, tokenized from a prefix, and how much of the text that was', () => {
  const line = readFileSync(join(ROOT, 'samples', 'attention.ts'), 'utf8').replace(/\s*\n\s*/g, ' ');
  const text = line.repeat(Math.ceil(400_000 / line.length));
  writeFileSync(join(dir, 'huge.txt'), text);
  const r = cli('inspect', '--text-file', 'huge.txt', '--truncate', '--out', 'huge');
  assert.equal(r.status, 0, r.stderr);
  const { tokens, truncated } = JSON.parse(readFileSync(join(dir, 'huge', 'tokens.json'), 'utf8'));
  assert.equal(tokens.length, 1024);
  assert.deepEqual(truncated, {
    keptTokens: 1024,
    inspectedChars: tokens[1023].end,
    totalChars: text.length,
    message: `only the first 1024 of more than 1024 tokens were inspected (the model's context): the first ${tokens[1023].end} of ${text.length} characters`,
  });
  assert.match(r.stderr, /note: only the first 1024 of more than 1024 tokens/);
});

test('bad arguments and texts exit 2 with one error line', () => {
  writeFileSync(join(dir, 'empty.txt'), '');
  writeFileSync(join(dir, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9]));
  writeFileSync(join(dir, 'long.txt'), 'word '.repeat(1500));
  assertBadInput(cli('inspect', '--text-file', 'missing.txt'), /cannot read/);
  assertBadInput(cli('inspect', '--text-file', 'empty.txt'), /empty/);
  assertBadInput(cli('inspect', '--text-file', 'latin1.txt'), /UTF-8/);
  assertBadInput(cli('inspect', '--text-file', 'long.txt'), /context is 1024.*--truncate/);
  assertBadInput(cli('inspect', '--text-file', 'empty.txt', '--colour'), /--colour/);
  assertBadInput(cli('inspect', '--text-file', 'empty.txt', '--backend', 'cuda'), /--backend/);
  assertBadInput(cli('inspect'), /--text-file/);
  assertBadInput(cli('frobnicate'), /unknown command/);
});
