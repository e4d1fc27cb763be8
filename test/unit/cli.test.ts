// `attention-inspector inspect` run as a user would (node dist/cli.js) on the embedded model and on
// broken input: outputs checked against the forward fixtures, every bad input exits 2 with one line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { maxAbsDiff } from '../../kernels/flash/reference.js';
import { readFloat32Npy } from '../support/npy.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const MODEL = join(ROOT, 'media', 'models', 'tinycode-4l8h-1k');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'forward');
let dir: string;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: dir, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertBadInput(r: ReturnType<typeof cli>, pattern: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], pattern);
}

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
  const png = readFileSync(join(dir, 'out', 'attention-layer3.png'));
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  const cell = T * Math.max(1, Math.floor(128 / T));
  assert.equal(png.readUInt32BE(16), 4 * cell + 3 * 4);
  assert.equal(png.readUInt32BE(20), 2 * cell + 4);
});

test('a broken model folder exits 2 with one error line', () => {
  const broken = join(dir, 'broken');
  mkdirSync(broken, { recursive: true });
  for (const f of ['config.json', 'vocab.json', 'merges.txt']) copyFileSync(join(MODEL, f), join(broken, f));
  writeFileSync(join(broken, 'model.safetensors'), readFileSync(join(MODEL, 'model.safetensors')).subarray(0, 5000));
  writeFileSync(join(dir, 'a.txt'), 'hello');
  assertBadInput(cli('inspect', '--model', broken, '--text-file', 'a.txt'), /model\.safetensors/);
  assertBadInput(cli('inspect', '--model', join(dir, 'no-such-model'), '--text-file', 'a.txt'), /config\.json/);
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
