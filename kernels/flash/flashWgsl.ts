/**
 * The one WGSL source of our flash-attention kernel, generated for given tile sizes and head size.
 *
 * A workgroup owns `rows` query rows of one (batch, head). It keeps them in workgroup memory and
 * streams K/V tiles of `keys` keys past them: S = Q·Kᵀ for the tile, an online softmax (running
 * max and sum per row), then O += P·V. The (T,T) matrix is never stored; with `causal` the key loop
 * stops at the last query row of the workgroup, so tiles above the diagonal are never loaded, and
 * the workgroups take the query blocks last-first so the heaviest start first. With grouped-query
 * attention (K, V laid out (B, KV, T, dh)) a workgroup streams the K/V head its query head shares.
 *
 * Register tiling: threads form row groups of `threadsPerRow` threads; each thread holds
 * `rowsPerThread` query rows × (keys / threadsPerRow) scores of S and
 * `rowsPerThread` × (headDim / 4 / threadsPerRow) vec4 columns of the O accumulator.
 * The row max of each tile is reduced across the threads of a row group with subgroup shuffles
 * when `subgroups` is on, otherwise through workgroup memory. The row sum needs no per-tile
 * reduction: each thread keeps its partial sum, rescaled with the shared max, and the partials
 * are added once at the end.
 */

export type FlashPrecision = 'fp32' | 'fp16';

export interface FlashTiles {
  /** Query rows per workgroup. */
  rows: number;
  /** Keys per streamed K/V tile. */
  keys: number;
  /** Query rows held by one thread. */
  rowsPerThread: number;
  /** Threads sharing one group of query rows (split across keys and head columns). */
  threadsPerRow: number;
  /** Reduce the row max with subgroup shuffles (needs `threadsPerRow` ≤ the subgroup size). */
  subgroups: boolean;
}

export interface FlashShaderConfig extends FlashTiles {
  headDim: number;
  precision: FlashPrecision;
}

export class FlashConfigError extends Error {
  override name = 'FlashConfigError';
}

/** Threads per workgroup for a tile configuration. */
export function workgroupThreads(t: FlashTiles): number {
  return (t.rows / t.rowsPerThread) * t.threadsPerRow;
}

/** Bytes of workgroup memory the generated kernel declares. */
export function workgroupBytes(c: Pick<FlashShaderConfig, 'rows' | 'keys' | 'threadsPerRow' | 'subgroups' | 'headDim'>): number {
  const d4 = c.headDim / 4;
  const padded = d4 + 1;
  const vec4 = 16;
  const q = c.rows * padded * vec4;
  const k = c.keys * padded * vec4;
  const v = c.keys * d4 * vec4;
  const p = c.rows * (c.keys + 1) * 4;
  const red = c.subgroups || c.threadsPerRow === 1 ? 0 : c.rows * c.threadsPerRow * 4;
  return q + k + v + p + red;
}

/** Throws a FlashConfigError when the tile sizes cannot be used for this head size. */
export function validateFlashConfig(c: FlashShaderConfig): void {
  const d4 = c.headDim / 4;
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new FlashConfigError(`flash tiles ${JSON.stringify(c)}: ${what}`);
  };
  check(Number.isInteger(d4) && d4 > 0, 'head size must be a positive multiple of 4');
  check(c.rows % c.rowsPerThread === 0, 'rows must be a multiple of rowsPerThread');
  check(c.keys % c.threadsPerRow === 0, 'keys must be a multiple of threadsPerRow');
  check(d4 % c.threadsPerRow === 0, 'headDim/4 must be a multiple of threadsPerRow');
  check((c.threadsPerRow & (c.threadsPerRow - 1)) === 0, 'threadsPerRow must be a power of two');
}

