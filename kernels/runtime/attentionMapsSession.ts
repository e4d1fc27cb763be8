/**
 * Derives attention maps (kernels/inspect/attentionMaps.ts) with the weightless maps graph on an
 * injected ORT: one small session per mask setting, made on first use.
 */
import type * as Ort from 'onnxruntime-web';
import { buildAttentionMapsGraph } from '../graph/attentionGraph.js';
import type { AttentionInputs, AttentionMapsDeriver, QueryRows } from '../inspect/attentionMaps.js';

export class AttentionMapsSession implements AttentionMapsDeriver {
  private readonly sessions = new Map<boolean, Promise<Ort.InferenceSession>>();

  constructor(
    private readonly ort: typeof Ort,
    private readonly executionProvider: 'wasm' | 'webgpu',
  ) {}

  private session(causal: boolean): Promise<Ort.InferenceSession> {
    let s = this.sessions.get(causal);
    if (!s) {
      s = this.ort.InferenceSession.create(buildAttentionMapsGraph(causal), { executionProviders: [this.executionProvider], logSeverityLevel: 3 });
      s.catch(() => this.sessions.delete(causal));
      this.sessions.set(causal, s);
    }
    return s;
  }

  /** A causal block is computed over the keys up to its last row only; the later keys' weights are exactly 0 either way. */
  async derive(a: AttentionInputs, rows: QueryRows = { first: 0, count: a.length }): Promise<Float32Array> {
    const session = await this.session(a.causal);
    const { heads: H, length: T, headDim: dh } = a;
    const { first, count: R } = rows;
    const K = a.causal ? first + R : T;
    const whole = R === T && K === T;
    const pick = (x: Float32Array, from: number, n: number) => {
      if (whole) return x;
      const out = new Float32Array(H * n * dh);
      for (let h = 0; h < H; h++) out.set(x.subarray((h * T + from) * dh, (h * T + from + n) * dh), h * n * dh);
      return out;
    };
    const feeds: Record<string, Ort.Tensor> = {
      q: new this.ort.Tensor('float32', pick(a.q, first, R), [H, R, dh]),
      k: new this.ort.Tensor('float32', pick(a.k, 0, K), [H, K, dh]),
      scale: new this.ort.Tensor('float32', Float32Array.of(a.scale), []),
    };
    if (a.causal) feeds.first = new this.ort.Tensor('int64', BigInt64Array.of(BigInt(first)), []);
    const { probs } = await session.run(feeds, ['probs']);
    for (const t of Object.values(feeds)) t.dispose();
    const p = probs.data as Float32Array;
    if (K === T) return p;
    const out = new Float32Array(H * R * T);
    for (let r = 0; r < H * R; r++) out.set(p.subarray(r * K, (r + 1) * K), r * T);
    return out;
  }

  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map(async (s) => (await s.catch(() => undefined))?.release()));
  }
}
