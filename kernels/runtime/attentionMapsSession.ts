/**
 * Derives attention maps (kernels/inspect/attentionMaps.ts) with the weightless maps graph on an
 * injected ORT: one small session per mask setting, made on first use.
 */
import type * as Ort from 'onnxruntime-web';
import { buildAttentionMapsGraph } from '../graph/attentionGraph.js';
import type { AttentionInputs } from '../inspect/attentionMaps.js';

export class AttentionMapsSession {
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

  /** (heads, length, length) probabilities of one layer. */
  async derive(a: AttentionInputs): Promise<Float32Array> {
    const session = await this.session(a.causal);
    const dims = [a.heads, a.length, a.headDim];
    const feeds = {
      q: new this.ort.Tensor('float32', a.q, dims),
      k: new this.ort.Tensor('float32', a.k, dims),
      scale: new this.ort.Tensor('float32', Float32Array.of(a.scale), []),
    };
    const { probs } = await session.run(feeds, ['probs']);
    for (const t of Object.values(feeds)) t.dispose();
    return probs.data as Float32Array;
  }

  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map(async (s) => (await s.catch(() => undefined))?.release()));
  }
}
