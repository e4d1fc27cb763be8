// The standalone attention graphs (manual and fused, causal and not, fp32 and fp16) on ORT-web's wasm
// backend against the TS reference attention.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-web';
import { buildAttentionGraph } from '../../kernels/graph/attentionGraph.js';
import { fromHalfArray, toHalfArray } from '../../kernels/flash/half.js';
import { elementCount, maxAbsDiff, randomInputs, referenceAttention } from '../../kernels/flash/reference.js';

ort.env.wasm.numThreads = 1;

for (const kind of ['manual', 'fused'] as const) {
  for (const causal of [true, false]) {
    for (const dtype of ['fp32', 'fp16'] as const) {
      test(`${kind} ${causal ? 'causal' : 'full'} ${dtype} attention graph matches the reference`, async () => {
        const shape = { batch: 2, heads: 3, seqLen: 13, headDim: 16, causal };
        const n = elementCount(shape);
        const [q, k, v] = [1, 2, 3].map((s) => randomInputs(n, s));
        const session = await ort.InferenceSession.create(buildAttentionGraph({ ...shape, dtype, kind }));
        const dims = [shape.batch, shape.heads, shape.seqLen, shape.headDim];
        const feed = (x: Float32Array) => (dtype === 'fp16' ? new ort.Tensor('float16', toHalfArray(x), dims) : new ort.Tensor('float32', x, dims));
        const { O } = await session.run({ Q: feed(q), K: feed(k), V: feed(v) });
        const out = dtype === 'fp16' ? fromHalfArray(O.data as Uint16Array) : (O.data as Float32Array);
        assert.deepEqual(O.dims, dims);
        assert.ok(maxAbsDiff(out, referenceAttention(q, k, v, shape)) < (dtype === 'fp16' ? 5e-3 : 1e-6));
        await session.release();
      });
    }
  }
}
