#!/usr/bin/python3
"""Builds the forward-pass fixtures (test/fixtures/forward/) from the plain PyTorch reference.

    /usr/bin/python3 test/reference/make_forward_fixtures.py

Token ids come from the independent Python BPE (test/reference/bpe_reference.py); the forward pass is
test/reference/gpt2_reference.py in float64 from the model's fp16 weights. Writes cases.json (text,
ids, per-position loss, top-5) and, per case, <name>.attention.npy (float32, (L, H, T, T)) and
<name>.logits.npy (float32, the logits rows listed in cases.json).
"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bpe_reference import Encoder  # noqa: E402
from gpt2_reference import Gpt2Reference, loss_and_top  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
MODEL = os.path.join(ROOT, 'media', 'models', 'tinycode-4l8h-1k')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'forward')
MAX_TOKENS = 64

CASES = [
    ('typescript', 'export function clamp(x: number, lo = 0, hi = 1): number {\n  return Math.min(hi, Math.max(lo, x));\n}\n'),
    ('python', 'def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n'),
    ('english', "It's a truth universally acknowledged that we'll need tests; they're cheap."),
    ('accented-cjk', 'Crème brûlée, naïve. 注意力机制。'),
    ('emoji', 'Family: 👨\u200d👩\u200d👧\u200d👦 flags 🇫🇷 thumbs 👍🏽 and ❤️ done'),
    ('repeated', 'for (let i = 0; i < n; i++) s += a[i];\n' * 3),
    ('whitespace', 'a\n\n    \n\t\tb\t \n   \n\n  x  \n \t'),
]


def main():
    with open(os.path.join(MODEL, 'vocab.json'), encoding='utf-8') as f:
        vocab = json.load(f)
    with open(os.path.join(MODEL, 'merges.txt'), encoding='utf-8') as f:
        merges = [tuple(l.split(' ')) for l in f.read().split('\n')[1:] if l]
    enc = Encoder(vocab, merges)
    model = Gpt2Reference.load(MODEL, torch.float64)
    os.makedirs(OUT, exist_ok=True)
    cases = []
    for name, text in CASES:
        ids = enc.encode(text)
        assert 2 <= len(ids) <= MAX_TOKENS, f'{name}: {len(ids)} tokens'
        logits, attentions = model.forward(ids)
        nll, top_ids, top_probs = loss_and_top(logits, ids)
        T = len(ids)
        rows = sorted({0, T // 2, T - 1})
        np.save(os.path.join(OUT, f'{name}.attention.npy'), torch.stack(attentions).numpy().astype(np.float32))
        np.save(os.path.join(OUT, f'{name}.logits.npy'), logits[rows].numpy().astype(np.float32))
        cases.append({
            'name': name,
            'text': text,
            'ids': ids,
            'logitRows': rows,
            'loss': [None if np.isnan(x) else float(x) for x in nll],
            'top': [{'ids': [int(i) for i in ti], 'probs': [float(p) for p in tp]} for ti, tp in zip(top_ids, top_probs)],
        })
        print(f'{name}: {T} tokens')
    with open(os.path.join(OUT, 'cases.json'), 'w', encoding='utf-8') as f:
        json.dump({'generator': 'test/reference/make_forward_fixtures.py', 'model': 'tinycode-4l8h-1k', 'precision': 'float64 from fp16 weights', 'cases': cases}, f, ensure_ascii=False, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
