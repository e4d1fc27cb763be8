// Our WGSL attention-maps kernel (kernels/flash/attentionMapsKernel.ts) in headless Chromium, WebGPU on
// SwiftShader, through the headless page:
// - alone, at awkward sizes (head sizes 32–128 and 80, blocks of query rows, no mask, no 1/√dh, the output
//   in parts), against the plain reference (kernels/inspect/attentionMaps.ts);
// - in the engine on the embedded model at T = 256 (ATTENTION_MAPS_LENGTH=1024 for the README's full-context
//   figure; 13 min on SwiftShader, too long for CI): the maps it derives equal those of ORT's graph on the
//   same provider and of wasm in Node; both derive times are printed side by side (SwiftShader: a ratio on
//   this CPU, not a GPU figure).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as ort from 'onnxruntime-web';
import type { Browser } from 'playwright-core';
import { float32FromBase64, float32ToBase64 } from '../../cli/float32Base64.js';
import { maxAbsDiff, randomInputs } from '../../kernels/flash/reference.js';
import { type AttentionInputs, attentionMapsReference, type QueryRows } from '../../kernels/inspect/attentionMaps.js';
import { DecoderInspector, type MapsDeriverKind } from '../../kernels/runtime/decoderInspector.js';
import { loadModelFolderFromDisk } from '../../node/folderReader.js';
import type { HeadlessMapsRequest, HeadlessRequest, HeadlessResult } from '../../webview/headless/main.js';
import { REPO_ROOT } from '../support/paths.js';
import { startStaticServer, type StaticServer } from '../support/staticServer.js';
import { type CollectingPage, launchChromium, openPage } from './harness.js';

const PAGE = `<!doctype html><html><head><meta charset="utf-8"></head><body><script type="module" src="/dist/webview/headless.js"></script></body></html>`;

let server: StaticServer;
let browser: Browser;
let page: CollectingPage;

