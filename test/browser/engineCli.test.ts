// `attention-inspector inspect --backend webgpu` as a user runs it: the browser engine bundle in headless
// Chromium (WebGPU on SwiftShader) gives the same attention.npy as the wasm backend, and says which ran.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from './harness.js';

function npyBody(file: string): Float32Array {
  const b = readFileSync(file);
  const start = 10 + b.readUInt16LE(8);
  return new Float32Array(b.buffer.slice(b.byteOffset + start, b.byteOffset + b.length));
}

test('inspect --backend webgpu matches --backend wasm', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ai-cli-gpu-'));
  writeFileSync(join(dir, 'in.ts'), 'const total = items.reduce((a, b) => a + b, 0);\nconsole.log(total);\n');
  const run = (backend: string) => spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'cli.js'), 'inspect', '--text-file', 'in.ts', '--backend', backend, '--out', backend], { cwd: dir, encoding: 'utf8', timeout: 240_000 });
  for (const backend of ['wasm', 'webgpu']) {
    const r = run(backend);
    assert.equal(r.status, 0, r.stderr);
  }
  const gpu = JSON.parse(readFileSync(join(dir, 'webgpu', 'tokens.json'), 'utf8'));
  assert.equal(gpu.backend, 'webgpu');
  assert.match(gpu.provider, /WebGPU.*swiftshader/i);
  assert.deepEqual(gpu.tokens, JSON.parse(readFileSync(join(dir, 'wasm', 'tokens.json'), 'utf8')).tokens.map((t: { loss: number | null }, i: number) => ({ ...t, loss: gpu.tokens[i].loss, top: gpu.tokens[i].top })));
  const a = npyBody(join(dir, 'wasm', 'attention.npy'));
  const b = npyBody(join(dir, 'webgpu', 'attention.npy'));
  assert.equal(a.length, b.length);
  let worst = 0;
  a.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - b[i]))));
  assert.ok(worst < 1e-4, `webgpu vs wasm attention: ${worst}`);
});
