#!/usr/bin/python3
"""A plain NumPy float32 GPT-2 forward pass that keeps every attention map: the yardstick of
`npm run bench:cli` (scripts/benchCliScale.ts). Reads config.json and model.safetensors of a Hugging Face
GPT-2 folder (fp16/fp32 weights widened to fp32), runs the ids in IDS_JSON, and keeps what
`attention-inspector inspect` produces: all L × H × T × T probabilities, the per-position loss and top-5.
Usage: numpyForward.py MODEL_DIR IDS_JSON
"""
import json
import math
import struct
import sys
import time
from pathlib import Path

import numpy as np


def read_safetensors(path):
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    dtypes = {"F32": np.float32, "F16": np.float16}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        arr = np.frombuffer(data, dtype=dtypes[info["dtype"]], count=(end - start) // np.dtype(dtypes[info["dtype"]]).itemsize, offset=8 + n + start)
        key = name[len("transformer.") :] if name.startswith("transformer.") else name
        out[key] = arr.astype(np.float32).reshape(info["shape"])
    return out


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu_new(x):
    return 0.5 * x * (1.0 + np.tanh(np.float32(math.sqrt(2.0 / math.pi)) * (x + np.float32(0.044715) * x**3)))


def main():
    folder, ids_file = Path(sys.argv[1]), sys.argv[2]
    t0 = time.perf_counter()
    config = json.loads((folder / "config.json").read_text())
    w = read_safetensors(folder / "model.safetensors")
    ids = np.array(json.loads(Path(ids_file).read_text()), dtype=np.int64)
    t1 = time.perf_counter()
    L, H, D = config["n_layer"], config["n_head"], config["n_embd"]
    eps = np.float32(config.get("layer_norm_epsilon", 1e-5))
    T, dh = len(ids), D // H
    x = w["wte.weight"][ids] + w["wpe.weight"][:T]
    future = np.triu(np.ones((T, T), dtype=bool), 1)
    maps = []
    for l in range(L):
        p = f"h.{l}."
        qkv = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps) @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = (t.reshape(T, H, dh).transpose(1, 0, 2) for t in np.split(qkv, 3, axis=-1))
        scores = (q @ k.transpose(0, 2, 1)) * np.float32(1 / math.sqrt(dh))
        scores[:, future] = -np.inf
        scores -= scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        maps.append(probs)
        ctx = (probs @ v).transpose(1, 0, 2).reshape(T, D)
        x = x + ctx @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = gelu_new(layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps) @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        x = x + h @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    logits = layer_norm(x, w["ln_f.weight"], w["ln_f.bias"], eps) @ w["wte.weight"].T
    logits -= logits.max(-1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    loss = -logp[np.arange(T - 1), ids[1:]]
    part = np.argpartition(-logp, 5, axis=-1)[:, :5]
    top = np.take_along_axis(part, np.argsort(-np.take_along_axis(logp, part, -1), -1), -1)
    t2 = time.perf_counter()
    print(json.dumps({"loadS": t1 - t0, "forwardS": t2 - t1, "maps": len(maps), "meanLoss": float(loss.mean()), "top0": int(top[0, 0])}))


if __name__ == "__main__":
    main()
