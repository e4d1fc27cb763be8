"""An independent GPT-2 forward pass in plain PyTorch (no transformers package), for fixtures and the
benchmark. Reads a Hugging Face GPT-2 folder directly: config.json and model.safetensors (header parsed
here), weights converted to fp32, computation in fp32 (or fp64 for fixtures), eager attention that
returns the probabilities of every layer.

Usage as a library: `model = Gpt2Reference.load(folder)`, `logits, attentions = model.forward(ids)`;
`model.forward(ids, ablate=({(layer, head), ...}, "zero" | "mean"))` replaces those heads' outputs (their
context vectors, before c_proj) by 0 or by their mean over the positions.

As a script: `python3 test/reference/gpt2_reference.py MODEL_DIR IDS_JSON OUT_DIR [ABLATION_JSON]` writes
attention.npy (float32, (L, H, T, T)) and nll.npy (float32, (T-1,)) of the fp64 forward;
ABLATION_JSON is `{"heads": [[layer, head], ...], "mode": "zero" | "mean"}`.
"""
import json
import math
import os
import struct
import sys
from pathlib import Path

import numpy as np
import torch

DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None}


def read_safetensors(path):
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = data[base + start : base + end]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            arr = bits.view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=DTYPES[info["dtype"]])
        key = name[len("transformer.") :] if name.startswith("transformer.") else name
        tensors[key] = arr.astype(np.float32).reshape(info["shape"])
    return tensors


class Gpt2Reference:
    def __init__(self, config, weights, dtype=torch.float32):
        self.n_layer = config["n_layer"]
        self.n_head = config["n_head"]
        self.n_embd = config["n_embd"]
        self.eps = config.get("layer_norm_epsilon", 1e-5)
        self.activation = config.get("activation_function", "gelu_new")
        self.w = {k: torch.from_numpy(v.copy()).to(dtype) for k, v in weights.items()}

    @classmethod
    def load(cls, folder, dtype=torch.float32):
        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text())
        return cls(config, read_safetensors(folder / "model.safetensors"), dtype)

    def _ln(self, x, prefix):
        return torch.nn.functional.layer_norm(x, (self.n_embd,), self.w[prefix + ".weight"], self.w[prefix + ".bias"], self.eps)

    def _linear(self, x, prefix):
        return x @ self.w[prefix + ".weight"] + self.w[prefix + ".bias"]

    def _gelu(self, x):
        if self.activation == "gelu_new":
            return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))

    @torch.no_grad()
    def forward(self, ids, ablate=None):
        """ids: sequence of ints; ablate: (set of (layer, head), mode) or None. Returns logits (T, V) and a
        list of L attention tensors (H, T, T)."""
        T = len(ids)
        H, D = self.n_head, self.n_embd
        dh = D // H
        ids_t = torch.tensor(ids, dtype=torch.long)
        x = self.w["wte.weight"][ids_t] + self.w["wpe.weight"][:T]
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        attentions = []
        for l in range(self.n_layer):
            p = f"h.{l}"
            qkv = self._linear(self._ln(x, p + ".ln_1"), p + ".attn.c_attn")
            q, k, v = qkv.split(D, dim=-1)
            q, k, v = (t.reshape(T, H, dh).transpose(0, 1) for t in (q, k, v))
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(dh)
            scores = scores.masked_fill(~causal, float("-inf"))
            probs = torch.softmax(scores, dim=-1)
            attentions.append(probs)
            ctx = ablate_heads(probs @ v, l, ablate).transpose(0, 1).reshape(T, D)
            x = x + self._linear(ctx, p + ".attn.c_proj")
            h = self._gelu(self._linear(self._ln(x, p + ".ln_2"), p + ".mlp.c_fc"))
            x = x + self._linear(h, p + ".mlp.c_proj")
        logits = self._ln(x, "ln_f") @ self.w["wte.weight"].T
        return logits, attentions


def ablate_heads(ctx, layer, ablate):
    """ctx (..., H, T, dh): each head's output before the output projection; the heads of `layer` in
    `ablate` set to 0 (mode zero) or to their mean over the positions T (mode mean)."""
    if ablate is None:
        return ctx
    heads, mode = ablate
    ctx = ctx.clone()
    for l, h in heads:
        if l == layer:
            ctx[..., h, :, :] = 0 if mode == "zero" else ctx[..., h, :, :].mean(dim=-2, keepdim=True)
    return ctx


def read_ablation(path):
    """ABLATION_JSON → the `ablate` argument of the forwards."""
    with open(path, encoding="utf-8") as f:
        spec = json.load(f)
    return {tuple(x) for x in spec["heads"]}, spec.get("mode", "zero")


def loss_and_top(logits, ids, k=5):
    """nll[t] = -log p(ids[t+1] | ids[<=t]) for t < T-1 (NaN at T-1); top-k ids and probabilities per position."""
    logp = torch.log_softmax(logits.double(), dim=-1)
    T = len(ids)
    nll = torch.full((T,), float("nan"), dtype=torch.float64)
    if T > 1:
        nll[:-1] = -logp[torch.arange(T - 1), torch.tensor(ids[1:])]
    top_lp, top_ids = logp.topk(k, dim=-1)
    return nll.numpy(), top_ids.numpy(), top_lp.exp().numpy()


def main():
    model_dir, ids_file, out = sys.argv[1:4]
    ablate = read_ablation(sys.argv[4]) if len(sys.argv) > 4 else None
    with open(ids_file, encoding="utf-8") as f:
        ids = json.load(f)
    logits, attentions = Gpt2Reference.load(model_dir, torch.float64).forward(ids, ablate)
    nll, _, _ = loss_and_top(logits, ids)
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "attention.npy"), torch.stack(attentions).numpy().astype(np.float32))
    np.save(os.path.join(out, "nll.npy"), nll[:-1].astype(np.float32))


if __name__ == "__main__":
    main()
