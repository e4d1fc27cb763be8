"""Attention probes: what a model's heads do, as mean attention weight on the expected key.

  induction        `<eos> r r`, r = 50 random tokens; a query in the second copy → the token after
                   its earlier occurrence (chance ≈ 1/position)
  previous token   held-out text, query i → key i−1
  brackets         a token holding a closing `)`, `]`, `}` → the token holding its opening bracket, ≥ 3 tokens back
  repeat loss      loss on the first and on the second copy of a repeated random sequence

    /usr/bin/python3 training/probes.py --model media/models/tinycode-4l8h-1k --val corpus/val.txt
"""
import argparse
import json

import numpy as np
import torch
import torch.nn.functional as F

from bpe import Tokenizer
from gpt2 import load_folder

OPEN, CLOSE = "([{", ")]}"


def attention(model, ids):
    """(L, H, T, T) float32 attention of one sequence, and its logits (T, V)."""
    with torch.no_grad():
        logits, probs = model(torch.tensor([ids], device=next(model.parameters()).device), want_probs=True)
    return torch.stack([p[0] for p in probs]).float().cpu().numpy(), logits[0].float()


def repeated_random(model, rng, length):
    cfg = model.cfg
    r = rng.integers(0, cfg.vocab_size - 1, size=length).tolist()
    return [cfg.eot_id] + r + r


def induction_and_repeat(model, rng, length=50, trials=16):
    """Per-head mean induction weight (L, H) and the mean loss on the first and second copy."""
    scores, first, second = [], [], []
    for _ in range(trials):
        ids = repeated_random(model, rng, length)
        att, logits = attention(model, ids)
        q = np.arange(length + 1, 2 * length + 1)
        scores.append(att[:, :, q, q - length + 1].mean(axis=-1))
        losses = F.cross_entropy(logits[:-1], torch.tensor(ids[1:], device=logits.device), reduction="none").cpu().numpy()
        # losses[i] predicts ids[i + 1]; the first copy is ids[1..length] (its first token, which follows only
        # <eos>, is left out), the second ids[length + 1..].
        first.append(losses[1:length].mean())
        second.append(losses[length:].mean())
    return np.mean(scores, axis=0), float(np.mean(first)), float(np.mean(second))


def text_windows(tok, text, window, count):
    """Up to `count` windows of `window` tokens, evenly spaced through the first 2 M characters of held-out text."""
    ids = tok.encode(text[:2_000_000])
    step = max(window, len(ids) // max(count, 1))
    return [ids[s:s + window] for s in range(0, max(len(ids) - window, 0) + 1, step)][:count]


def bracket_pairs(tok, ids):
    """(closing token, opening token) index pairs, brackets matched by a stack over the tokens' characters,
    at least 3 tokens apart; a token such as `);` counts as holding its `)`."""
    stack, pairs = [], set()
    for i, t in enumerate(ids):
        for ch in tok.token_text(t):
            if ch in OPEN:
                stack.append((ch, i))
            elif ch in CLOSE:
                if not stack or stack[-1][0] != OPEN[CLOSE.index(ch)]:
                    stack = []  # unbalanced text: start afresh rather than pair wrong brackets
                    continue
                _, j = stack.pop()
                if i - j >= 3:
                    pairs.add((i, j))
    return sorted(pairs)


def text_probes(model, tok, windows):
    """Per-head previous-token and bracket scores (L, H) and the bracket pair count."""
    prev, brackets, n_pairs = [], [], 0
    for ids in windows:
        att, _ = attention(model, ids)
        i = np.arange(1, len(ids))
        prev.append(att[:, :, i, i - 1].mean(axis=-1))
        pairs = bracket_pairs(tok, ids)
        if pairs:
            q, k = np.array(pairs).T
            brackets.append(att[:, :, q, k].sum(axis=-1))
            n_pairs += len(pairs)
    bracket = np.sum(brackets, axis=0) / n_pairs if n_pairs else np.zeros_like(prev[0])
    return np.mean(prev, axis=0), bracket, n_pairs


def best(scores):
    layer, head = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return {"score": round(float(scores[layer, head]), 3), "layer": int(layer), "head": int(head)}


def held_out_windows(model, tok, val_text, count=32):
    """The text probes' input: `count` windows of up to 512 tokens (the context, when shorter)."""
    return text_windows(tok, val_text, min(model.cfg.n_positions, 512), count)


def run(model, tok, windows, seed=0):
    """All probe figures as a dict (the model card's numbers); windows from held_out_windows."""
    rng = np.random.default_rng(seed)
    induction, first, second = induction_and_repeat(model, rng, length=min(50, (model.cfg.n_positions - 1) // 2))
    prev, bracket, n_pairs = text_probes(model, tok, windows)
    return {
        "induction": {**best(induction), "heads_above_0.6": [[int(l), int(h)] for l, h in zip(*np.nonzero(induction > 0.6))]},
        "previous_token": best(prev),
        "brackets": {**best(bracket), "pairs": n_pairs},
        "repeat_loss": {"first_copy": round(first, 2), "second_copy": round(second, 2)},
    }


def summary(p):
    i, pt, b, r = p["induction"], p["previous_token"], p["brackets"], p["repeat_loss"]
    return (f"induction best {i['score']} (L{i['layer']}H{i['head']}), {len(i['heads_above_0.6'])} heads > 0.6; "
            f"previous-token best {pt['score']} (L{pt['layer']}H{pt['head']}); "
            f"brackets best {b['score']} (L{b['layer']}H{b['head']}, {b['pairs']} pairs); "
            f"repeat loss {r['first_copy']} → {r['second_copy']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="exported folder (config.json, model.safetensors, vocab.json, merges.txt)")
    ap.add_argument("--val", required=True, help="held-out text (val.txt of build_corpus.py)")
    ap.add_argument("--windows", type=int, default=32)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    model = load_folder(args.model)
    tok = Tokenizer(args.model)
    with open(args.val, encoding="utf-8") as f:
        p = run(model, tok, held_out_windows(model, tok, f.read(), args.windows))
    print(json.dumps(p, indent=1) if args.json else summary(p))


if __name__ == "__main__":
    main()
