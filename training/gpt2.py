"""GPT-2 (pre-LN, learned positions, gelu_new, tied embeddings, biases) and its Hugging Face folder layout.

The module keeps nn.Linear weights as (out, in); export transposes them to the Conv1D (in, out)
orientation that `GPT2LMHeadModel.save_pretrained` writes, and import transposes them back.
"""
import json
import math
import os
import struct
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Gpt2Config:
    vocab_size: int = 4096
    n_positions: int = 1024
    n_embd: int = 256
    n_layer: int = 4
    n_head: int = 8
    n_inner: int = 1024
    layer_norm_epsilon: float = 1e-5
    eot_id: int = 4095

    def to_hf(self):
        """config.json in the layout of the embedded model's."""
        return {
            "architectures": ["GPT2LMHeadModel"],
            "model_type": "gpt2",
            "vocab_size": self.vocab_size,
            "n_positions": self.n_positions,
            "n_ctx": self.n_positions,
            "n_embd": self.n_embd,
            "n_layer": self.n_layer,
            "n_head": self.n_head,
            "n_inner": None if self.n_inner == 4 * self.n_embd else self.n_inner,
            "activation_function": "gelu_new",
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "resid_pdrop": 0.0,
            "embd_pdrop": 0.0,
            "attn_pdrop": 0.0,
            "initializer_range": 0.02,
            "scale_attn_weights": True,
            "tie_word_embeddings": True,
            "bos_token_id": self.eot_id,
            "eos_token_id": self.eot_id,
            "torch_dtype": "float16",
        }

    @staticmethod
    def from_hf(cfg):
        n_embd = cfg["n_embd"]
        return Gpt2Config(
            vocab_size=cfg["vocab_size"],
            n_positions=cfg["n_positions"],
            n_embd=n_embd,
            n_layer=cfg["n_layer"],
            n_head=cfg["n_head"],
            n_inner=cfg.get("n_inner") or 4 * n_embd,
            layer_norm_epsilon=cfg.get("layer_norm_epsilon", 1e-5),
            eot_id=cfg.get("eos_token_id", cfg["vocab_size"] - 1),
        )


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_head = cfg.n_head
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd)

    def forward(self, x, want_probs):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))
        fused = getattr(F, "scaled_dot_product_attention", None)
        if fused is not None and not want_probs:
            y, probs = fused(q, k, v, is_causal=True), None
        else:
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.size(-1))
            mask = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
            scores = scores.masked_fill(~mask, float("-inf"))
            probs = torch.softmax(scores.float(), dim=-1).to(q.dtype)
            y = probs @ v
        y = y.transpose(1, 2).contiguous().view(b, t, c)
        return self.c_proj(y), probs


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.attn = Attention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.c_fc = nn.Linear(cfg.n_embd, cfg.n_inner)
        self.c_proj = nn.Linear(cfg.n_inner, cfg.n_embd)

    def forward(self, x, want_probs):
        a, probs = self.attn(self.ln_1(x), want_probs)
        x = x + a
        x = x + self.c_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))
        return x, probs


class Gpt2(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.n_positions, cfg.n_embd)
        self.h = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.apply(self._init)
        # GPT-2's scaled init of the residual projections.
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, ids, want_probs=False):
        """Logits (B, T, V) and, when asked, the attention probabilities per layer (B, H, T, T)."""
        pos = torch.arange(ids.size(1), device=ids.device)
        x = self.wte(ids) + self.wpe(pos)
        all_probs = []
        for block in self.h:
            x, probs = block(x, want_probs)
            all_probs.append(probs)
        logits = self.ln_f(x) @ self.wte.weight.t()
        return logits, (all_probs if want_probs else None)


# Our parameter name → (Hugging Face key, transpose to Conv1D).
def _hf_names(cfg):
    names = {"wte.weight": ("transformer.wte.weight", False), "wpe.weight": ("transformer.wpe.weight", False)}
    for i in range(cfg.n_layer):
        p = f"h.{i}."
        hf = f"transformer.h.{i}."
        for ln in ("ln_1", "ln_2"):
            for s in ("weight", "bias"):
                names[f"{p}{ln}.{s}"] = (f"{hf}{ln}.{s}", False)
        for ours, theirs in (("attn.c_attn", "attn.c_attn"), ("attn.c_proj", "attn.c_proj"),
                             ("c_fc", "mlp.c_fc"), ("c_proj", "mlp.c_proj")):
            names[f"{p}{ours}.weight"] = (f"{hf}{theirs}.weight", True)
            names[f"{p}{ours}.bias"] = (f"{hf}{theirs}.bias", False)
    names["ln_f.weight"] = ("transformer.ln_f.weight", False)
    names["ln_f.bias"] = ("transformer.ln_f.bias", False)
    return names


_DTYPES = {"F16": np.float16, "F32": np.float32}


def write_safetensors(path, tensors):
    """tensors: ordered {key: numpy array}; writes the safetensors format (8-byte LE header size, JSON, data)."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for key, arr in tensors.items():
        dtype = {np.dtype(np.float16): "F16", np.dtype(np.float32): "F32"}[arr.dtype]
        header[key] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for arr in tensors.values():
            f.write(np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes())


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    base, out = 8 + n, {}
    for key, meta in header.items():
        if key == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        dtype = np.dtype(_DTYPES[meta["dtype"]]).newbyteorder("<")
        out[key] = np.frombuffer(blob[base + start:base + end], dtype=dtype).reshape(meta["shape"])
    return out


def export_folder(model, folder, vocab_path, merges_path):
    """config.json + float16 model.safetensors + tokenizer files, the embedded model's layout."""
    os.makedirs(folder, exist_ok=True)
    state = {k: v.detach().float().cpu().numpy() for k, v in model.state_dict().items()}
    tensors = {}
    for ours, (theirs, transpose) in _hf_names(model.cfg).items():
        arr = state[ours].T if transpose else state[ours]
        tensors[theirs] = arr.astype(np.float16)
    write_safetensors(os.path.join(folder, "model.safetensors"), dict(sorted(tensors.items())))
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(model.cfg.to_hf(), f, indent=2)
    for src in (vocab_path, merges_path):
        with open(src, "rb") as a, open(os.path.join(folder, os.path.basename(src)), "wb") as b:
            b.write(a.read())


def load_folder(folder, device="cpu"):
    """A Gpt2 in float32 holding exactly the (float16) weights of an exported folder."""
    with open(os.path.join(folder, "config.json")) as f:
        cfg = Gpt2Config.from_hf(json.load(f))
    tensors = read_safetensors(os.path.join(folder, "model.safetensors"))
    model = Gpt2(cfg)
    state = {}
    for ours, (theirs, transpose) in _hf_names(cfg).items():
        arr = tensors[theirs].astype(np.float32)
        state[ours] = torch.from_numpy(np.ascontiguousarray(arr.T if transpose else arr))
    model.load_state_dict(state)
    return model.to(device).eval()


def round_to_fp16(model):
    """Round the weights in place to float16 values, so the model equals its exported copy."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
