#!/usr/bin/python3
"""An independent forward pass of Llama-style decoders (llama, mistral, qwen2, qwen3) in PyTorch float64,
written from Hugging Face transformers' modeling_llama.py, modeling_qwen2.py, modeling_qwen3.py and
modeling_rope_utils.py (not from this project's TypeScript).

    /usr/bin/python3 test/reference/llama_reference.py MODEL_DIR IDS_JSON OUT_DIR [ABLATION_JSON]

Reads MODEL_DIR/config.json and MODEL_DIR/model.safetensors (gpt2_reference's reader: F32, F16, BF16), runs the
ids in IDS_JSON (a JSON list) and writes to OUT_DIR: attention.npy (float32, (L, H, T, T), H the query
heads), nll.npy (float32, (T-1,): -log p(ids[t+1] | ids[<=t])), logits.npy (float32, (T, V)), and
queries.npy, keys.npy (float32, (L, H, T, dh)): what each head's scores were computed from (after the
q/k norms and RoPE; keys repeated to the query heads).

ABLATION_JSON (`{"heads": [[layer, head], ...], "mode": "zero" | "mean"}`, gpt2_reference's ablate_heads)
replaces those heads' outputs before o_proj by 0 or by their mean over the positions.

As in Hugging Face, RoPE's inverse frequencies and its cos/sin are computed in float32 (then widened);
everything else is float64.
"""
import json
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gpt2_reference import ablate_heads, read_ablation, read_safetensors  # noqa: E402  (F32, F16, BF16 → float32, exactly)


def rope_inv_freq(cfg, head_dim):
    """modeling_rope_utils: _compute_default_rope_parameters, _compute_linear_scaling_rope_parameters,
    _compute_llama3_parameters; float32 throughout."""
    params = cfg.get('rope_parameters') or {}
    base = params.get('rope_theta', cfg.get('rope_theta', 10000.0))
    dim = head_dim
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    scaling = cfg.get('rope_scaling') or params or None
    rope_type = (scaling or {}).get('rope_type', (scaling or {}).get('type', 'default'))
    if rope_type == 'default':
        return inv_freq
    if rope_type == 'linear':
        return inv_freq / scaling['factor']
    if rope_type == 'llama3':
        factor = scaling['factor']
        low_freq_factor = scaling['low_freq_factor']
        high_freq_factor = scaling['high_freq_factor']
        old_context_len = scaling['original_max_position_embeddings']
        low_freq_wavelen = old_context_len / low_freq_factor
        high_freq_wavelen = old_context_len / high_freq_factor
        wavelen = 2 * math.pi / inv_freq
        inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
        smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
        smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
        is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
        return torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)
    raise ValueError(f'rope type {rope_type}')


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rms_norm(x, weight, eps):
    variance = x.pow(2).mean(-1, keepdim=True)
    return weight * (x * torch.rsqrt(variance + eps))


def linear(x, w, b=None):
    y = x @ w.T
    return y if b is None else y + b


