import type { DecoderConfig } from './decoder';
import { ModelFileError } from './errors';
import { familyOf } from './families/index';
import type { LinearTensors, NormTensors } from './families/family';
import type { ModelWeights, WeightTensor } from './types';
import { toFloat32 } from './weightData';

/** The separate unembedding's name in every family's checkpoint. */
const LM_HEAD = 'lm_head.weight';

/** Every tensor the forward pass needs, under its canonical name, with the shape the config implies. */
export function expectedShapes(config: DecoderConfig): Map<string, number[]> {
  const t = familyOf(config.family).tensors(config);
  const shapes = new Map<string, number[]>([[t.embed, [config.vocabSize, config.nEmbd]]]);
  if (t.positions) shapes.set(t.positions, [config.nPositions, config.nEmbd]);
  const linear = (l: LinearTensors | undefined): void => {
    if (!l) return;
    shapes.set(l.weight, l.layout === 'in-out' ? [l.inDim, l.outDim] : [l.outDim, l.inDim]);
    if (l.bias) shapes.set(l.bias, [l.outDim]);
  };
  const norm = (n: NormTensors | undefined): void => {
    if (!n) return;
    shapes.set(n.weight, [n.dim]);
    if (n.bias) shapes.set(n.bias, [n.dim]);
  };
  for (const layer of t.layers) {
    norm(layer.attnNorm);
    if ('fused' in layer.qkv) linear(layer.qkv.fused);
    else for (const p of [layer.qkv.q, layer.qkv.k, layer.qkv.v]) linear(p);
    norm(layer.qNorm);
    norm(layer.kNorm);
    linear(layer.o);
    norm(layer.mlpNorm);
    linear(layer.gate);
    linear(layer.up);
    linear(layer.down);
  }
  norm(t.finalNorm);
  if (t.unembed !== t.embed) shapes.set(t.unembed, [config.vocabSize, config.nEmbd]);
  return shapes;
}

/**
 * Maps a checkpoint's tensors to their canonical names (the family's, e.g. GPT-2's without the
 * `transformer.` prefix) and checks them:
 * - buffers that are not weights (the family says which) are ignored;
 * - with tied embeddings, `lm_head.weight` is accepted only when it holds the same values as the
 *   embedding, then dropped;
 * - every expected tensor must be present with exactly the expected shape; anything else is an error.
 */
export function canonicalWeights(tensors: ReadonlyMap<string, WeightTensor>, config: DecoderConfig, file = 'model.safetensors'): ModelWeights {
  const family = familyOf(config.family);
  const expected = expectedShapes(config);
  const embed = family.tensors(config).embed;
  const out = new Map<string, WeightTensor>();
  let tiedHead: WeightTensor | undefined;
  for (const [stored, tensor] of tensors) {
    const name = family.canonicalName(stored, config);
    if (name === null) continue;
    if (name === LM_HEAD && config.tiedEmbeddings && !expected.has(name)) {
      tiedHead = tensor;
      continue;
    }
    const shape = expected.get(name);
    if (!shape) throw new ModelFileError('unexpected-tensor', file, `is not part of ${family.title} with ${config.nLayer} layers`, stored);
    if (out.has(name)) throw new ModelFileError('unexpected-tensor', file, `is stored twice (under two names that mean the same tensor)`, stored);
    if (!sameShape(tensor.shape, shape)) {
      throw new ModelFileError('bad-shape', file, `has shape [${tensor.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`, stored);
    }
    out.set(name, tensor);
  }
  for (const name of expected.keys()) {
    if (!out.has(name)) throw new ModelFileError('missing-tensor', file, 'is missing', name);
  }
  if (tiedHead) checkTiedHead(tiedHead, out.get(embed)!, embed, file);
  return out;
}

function checkTiedHead(head: WeightTensor, embedding: WeightTensor, embed: string, file: string): void {
  if (!sameShape(head.shape, embedding.shape)) {
    throw new ModelFileError('bad-shape', file, `has shape [${head.shape.join(', ')}] but ${embed} has [${embedding.shape.join(', ')}]`, LM_HEAD);
  }
  const tied = head.dtype === embedding.dtype ? sameBytes(head.data, embedding.data) : sameValues(toFloat32(head), toFloat32(embedding));
  if (!tied) {
    throw new ModelFileError(
      'unexpected-tensor',
      file,
      `differs from ${embed}, but config.json ties the output embedding to the input embedding`,
      LM_HEAD,
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
