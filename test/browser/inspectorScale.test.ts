// The panel on a GPT-2-small-shaped random model (12 layers × 12 heads, D = 768, fp16, 249 MB, made at
// test time under test-results/, never committed) at 1,024 tokens on wasm, in headless Chromium:
// - the chosen head's heatmap is drawn at device pixels (one cell per device pixel or more, unscaled);
// - the page's JS heap (V8 heap + ArrayBuffer backing stores, after a collection) stays below a bound made
//   of the model file + O(L·T·D) + the trace layer's tensors + one layer of maps, far under the L·H·T²
//   floats of every map (604 MB);
// - no long task (PerformanceObserver 'longtask') over 100 ms starts while the maps are derived (asserted
//   when the machine is not oversubscribed; under load the 90th percentile, with a load-scaled limit);
// - the .npy the panel exports, in parts, equals `attention-inspector inspect` for the first and last layer.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { PanelMessage, RunFacts } from '../../protocol/inspector.js';
import type { Envelope } from '../../protocol/messenger.js';
import { loadModelFolderFromDisk } from '../../node/folderReader.js';
import { LineIndex, toTokenInfos } from '../../src/inspectSelection.js';
import { MAPS_MEASURE } from '../../webview/inspector/layerDigest.js';
import { GPT2_SMALL, gpt2ShapedFolder } from '../support/gpt2ShapedFolder.js';
import { REPO_ROOT } from '../support/paths.js';
import { startStaticServer, type StaticServer } from '../support/staticServer.js';
import { launchChromium, openPage, saveScreenshot, type CollectingPage } from './harness.js';
import { inspectorTestPage, requestFor, send, waitForPost, waitForReady } from './inspectorPage.js';

const RESULTS = join(REPO_ROOT, 'test-results', 'browser');
const MODEL_DIR = join(RESULTS, 'gpt2-small-shaped');
const T = 1024;
const { nLayer: L, nHead: H, nEmbd: D } = GPT2_SMALL;
const MB = 1 << 20;

let server: StaticServer;
let browser: Browser;
let page: CollectingPage;
let modelBytes = 0;

/** The page's JS memory: V8's heap and the ArrayBuffers' backing stores (wasm memory is not in it), after a full collection. */
async function jsHeapBytes(p: CollectingPage, collect: boolean): Promise<number> {
  const cdp = await p.context().newCDPSession(p);
  try {
    if (collect) await cdp.send('HeapProfiler.collectGarbage');
    const u = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number; backingStorageSize?: number };
    return u.usedSize + (u.backingStorageSize ?? 0);
  } finally {
    await cdp.detach();
  }
}