/** Generates the WGSL compute shader (entry point `main`). */
export function flashAttentionWgsl(c: FlashShaderConfig): string {
  validateFlashConfig(c);
  const D4 = c.headDim / 4;
  const KPT = c.keys / c.threadsPerRow;
  const CPT = D4 / c.threadsPerRow;
  const RQ = c.rowsPerThread;
  const TC = c.threadsPerRow;
  const NT = workgroupThreads(c);
  const st = c.precision === 'fp16' ? 'f16' : 'f32';
  const enables = [c.precision === 'fp16' ? 'enable f16;' : '', c.subgroups ? 'enable subgroups;' : ''].filter(Boolean).join('\n');

  // One thread per row group holds whole rows: nothing to reduce.
  const reduce = TC > 1;
  const reduceMax = !reduce
    ? ''
    : c.subgroups
    ? `    for (var r = 0u; r < RQ; r++) {
      for (var off = 1u; off < TC; off <<= 1u) { mx[r] = max(mx[r], subgroupShuffleXor(mx[r], off)); }
    }`
    : `    for (var r = 0u; r < RQ; r++) { red[(rg * RQ + r) * TC + tc] = mx[r]; }
    workgroupBarrier();
    for (var r = 0u; r < RQ; r++) {
      for (var t = 0u; t < TC; t++) { mx[r] = max(mx[r], red[(rg * RQ + r) * TC + t]); }
    }`;
  const reduceSum = !reduce
    ? ''
    : c.subgroups
    ? `  for (var r = 0u; r < RQ; r++) {
    for (var off = 1u; off < TC; off <<= 1u) { l[r] += subgroupShuffleXor(l[r], off); }
  }`
    : `  workgroupBarrier();
  for (var r = 0u; r < RQ; r++) { red[(rg * RQ + r) * TC + tc] = l[r]; }
  workgroupBarrier();
  for (var r = 0u; r < RQ; r++) {
    var sum = 0.0;
    for (var t = 0u; t < TC; t++) { sum += red[(rg * RQ + r) * TC + t]; }
    l[r] = sum;
  }`;

  // The register-tile inner loops are written out with constant indices, so the per-thread arrays
  // can live in registers instead of indexed (local) memory.
  const range = (n: number) => [...Array(n).keys()];
  const scoreStep = [
    ...range(RQ).map((r) => `      let q${r} = qs[(rg * RQ + ${r}u) * QS + c];`),
    ...range(KPT).flatMap((kk) => [
      `      let k${kk} = ks[(tc + ${kk * TC}u) * QS + c];`,
      ...range(RQ).map((r) => `      s[${r * KPT + kk}] += dot(q${r}, k${kk});`),
    ]),
  ].join('\n');
  const valueStep = [
    ...range(CPT).map((cc) => `      let v${cc} = vs[j * D4 + tc + ${cc * TC}u];`),
    ...range(RQ).flatMap((r) => [
      `      let p${r} = ps[(rg * RQ + ${r}u) * PS + j];`,
      ...range(CPT).map((cc) => `      acc[${r * CPT + cc}] += p${r} * v${cc};`),
    ]),
  ].join('\n');

  return `${enables}
// flash attention: headDim ${c.headDim}, ${c.rows} rows × ${c.keys} keys per tile, ${RQ} rows/thread, ${TC} threads/row group, ${c.precision}${c.subgroups ? ', subgroups' : ''}
struct Params { seqLen: u32, causal: u32, scaleLog2: f32, group: u32 }
@group(0) @binding(0) var<storage, read> q: array<vec4<${st}>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<${st}>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<${st}>>;
@group(0) @binding(3) var<storage, read_write> o: array<vec4<${st}>>;
@group(0) @binding(4) var<uniform> params: Params;

const BR = ${c.rows}u;
const BC = ${c.keys}u;
const D4 = ${D4}u;
const QS = ${D4 + 1}u; // padded row stride of qs/ks (avoids bank conflicts)
const PS = ${c.keys + 1}u; // padded row stride of ps
const RQ = ${RQ}u;
const TC = ${TC}u;
const KPT = ${KPT}u;
const CPT = ${CPT}u;
const NT = ${NT}u;
const NEG = -3.0e38;

var<workgroup> qs: array<vec4<f32>, ${c.rows * (D4 + 1)}>;
var<workgroup> ks: array<vec4<f32>, ${c.keys * (D4 + 1)}>;
var<workgroup> vs: array<vec4<f32>, ${c.keys * D4}>;
var<workgroup> ps: array<f32, ${c.rows * (c.keys + 1)}>;
${c.subgroups || !reduce ? '' : `var<workgroup> red: array<f32, ${c.rows * TC}>;`}

@compute @workgroup_size(${NT})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let T = params.seqLen;
  let base = wg.y * T * D4;
  // Query heads per K/V head: workgroup row b·H + h reads K/V head b·KV + ⌊h / group⌋ = ⌊(b·H + h) / group⌋.
  let kvBase = (wg.y / params.group) * T * D4;
  // Heaviest query blocks first (under a causal mask the last rows see the most keys), so the
  // light blocks fill the last wave of workgroups instead of the heavy ones trailing alone.
  let q0 = ((T + BR - 1u) / BR - 1u - wg.x) * BR;
  let rg = lid / TC;
  let tc = lid % TC;

  for (var i = lid; i < BR * D4; i += NT) {
    let row = q0 + i / D4;
    var val = vec4<f32>(0.0);
    if (row < T) { val = vec4<f32>(q[base + row * D4 + i % D4]) * params.scaleLog2; }
    qs[(i / D4) * QS + i % D4] = val;
  }

  var m: array<f32, ${RQ}>;
  var l: array<f32, ${RQ}>;
  var acc: array<vec4<f32>, ${RQ * CPT}>;
  for (var r = 0u; r < RQ; r++) { m[r] = NEG; l[r] = 0.0; }
  for (var i = 0u; i < RQ * CPT; i++) { acc[i] = vec4<f32>(0.0); }

  var kEnd = T;
  if (params.causal != 0u) { kEnd = min(T, q0 + BR); }
  for (var k0 = 0u; k0 < kEnd; k0 += BC) {
    workgroupBarrier();
    for (var i = lid; i < BC * D4; i += NT) {
      let key = k0 + i / D4;
      var kv = vec4<f32>(0.0);
      var vv = vec4<f32>(0.0);
      if (key < T) {
        kv = vec4<f32>(k[kvBase + key * D4 + i % D4]);
        vv = vec4<f32>(v[kvBase + key * D4 + i % D4]);
      }
      ks[(i / D4) * QS + i % D4] = kv;
      vs[i] = vv;
    }
    workgroupBarrier();

    var s: array<f32, ${RQ * KPT}>;
    for (var i = 0u; i < RQ * KPT; i++) { s[i] = 0.0; }
    for (var c = 0u; c < D4; c++) {
${scoreStep}
    }

    var mx: array<f32, ${RQ}>;
    for (var r = 0u; r < RQ; r++) {
      let qRow = q0 + rg * RQ + r;
      mx[r] = NEG;
      for (var kk = 0u; kk < KPT; kk++) {
        let key = k0 + tc + kk * TC;
        if (key >= T || (params.causal != 0u && key > qRow)) { s[r * KPT + kk] = NEG; }
        mx[r] = max(mx[r], s[r * KPT + kk]);
      }
    }
${reduceMax}

    for (var r = 0u; r < RQ; r++) {
      let mNew = max(m[r], mx[r]);
      let alpha = exp2(m[r] - mNew);
      m[r] = mNew;
      l[r] *= alpha;
      for (var cc = 0u; cc < CPT; cc++) { acc[r * CPT + cc] *= alpha; }
      for (var kk = 0u; kk < KPT; kk++) {
        let p = exp2(s[r * KPT + kk] - mNew);
        l[r] += p;
        ps[(rg * RQ + r) * PS + tc + kk * TC] = p;
      }
    }
    workgroupBarrier();

    for (var j = 0u; j < BC; j++) {
${valueStep}
    }
  }

${reduceSum}
  for (var r = 0u; r < RQ; r++) {
    let row = q0 + rg * RQ + r;
    if (row < T) {
      let inv = 1.0 / l[r];
      for (var cc = 0u; cc < CPT; cc++) {
        o[base + row * D4 + tc + cc * TC] = vec4<${st}>(acc[r * CPT + cc] * inv);
      }
    }
  }
}
`;
}
