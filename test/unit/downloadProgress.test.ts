// Words shown in the download notification, and the hub header parsing the checks rely on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { factsFromHeaders, formatBytes } from '../../src/models/downloader.js';
import { describeProgress, formatDuration } from '../../src/models/progressText.js';

test('progress reads bytes of total, speed and time left', () => {
  assert.equal(describeProgress('model.safetensors', { received: 120_300_000, total: 548_105_171, bytesPerSecond: 12_100_000, etaSeconds: 35.4 }),
    'model.safetensors · 120.3 MB of 548.1 MB · 12.1 MB/s · 36 s left');
  assert.equal(describeProgress('vocab.json', { received: 900, bytesPerSecond: 0 }), 'vocab.json · 900 B');
  assert.equal(formatDuration(3725), '1 h 2 min');
  assert.equal(formatDuration(61), '1 min 1 s');
  assert.equal(formatBytes(1_520_013_706), '1.5 GB');
});

test('hub headers: X-Linked-Etag is a sha256 only when it looks like one; X-Linked-Size is the LFS size', () => {
  const sha = 'a'.repeat(64);
  assert.deepEqual(factsFromHeaders({ 'x-linked-etag': `"${sha}"`, 'x-linked-size': '548105171', etag: '"ignored"' }), { sha256: sha, size: 548105171, etag: sha });
  assert.deepEqual(factsFromHeaders({ etag: 'W/"10c5-abc"' }), { sha256: undefined, size: undefined, etag: '10c5-abc' });
  assert.deepEqual(factsFromHeaders({ etag: `"${sha}"` }), { sha256: undefined, size: undefined, etag: sha }, 'a plain ETag is not trusted as a checksum');
});