/** Layer `l` of an (L', H, T, T) float32 .npy, read from the file without loading the rest. */
function npyLayer(path: string, index: number): Float32Array {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(10);
    readSync(fd, head, 0, 10, 0);
    const bodyAt = 10 + head.readUInt16LE(8);
    const bytes = Buffer.alloc(H * T * T * 4);
    assert.equal(readSync(fd, bytes, 0, bytes.length, bodyAt + index * bytes.length), bytes.length, `${path}: layer ${index} is short`);
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  } finally {
    closeSync(fd);
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

before(async () => {
  rmSync(MODEL_DIR, { recursive: true, force: true });
  mkdirSync(MODEL_DIR, { recursive: true });
  for (const [name, bytes] of gpt2ShapedFolder(GPT2_SMALL)) {
    writeFileSync(join(MODEL_DIR, name), bytes);
    modelBytes += bytes.length;
  }
  server = await startStaticServer({ pages: { '/inspector.html': inspectorTestPage } });
  browser = await launchChromium('wasm');
});
after(async () => {
  await browser?.close();
  await server?.close();
  rmSync(MODEL_DIR, { recursive: true, force: true });
});

test('GPT-2-small shape at 1,024 tokens: heatmap at device pixels, bounded JS heap, no long task while maps are derived, export = CLI', { timeout: 900_000 }, async (t) => {
  // Letters that take part in no merge of the tiny tokenizer: one token each.
  const letters = 'abcdfgjklmopqrsuvwxyz';
  const text = Array.from({ length: T }, (_, i) => letters[(i * 7 + (i >> 3)) % letters.length]).join('');
  const model = await loadModelFolderFromDisk(MODEL_DIR);
  const tokens = toTokenInfos(model.tokenizer.encode(text), 0, new LineIndex(text));
  assert.equal(tokens.length, T);

  page = await openPage(browser, server.url('/inspector.html'), { width: 1600, height: 1200 });
  await waitForReady(page, 30_000);
  // The host's end of the parted save: the file goes to disk here, part after part.
  const exported = join(RESULTS, 'scale-panel-attention.npy');
  let fd: number | undefined;
  await page.exposeFunction('__answerRequest', (e: Extract<Envelope, { kind: 'request' }>) => {
    const p = e.params as { streamId?: number; base64?: string; abort?: boolean };
    let response: unknown = {};
    if (e.type === 'saveStreamOpen') {
      fd = openSync(exported, 'w');
      response = { streamId: 1 };
    } else if (e.type === 'saveStreamWrite') writeSync(fd!, Buffer.from(p.base64!, 'base64'));
    else if (e.type === 'saveStreamClose') {
      closeSync(fd!);
      response = p.abort ? { error: 'cancelled' } : { path: exported };
    } else response = { error: `not answered here: ${e.type}` };
    return { kind: 'reply', inReplyTo: e.id, response };
  });
  await page.evaluate(() => {
    const w = window as unknown as { __longTasks: { start: number; duration: number }[] };
    w.__longTasks = [];
    new PerformanceObserver((list) => list.getEntries().forEach((x) => w.__longTasks.push({ start: x.startTime, duration: x.duration }))).observe({ type: 'longtask', buffered: true });
  });

  const req = requestFor(server.origin, text, 1, { tokens, model: { id: 'test:gpt2-small-shaped', label: 'GPT-2 small shape (random)', baseUri: `${server.origin}/test-results/browser/gpt2-small-shaped/` }, backend: 'wasm' });
  await send(page, req);
  // Sample the heap while the maps are derived (garbage included: the peak a user's machine would see).
  let peak = 0;
  let done = false;
  const sampling = (async () => {
    while (!done) {
      peak = Math.max(peak, await jsHeapBytes(page, false).catch(() => 0));
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  const { facts } = await waitForPost(page, (m: PanelMessage): m is { type: 'result'; requestId: number; facts: RunFacts } => m.type === 'result' && m.requestId === 1, 800_000);
  done = true;
  await sampling;
  assert.equal(facts.tokens, T);
  const settled = await jsHeapBytes(page, true);

  // Memory: the model file (its bytes stay in the page), q and k of every layer, the trace layer's
  // tensors (9 of T·D, 3 of H·T²), one layer of maps, the recent full maps (32 MB), and 64 MB of the page itself.
  const qk = 2 * L * T * D * 4;
  const trace = (9 * T * D + 3 * H * T * T) * 4;
  const layerMaps = H * T * T * 4;
  const bound = modelBytes + qk + trace + layerMaps + 32 * MB + 64 * MB;
  const everyMap = L * H * T * T * 4;
  t.diagnostic(`JS heap after the maps: ${(settled / MB).toFixed(0)} MB settled, ${(peak / MB).toFixed(0)} MB peak while deriving; bound ${(bound / MB).toFixed(0)} MB (model file ${(modelBytes / MB).toFixed(0)}, q+k ${(qk / MB).toFixed(0)}, trace ${(trace / MB).toFixed(0)}, one layer of maps ${(layerMaps / MB).toFixed(0)}); every map at once would be ${(everyMap / MB).toFixed(0)} MB`);
  t.diagnostic(`timings: ${JSON.stringify(facts.timings)}`);
  assert.ok(settled < bound, `JS heap ${(settled / MB).toFixed(0)} MB over the bound ${(bound / MB).toFixed(0)} MB`);
  assert.ok(bound < modelBytes + everyMap, 'the bound is below what every map would take');

  // No long task began while the maps were derived.
  const { span, longTasks } = await page.evaluate((name) => {
    const m = performance.getEntriesByName(name)[0]!;
    return { span: { start: m.startTime, end: m.startTime + m.duration }, longTasks: (window as unknown as { __longTasks: { start: number; duration: number }[] }).__longTasks };
  }, MAPS_MEASURE);
  const during = longTasks.filter((x) => x.start >= span.start && x.start < span.end);
  const worst = Math.max(0, ...during.map((x) => x.duration));
  // 100 ms on a machine to itself. On a shared one every task stretches with the load (at a load of 18 on
  // 2 cores a 12 ms head derivation took 40–140 ms) and collections land anywhere, so there the worst task
  // is reported, and the chunking is held to its 90th percentile under a limit scaled by the load per core.
  const load = loadavg()[0]!;
  const perCore = load / cpus().length;
  const limit = 100 * Math.max(1, perCore);
  const lengths = during.map((x) => x.duration).sort((a, b) => a - b);
  const p90 = lengths[Math.floor(lengths.length * 0.9)] ?? 0;
  t.diagnostic(`maps derived in ${(span.end - span.start).toFixed(0)} ms; ${during.length} long tasks (> 50 ms) began then: 90th percentile ${p90.toFixed(0)} ms, longest ${worst.toFixed(0)} ms (load ${load.toFixed(1)} on ${cpus().length} cores, limit ${limit.toFixed(0)} ms); ${longTasks.length - during.length} other long tasks (the forward, the page's first build, the trace table)`);

  // The heatmap: 1,024 cells a side, each a whole number of device pixels, drawn unscaled.
  const img = await page.evaluate(() => {
    const c = document.querySelector<HTMLCanvasElement>('.big-heatmap canvas.image')!;
    return { w: c.width, h: c.height, css: c.getBoundingClientRect().width * devicePixelRatio };
  });
  assert.equal(img.w % T, 0, `${img.w} pixels for ${T} cells`);
  assert.equal(img.h, img.w);
  assert.ok(Math.abs(img.css - img.w) < 0.5, `${img.css} device pixels on screen for a ${img.w}-pixel canvas`);
  await saveScreenshot(page, 'inspector-gpt2-small-t1024');

  // Export (L, H, T, T) in parts and compare the first and last layer with the CLI's.
  const tExport = Date.now();
  await page.getByTitle('Export all attention maps (L, H, T, T) as NumPy .npy').click();
  await page.locator('.status', { hasText: 'Saved' }).waitFor({ timeout: 300_000 });
  t.diagnostic(`export of ${((L * H * T * T * 4) / MB).toFixed(0)} MB in parts: ${((Date.now() - tExport) / 1000).toFixed(0)} s (load ${loadavg()[0]!.toFixed(1)})`);
  const dir = join(RESULTS, 'scale-cli');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'text.txt'), text);
  const cli = spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'cli.js'), 'inspect', '--model', MODEL_DIR, '--text-file', join(dir, 'text.txt'), '--out', join(dir, 'out'), '--layers', `0,${L - 1}`], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  const cliIds = (JSON.parse(readFileSync(join(dir, 'out', 'tokens.json'), 'utf8')) as { tokens: { id: number }[] }).tokens.map((x) => x.id);
  assert.deepEqual(cliIds, tokens.map((x) => x.id));
  for (const [panelIndex, cliIndex] of [[0, 0], [L - 1, 1]] as const) {
    const d = maxAbsDiff(npyLayer(exported, panelIndex), npyLayer(join(dir, 'out', 'attention.npy'), cliIndex));
    t.diagnostic(`layer ${panelIndex}: panel export vs CLI max |diff| ${d.toExponential(2)}`);
    assert.equal(d, 0, `layer ${panelIndex}: the panel's export differs from the CLI's by up to ${d}`);
  }
  rmSync(exported, { force: true });
  rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(page.errors, []);
  // Last, so that the checks above are made whatever the machine's load did to the tasks.
  assert.ok(p90 <= limit, `long tasks while the maps were derived: 90th percentile ${p90.toFixed(0)} ms: ${JSON.stringify(during)}`);
  if (perCore <= 1) assert.ok(worst <= 100, `a ${worst.toFixed(0)} ms task ran while the maps were derived: ${JSON.stringify(during)}`);
});
