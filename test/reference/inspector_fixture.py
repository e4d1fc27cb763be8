#!/usr/bin/python3
"""Builds test/fixtures/inspector/sample.json for the inspector panel's browser test: a short code
snippet with a repeated line, its ids (independent BPE, bpe_reference.py), and from the independent
PyTorch forward pass (gpt2_reference.py, fp64) for every layer and head: each query row's strongest key
and its weight, and the margin to the runner-up (rows with a small margin are ambiguous once drawn in
8-bit colour). Also the per-token loss. Run with Debian's python3:
    /usr/bin/python3 test/reference/inspector_fixture.py
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bpe_reference import MODEL, ROOT, Encoder  # noqa: E402
from gpt2_reference import Gpt2Reference, loss_and_top  # noqa: E402

OUT = os.path.join(ROOT, 'test', 'fixtures', 'inspector', 'sample.json')
TEXT = 'def add(a, b):\n    return a + b\n\ndef add(a, b):\n    return a + b\n'


def main():
    with open(os.path.join(MODEL, 'vocab.json'), encoding='utf-8') as f:
        vocab = json.load(f)
    with open(os.path.join(MODEL, 'merges.txt'), encoding='utf-8') as f:
        merges = [tuple(l.split(' ')) for l in f.read().split('\n')[1:] if l]
    ids = Encoder(vocab, merges).encode(TEXT)
    model = Gpt2Reference.load(MODEL, dtype=torch.float64)
    logits, attentions = model.forward(ids)
    nll, _, _ = loss_and_top(logits, ids)
    heads = []
    for l, a in enumerate(attentions):
        for h in range(a.shape[0]):
            top2 = a[h].topk(2, dim=-1)
            heads.append({
                'layer': l,
                'head': h,
                'argmax': top2.indices[:, 0].tolist(),
                'max': [round(v, 6) for v in top2.values[:, 0].tolist()],
                'margin': [round(v, 6) for v in (top2.values[:, 0] - top2.values[:, 1]).tolist()],
            })
    with open(OUT, 'w', encoding='utf-8') as f:
        json.dump({'generator': 'test/reference/inspector_fixture.py', 'model': 'tinycode-4l8h-1k', 'text': TEXT, 'ids': ids,
                   'loss': [None if v != v else round(float(v), 6) for v in nll], 'heads': heads}, f, ensure_ascii=False)
        f.write('\n')
    print(f'wrote {len(ids)} tokens, {len(heads)} heads to {os.path.relpath(OUT, ROOT)}')


if __name__ == '__main__':
    main()
