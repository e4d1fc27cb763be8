import { ModelFileError } from './errors';
import type { Gpt2Config, Gpt2Weights, WeightTensor } from './types';
import { toFloat32 } from './weightData';

/**
 * Every tensor a GPT-2 forward pass needs, under its canonical name, with the shape the config implies.
 * Linear weights are Conv1D, stored (in, out).
 */
export function expectedGpt2Shapes(config: Gpt2Config): Map<string, number[]> {
  const D = config.nEmbd;
  const shapes = new Map<string, number[]>([
    ['wte.weight', [config.vocabSize, D]],
    ['wpe.weight', [config.nPositions, D]],
  ]);
  for (let i = 0; i < config.nLayer; i++) {
    const p = `h.${i}.`;
    shapes.set(`${p}ln_1.weight`, [D]);
    shapes.set(`${p}ln_1.bias`, [D]);
    shapes.set(`${p}attn.c_attn.weight`, [D, 3 * D]);
    shapes.set(`${p}attn.c_attn.bias`, [3 * D]);
    shapes.set(`${p}attn.c_proj.weight`, [D, D]);
    shapes.set(`${p}attn.c_proj.bias`, [D]);
    shapes.set(`${p}ln_2.weight`, [D]);
    shapes.set(`${p}ln_2.bias`, [D]);
    shapes.set(`${p}mlp.c_fc.weight`, [D, config.nInner]);
    shapes.set(`${p}mlp.c_fc.bias`, [config.nInner]);
    shapes.set(`${p}mlp.c_proj.weight`, [config.nInner, D]);
    shapes.set(`${p}mlp.c_proj.bias`, [D]);
  }
  shapes.set('ln_f.weight', [D]);
  shapes.set('ln_f.bias', [D]);
  return shapes;
}

/** The causal-mask buffers older `transformers` versions save; the graph builds its own mask. */
const MASK_BUFFER = /^h\.(\d+)\.attn\.(bias|masked_bias)$/;

/**
 * Maps the tensors of a GPT-2 checkpoint to the canonical names of `Gpt2Weights` and checks them:
 * - a `transformer.` prefix is stripped (a name present both with and without it is an error);
 * - `h.{i}.attn.bias` / `h.{i}.attn.masked_bias` mask buffers are ignored;
 * - `lm_head.weight` is accepted only when it holds the same values as `wte.weight` (the
 *   unembedding is always tied), then dropped; an untied head is refused;
 * - every expected tensor must be present with exactly the expected shape; anything else is an error.
 */
export function canonicalGpt2Weights(
  tensors: ReadonlyMap<string, WeightTensor>,
  config: Gpt2Config,
  file = 'model.safetensors',
): Gpt2Weights {
  const expected = expectedGpt2Shapes(config);
  const out = new Map<string, WeightTensor>();
  let lmHead: WeightTensor | undefined;
  for (const [stored, tensor] of tensors) {
    const name = stored.startsWith('transformer.') ? stored.slice('transformer.'.length) : stored;
    const mask = MASK_BUFFER.exec(name);
    if (mask && Number(mask[1]) < config.nLayer) continue;
    if (name === 'lm_head.weight' && stored === name) {
      lmHead = tensor;
      continue;
    }
    const shape = expected.get(name);
    if (!shape) {
      throw new ModelFileError('unexpected-tensor', file, `is not part of a GPT-2 model with ${config.nLayer} layers`, stored);
    }
    if (out.has(name)) {
      throw new ModelFileError('unexpected-tensor', file, `is stored twice (with and without the "transformer." prefix)`, stored);
    }
    if (!sameShape(tensor.shape, shape)) {
      throw new ModelFileError(
        'bad-shape',
        file,
        `has shape [${tensor.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`,
        stored,
      );
    }
    out.set(name, tensor);
  }
  for (const name of expected.keys()) {
    if (!out.has(name)) throw new ModelFileError('missing-tensor', file, 'is missing', name);
  }
  if (lmHead) checkTiedHead(lmHead, out.get('wte.weight')!, file);
  return out;
}

function checkTiedHead(head: WeightTensor, wte: WeightTensor, file: string): void {
  if (!sameShape(head.shape, wte.shape)) {
    throw new ModelFileError('bad-shape', file, `has shape [${head.shape.join(', ')}] but wte.weight has [${wte.shape.join(', ')}]`, 'lm_head.weight');
  }
  const tied =
    head.dtype === wte.dtype ? sameBytes(head.data, wte.data) : sameValues(toFloat32(head), toFloat32(wte));
  if (!tied) {
    throw new ModelFileError(
      'unexpected-tensor',
      file,
      'differs from wte.weight; only models whose output embedding is tied to the input embedding are supported',
      'lm_head.weight',
    );
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i] || (Number.isNaN(v) && Number.isNaN(b[i])));
}
