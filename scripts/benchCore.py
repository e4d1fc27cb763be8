#!/usr/bin/python3
"""PyTorch side of `npm run bench:core`: a worker that times the reference GPT-2 forward pass
(test/reference/gpt2_reference.py, fp32, eager attention returning every layer's probabilities).
argv: model folder, thread count. stdin: one sequence length per line; stdout: one JSON line per request."""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'reference'))
from gpt2_reference import Gpt2Reference  # noqa: E402

model = Gpt2Reference.load(sys.argv[1], torch.float32)
torch.set_num_threads(int(sys.argv[2]))
vocab = model.w['wte.weight'].shape[0]


def blas_library():
    # The BLAS actually loaded (Debian's torch calls the system libblas.so.3: reference BLAS unless another is preloaded).
    with open('/proc/self/maps') as f:
        libs = {line.split()[-1] for line in f if 'blas' in line.lower() and '/' in line}
    return ', '.join(sorted(os.path.realpath(l) for l in libs)) or 'unknown'


print(json.dumps({'ready': True, 'torch': torch.__version__, 'threads': torch.get_num_threads(), 'blas': blas_library()}), flush=True)
for line in sys.stdin:
    T = int(line)
    ids = [(i * 7919 + 13) % vocab for i in range(T)]
    t0 = time.perf_counter()
    logits, attentions = model.forward(ids)
    ms = (time.perf_counter() - t0) * 1000
    print(json.dumps({'T': T, 'ms': ms, 'layers': len(attentions)}), flush=True)
