// The GPU race harness (scripts/gpuRace/run.sh) on this machine, shrunk: ours on SwiftShader and PyTorch
// on the CPU, so that a session lent a GPU finds it working. Checks the files the race writes and that
// both sides agree with their references.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

test('run.sh: ours twice, PyTorch before and after, one comparison', () => {
  const out = mkdtempSync(join(tmpdir(), 'gpu-race-'));
  try {
    const r = spawnSync('bash', ['scripts/gpuRace/run.sh'], {
      encoding: 'utf8',
      env: { ...process.env, OUT: out, RACE_T: '40', RACE_HEADS: '2', RACE_HEAD_DIM: '32', RACE_TILES: 'first-fit' },
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const ours = ['timestamps', 'queue'].map((t) => JSON.parse(readFileSync(join(out, `ours-${t}.json`), 'utf8')).rows[0]);
    assert.deepEqual(ours.map((o) => [o.kernel, o.status, o.seqLen, o.heads, o.headDim]), [['ours', 'ok', 40, 2, 32], ['ours', 'ok', 40, 2, 32]]);
    assert.deepEqual(ours.map((o) => o.timing), ['gpu-timestamp', 'queue-completion']);
    for (const side of ['before', 'after']) {
      const sdpa = JSON.parse(readFileSync(join(out, `sdpa-${side}.json`), 'utf8'));
      const unfused = sdpa.rows.find((x: { backend: string }) => x.backend === 'unfused');
      assert.ok(unfused.agrees && unfused.maxAbsDiff < 1e-5, JSON.stringify(unfused));
      // The default SDPA either ran and agrees, or says why it did not run (Debian's torch 1.13 has none).
      const sdpaDefault = sdpa.rows.find((x: { backend: string }) => x.backend === 'default');
      assert.ok(sdpaDefault.agrees || /scaled_dot_product_attention/.test(sdpaDefault.note), JSON.stringify(sdpaDefault));
    }
    // A device call brings back eight files at most.
    assert.deepEqual(readdirSync(out).sort(), ['ours-queue.json', 'ours-timestamps.json', 'race.json', 'race.txt', 'run.log', 'sdpa-after.json', 'sdpa-before.json']);
    assert.match(readFileSync(join(out, 'run.log'), 'utf8'), /adapter: .*\n[\s\S]*race: /);
    const race = JSON.parse(readFileSync(join(out, 'race.json'), 'utf8'));
    assert.ok(race.oursMs > 0);
    assert.match(race.lines.at(-1), /^race: /);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