before(async () => {
  server = await startStaticServer({ pages: { '/headless.html': PAGE } });
  browser = await launchChromium('webgpu');
  page = await openPage(browser, server.url('/headless.html'));
  await page.waitForFunction(() => 'deriveMapsHeadless' in globalThis);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** Uniform values of spread `std`, deterministic (so a failure reproduces). */
function values(n: number, seed: number, std: number): Float32Array {
  return randomInputs(n, seed).map((x) => x * std * Math.sqrt(3));
}

function logit(a: AttentionInputs, h: number, i: number, j: number): number {
  let dot = 0;
  for (let d = 0; d < a.headDim; d++) dot += a.q[(h * a.length + i) * a.headDim + d] * a.k[(h * a.length + j) * a.headDim + d];
  return dot * a.scale;
}

interface KernelCase {
  heads: number;
  length: number;
  headDim: number;
  causal: boolean;
  scale?: number;
  std?: number;
  rows?: QueryRows;
  maxPartBytes?: number;
}

const cases: KernelCase[] = [
  { heads: 3, length: 77, headDim: 64, causal: true },
  { heads: 1, length: 1000, headDim: 32, causal: true, rows: { first: 300, count: 129 } },
  { heads: 2, length: 45, headDim: 128, causal: false, rows: { first: 7, count: 20 } },
  { heads: 12, length: 130, headDim: 64, causal: true, maxPartBytes: 7 * 130 * 4 },
  { heads: 2, length: 64, headDim: 80, causal: true, scale: 1, std: 2 },
];

for (const c of cases) {
  const name = `kernel = reference: H ${c.heads} T ${c.length} dh ${c.headDim} causal=${c.causal}${c.rows ? ` rows ${c.rows.first}+${c.rows.count}` : ''}${c.scale ? ` scale ${c.scale}` : ''}${c.maxPartBytes ? ` in parts of ${c.maxPartBytes / (c.length * 4)} rows` : ''}`;
  test(name, { timeout: 120_000 }, async () => {
    const n = c.heads * c.length * c.headDim;
    const inputs: AttentionInputs = {
      heads: c.heads, length: c.length, headDim: c.headDim, causal: c.causal, scale: c.scale ?? 1 / Math.sqrt(c.headDim),
      q: values(n, 11 + c.length, c.std ?? 1), k: values(n, 97 + c.headDim, c.std ?? 1),
    };
    const req: HeadlessMapsRequest = { ...inputs, q: float32ToBase64(inputs.q), k: float32ToBase64(inputs.k), rows: c.rows, maxPartBytes: c.maxPartBytes };
    const got = float32FromBase64(await page.evaluate((r) => (globalThis as unknown as { deriveMapsHeadless: (r: HeadlessMapsRequest) => Promise<string> }).deriveMapsHeadless(r), req));
    const whole = attentionMapsReference(inputs);
    const { first, count } = c.rows ?? { first: 0, count: c.length };
    const T = c.length;
    assert.equal(got.length, c.heads * count * T);
    let worst = 0;
    let largestLogit = 0;
    for (let h = 0; h < c.heads; h++) {
      for (let r = 0; r < count; r++) {
        const i = first + r;
        for (let j = 0; j < T; j++) {
          const x = got[(h * count + r) * T + j];
          const want = whole[(h * T + i) * T + j];
          if (!c.causal || j <= i) largestLogit = Math.max(largestLogit, Math.abs(logit(inputs, h, i, j)));
          if (c.causal && j > i) assert.equal(x, 0, `head ${h} row ${i} key ${j}: a masked weight is ${x}`);
          worst = Math.max(worst, Math.abs(x - want) || (Number.isNaN(x) ? Infinity : 0));
        }
      }
    }
    // float32 rounds a logit to within a few ulps of its size, and a logit off by δ moves its probability p
    // by at most 2δ·p: so 2e-6 (what kernel and reference agree within at logits up to 10, the scaled
    // cases) grows with the largest logit.
    const tolerance = 2e-6 * Math.max(1, largestLogit / 10);
    console.log(`# ${name}: max |kernel − reference| = ${worst.toExponential(2)} (largest |logit| ${largestLogit.toFixed(1)}, tolerance ${tolerance.toExponential(1)})`);
    assert.ok(worst <= tolerance, `max |kernel − reference| = ${worst}, tolerance ${tolerance}`);
    assert.deepEqual(page.errors, []);
  });
}

const ENGINE_LENGTH = Number(process.env.ATTENTION_MAPS_LENGTH ?? 256);

test(`in the engine at T = ${ENGINE_LENGTH}: the kernel's maps equal ORT's graph and wasm in Node; both derive times side by side`, { timeout: 900_000 }, async () => {
  const T = ENGINE_LENGTH;
  const ids = Array.from({ length: T }, (_, i) => (i * 7919 + 13) % 4096);
  ort.env.wasm.numThreads = 1;
  const model = await loadModelFolderFromDisk(join(REPO_ROOT, 'media/models/tinycode-4l8h-1k'));
  const node = await DecoderInspector.create({ model, ort, executionProvider: 'wasm' });
  const expected = (await node.inspect(ids)).attention;
  await node.release();
  const inspect = (maps: MapsDeriverKind) => {
    const req: HeadlessRequest = { modelBase: '/media/models/tinycode-4l8h-1k/', ortBase: '/dist/ort/', ids, maps };
    return page.evaluate((q) => (globalThis as unknown as { inspectHeadless: (q: HeadlessRequest) => Promise<HeadlessResult> }).inspectHeadless(q), req);
  };
  const times: Record<MapsDeriverKind, number[]> = { kernel: [], onnxruntime: [] };
  const results = new Map<MapsDeriverKind, HeadlessResult>();
  // Alternating, after one warm-up each (engine, sessions and pipelines made), so both see the same load.
  for (const round of [0, 1, 2]) {
    for (const kind of ['kernel', 'onnxruntime'] as const) {
      const r = await inspect(kind);
      assert.equal(r.provider.name, 'webgpu');
      assert.equal(r.provider.maps, kind);
      if (round > 0) times[kind].push(r.timingsMs.maps!);
      results.set(kind, r);
    }
  }
  const worst = (a: string[], b: Float32Array[]) => Math.max(...a.map((x, l) => maxAbsDiff(float32FromBase64(x), b[l]!)));
  const kernel = results.get('kernel')!.attention;
  const vsOrt = worst(kernel, results.get('onnxruntime')!.attention.map(float32FromBase64));
  const vsWasm = worst(kernel, expected);
  const ms = (k: MapsDeriverKind) => times[k].map((t) => `${t.toFixed(0)} ms`).join(', ');
  const ratio = times.kernel.reduce((s, t) => s + t, 0) / times.onnxruntime.reduce((s, t) => s + t, 0);
  console.log(`# maps of 4 layers × 8 heads at T = ${T} on SwiftShader: kernel ${ms('kernel')}; onnxruntime ${ms('onnxruntime')}; ratio ${ratio.toFixed(2)}`);
  console.log(`# kernel vs onnxruntime (WebGPU) ${vsOrt.toExponential(2)}, vs wasm in Node ${vsWasm.toExponential(2)}`);
  assert.ok(vsOrt <= 1e-5, `kernel vs onnxruntime on WebGPU: ${vsOrt}`);
  assert.ok(vsWasm <= 1e-4, `kernel vs wasm in Node: ${vsWasm}`);
  assert.deepEqual(page.errors, []);
});