def forward(model_dir, ids, ablate=None):
    with open(os.path.join(model_dir, 'config.json'), encoding='utf-8') as f:
        cfg = json.load(f)
    W = {k: torch.from_numpy(v.astype(np.float64)) for k, v in read_safetensors(os.path.join(model_dir, 'model.safetensors')).items()}
    mt = cfg['model_type']
    D = cfg['hidden_size']
    H = cfg['num_attention_heads']
    KV = cfg.get('num_key_value_heads') or H
    dh = cfg.get('head_dim') or D // H
    eps = cfg.get('rms_norm_eps', 1e-6)
    L = cfg['num_hidden_layers']
    T = len(ids)

    inv_freq = rope_inv_freq(cfg, dh)
    # LlamaRotaryEmbedding.forward: float32 outer product, cat(freqs, freqs), cos/sin in float32.
    position_ids = torch.arange(T)[None, :]
    freqs = (inv_freq[None, :, None].float() @ position_ids[:, None, :].float()).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos().double()[:, None], emb.sin().double()[:, None]  # (1, 1, T, dh)

    # Which projections have biases, from the config as each modeling file reads it (a missing tensor is a KeyError).
    qkv_bias = mt == 'qwen2' or cfg.get('attention_bias', False)
    o_bias = mt != 'qwen2' and cfg.get('attention_bias', False)
    mlp_bias = mt == 'llama' and cfg.get('mlp_bias', False)

    def bias(name, present):
        return W[name] if present else None

    x = W['model.embed_tokens.weight'][torch.tensor(ids)][None]
    mask = torch.full((T, T), float('-inf'), dtype=torch.float64).triu(1)
    maps, queries, keys = [], [], []
    for i in range(L):
        p = f'model.layers.{i}.'
        a = p + 'self_attn.'
        h = rms_norm(x, W[p + 'input_layernorm.weight'], eps)
        q = linear(h, W[a + 'q_proj.weight'], bias(a + 'q_proj.bias', qkv_bias)).view(1, T, H, dh)
        k = linear(h, W[a + 'k_proj.weight'], bias(a + 'k_proj.bias', qkv_bias)).view(1, T, KV, dh)
        v = linear(h, W[a + 'v_proj.weight'], bias(a + 'v_proj.bias', qkv_bias)).view(1, T, KV, dh)
        if mt == 'qwen3':  # Qwen3Attention: q_norm/k_norm on the per-head view, before RoPE
            q = rms_norm(q, W[a + 'q_norm.weight'], eps)
            k = rms_norm(k, W[a + 'k_norm.weight'], eps)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        # repeat_kv: (B, KV, T, dh) -> (B, KV * n_rep, T, dh)
        n_rep = H // KV
        k = k[:, :, None].expand(1, KV, n_rep, T, dh).reshape(1, H, T, dh)
        v = v[:, :, None].expand(1, KV, n_rep, T, dh).reshape(1, H, T, dh)
        scores = q @ k.transpose(2, 3) * dh ** -0.5 + mask
        probs = torch.softmax(scores, dim=-1)
        maps.append(probs[0])
        queries.append(q[0])
        keys.append(k[0])
        ctx = ablate_heads(probs @ v, i, ablate).transpose(1, 2).reshape(1, T, H * dh)
        x = x + linear(ctx, W[a + 'o_proj.weight'], bias(a + 'o_proj.bias', o_bias))
        h = rms_norm(x, W[p + 'post_attention_layernorm.weight'], eps)
        m = p + 'mlp.'
        gate = linear(h, W[m + 'gate_proj.weight'], bias(m + 'gate_proj.bias', mlp_bias))
        up = linear(h, W[m + 'up_proj.weight'], bias(m + 'up_proj.bias', mlp_bias))
        x = x + linear(torch.nn.functional.silu(gate) * up, W[m + 'down_proj.weight'], bias(m + 'down_proj.bias', mlp_bias))
    x = rms_norm(x, W['model.norm.weight'], eps)
    head = W['model.embed_tokens.weight'] if cfg.get('tie_word_embeddings', False) else W['lm_head.weight']
    logits = (x @ head.T)[0]
    logp = torch.log_softmax(logits, dim=-1)
    nll = -logp[torch.arange(T - 1), torch.tensor(ids[1:])]
    return torch.stack(maps), nll, logits, torch.stack(queries), torch.stack(keys)


def main():
    model_dir, ids_file, out = sys.argv[1:4]
    with open(ids_file, encoding='utf-8') as f:
        ids = json.load(f)
    ablate = read_ablation(sys.argv[4]) if len(sys.argv) > 4 else None
    maps, nll, logits, queries, keys = forward(model_dir, ids, ablate)
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, 'attention.npy'), maps.numpy().astype(np.float32))
    np.save(os.path.join(out, 'nll.npy'), nll.numpy().astype(np.float32))
    np.save(os.path.join(out, 'logits.npy'), logits.numpy().astype(np.float32))
    np.save(os.path.join(out, 'queries.npy'), queries.numpy().astype(np.float32))
    np.save(os.path.join(out, 'keys.npy'), keys.numpy().astype(np.float32))


if __name__ == '__main__':
    main()
