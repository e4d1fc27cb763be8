"""Train the embedded model from scratch: corpus → BPE → tokens → GPT-2 → exported folder with model card.

Full run (the recipe of media/models/tinycode-4l8h-1k; CUDA with bf16 autocast when present, CPU otherwise):
    /usr/bin/python3 training/train.py --work runs/full
Smoke run (a small corpus, a 300-token BPE, a tiny model, a few steps; about a minute on CPU):
    /usr/bin/python3 training/train.py --smoke --work /tmp/smoke

Every stage keeps its output in --work and is skipped when that output already exists (corpus/,
tokenizer/, train.bin/val.bin); once tokenizer/ and train.bin exist, corpus/train.txt is no longer read,
so a prepared work folder travels without it (--prepare-only stops there; training/gpu/ uses this).
Training saves checkpoint.pt at every evaluation and an interrupted run started again with the same
settings resumes from it; --max-minutes stops early at a checkpoint and exports what it has, saying so
in the model card. The exported folder is --work/export.
"""
import argparse
import contextlib
import functools
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

import bpe
import build_corpus
import probes
from gpt2 import Gpt2, Gpt2Config, export_folder, round_to_fp16

FULL = dict(vocab=4096, n_layer=4, n_head=8, n_embd=256, n_inner=1024, context=1024, batch=32, steps=8500,
            lr=2e-3, warmup=200, eval_every=500, sources=list(build_corpus.DEFAULT_CAPS), caps={})
# Smoke: TypeScript's own lib files only (present wherever `npm ci` ran), so CI sees the same corpus.
SMOKE = dict(vocab=300, n_layer=2, n_head=2, n_embd=32, n_inner=128, context=128, batch=8, steps=30,
             lr=3e-3, warmup=5, eval_every=10, sources=["ts"], caps={"ts": 200_000})


def log(msg):
    print(msg, flush=True)


def prepare(work, s):
    """Corpus, tokenizer and token files in `work`; returns (tokenizer folder, train ids, val ids, val text)."""
    corpus = os.path.join(work, "corpus")
    if not os.path.exists(os.path.join(corpus, "manifest.json")):
        build_corpus.build(corpus, s["sources"], s["caps"], 2.0, 10 ** 9, log=log)
    tok_dir = os.path.join(work, "tokenizer")

    @functools.cache  # a fresh run needs the training text twice: for the BPE and to tokenize it
    def text(part):
        with open(os.path.join(corpus, f"{part}.txt"), encoding="utf-8") as f:
            return f.read()
    val_text = text("val")
    if not os.path.exists(os.path.join(tok_dir, "merges.txt")):
        t0 = time.time()
        bpe.write(tok_dir, bpe.train(text("train"), s["vocab"], log=log))
        log(f"bpe: {s['vocab']} tokens in {time.time() - t0:.1f} s")
    tok = bpe.Tokenizer(tok_dir)
    ids = {}
    for part in ("train", "val"):
        path = os.path.join(work, f"{part}.bin")
        if not os.path.exists(path):
            np.array(tok.encode(val_text if part == "val" else text("train")), dtype=np.uint16).tofile(path + ".tmp")
            os.replace(path + ".tmp", path)
        ids[part] = np.fromfile(path, dtype=np.uint16)
        log(f"tokens: {part} {len(ids[part]):,}")
    return tok_dir, ids["train"], ids["val"], val_text


def copy_span(window, rng, vocab_size):
    """Paste a span (10–64 tokens, random tokens half of the time) again later in the same window."""
    n = len(window)
    length = int(rng.integers(10, 65))
    if 2 * length > n:
        length = n // 2
    src = int(rng.integers(0, n - 2 * length + 1))
    dst = int(rng.integers(src + length, n - length + 1))
    if rng.random() < 0.5:
        window[src:src + length] = rng.integers(0, vocab_size - 1, size=length)
    window[dst:dst + length] = window[src:src + length]


def batch(ids, rng, batch_size, context, vocab_size, augment):
    starts = rng.integers(0, len(ids) - context - 1, size=batch_size)
    rows = np.stack([ids[s:s + context + 1].astype(np.int64) for s in starts])
    if augment:
        for row in rows:
            if rng.random() < 0.5:
                copy_span(row, rng, vocab_size)
    t = torch.from_numpy(rows)
    return t[:, :-1], t[:, 1:]


def lr_at(step, s):
    """Linear warm-up, then cosine decay to a tenth of the peak."""
    if step < s["warmup"]:
        return s["lr"] * (step + 1) / s["warmup"]
    progress = (step - s["warmup"]) / max(1, s["steps"] - s["warmup"])
    return s["lr"] * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def loss_of(model, x, y, device):
    amp = torch.autocast(device_type="cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    with amp:
        logits, _ = model(x.to(device))
    return F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.to(device).reshape(-1))


def val_loss(model, val_ids, s, device, batches=8):
    """Mean loss over fixed, evenly spaced held-out windows (no augmentation)."""
    ctx = s["context"]
    count = min(batches * s["batch"], max(1, (len(val_ids) - 1) // ctx))
    starts = np.linspace(0, len(val_ids) - ctx - 1, count).astype(np.int64)
    rows = torch.from_numpy(np.stack([val_ids[a:a + ctx + 1].astype(np.int64) for a in starts]))
    model.eval()
    with torch.no_grad():
        losses = [loss_of(model, rows[i:i + s["batch"], :-1], rows[i:i + s["batch"], 1:], device).item()
                  for i in range(0, len(rows), s["batch"])]
    model.train()
    return float(np.mean(losses))


def model_card(path, s, cfg, n_params, manifest, n_tokens, history, p, command, seconds, device, steps_done):
    lines = [
        "# Model card (written by training/train.py)",
        "",
        f"Command: `{command}`",
        f"Device: {device}; wall time {seconds / 60:.1f} min.",
        "",
        "| field | value |",
        "| --- | --- |",
        f"| layers × heads × d_model | {cfg.n_layer} × {cfg.n_head} × {cfg.n_embd}, MLP {cfg.n_inner} |",
        f"| context | {cfg.n_positions} |",
        f"| vocabulary | {cfg.vocab_size} (byte-level BPE, `<|endoftext|>` = {cfg.eot_id}) |",
        f"| parameters | {n_params:,} |",
        f"| corpus | {manifest['train_files']} train / {manifest['val_files']} held-out files; "
        f"{n_tokens['train']:,} train / {n_tokens['val']:,} held-out tokens |",
        f"| training | AdamW (0.9/0.95, wd 0.1), lr {s['lr']}, {s['warmup']} warm-up steps then cosine, "
        f"batch {s['batch']} × {s['context']}, {s['steps']} steps, copy-span augmentation on half the windows |",
        f"| steps done | {steps_done} of {s['steps']}{'' if steps_done == s['steps'] else ' (stopped early by --max-minutes: not a full run)'} |",
        f"| validation loss | {history[-1][1]:.3f} nats/token |",
        "",
        "## Corpus sources",
        "",
        "| source | files | held out | bytes | root |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, st in manifest["sources"].items():
        lines.append(f"| {name} | {st['files']} | {st['val_files']} | {st['bytes']:,} | `{st['root']}` |")
    i, pt, b, r = p["induction"], p["previous_token"], p["brackets"], p["repeat_loss"]
    lines += [
        "",
        "## Probes (mean attention weight on the expected key)",
        "",
        f"- induction: best head {i['score']} (layer {i['layer']}, head {i['head']}), "
        f"{len(i['heads_above_0.6'])} heads above 0.6: {i['heads_above_0.6']}",
        f"- previous token: best head {pt['score']} (layer {pt['layer']}, head {pt['head']})",
        f"- bracket matching: best head {b['score']} (layer {b['layer']}, head {b['head']}; {b['pairs']} pairs)",
        f"- loss on a repeated random sequence: {r['first_copy']} (first copy) → {r['second_copy']} (second copy)",
        "",
        "## Validation loss during training",
        "",
        "| step | val loss |",
        "| --- | --- |",
    ] + [f"| {step} | {loss:.3f} |" for step, loss in history]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def dump_attention(model, tok, text_file, out):
    """The trainer's own attention for a text: attention.npy (L, H, T, T) float32 and ids.json."""
    with open(text_file, encoding="utf-8") as f:
        ids = tok.encode(f.read())
    if len(ids) > model.cfg.n_positions:
        raise SystemExit(f"{text_file}: {len(ids)} tokens, more than the model's context of {model.cfg.n_positions}")
    att, _ = probes.attention(model, ids)
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "attention.npy"), att.astype(np.float32))
    with open(os.path.join(out, "ids.json"), "w") as f:
        json.dump(ids, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True, help="folder for corpus, tokenizer, tokens and the export")
    ap.add_argument("--smoke", action="store_true", help="tiny corpus, BPE and model; a few steps")
    ap.add_argument("--steps", type=int, help="override the number of steps")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--prepare-only", action="store_true", help="stop after corpus, tokenizer and token files")
    ap.add_argument("--max-minutes", type=float,
                    help="after the step that passes this much wall time: evaluate, save the checkpoint, export")
    ap.add_argument("--dump-attention", metavar="TEXT_FILE",
                    help="after export, write the trained model's attention for this text to WORK/torch_attention/")
    args = ap.parse_args()
    s = dict(SMOKE if args.smoke else FULL)
    if args.steps:
        s["steps"] = args.steps
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    t0 = time.time()
    os.makedirs(args.work, exist_ok=True)
    tok_dir, train_ids, val_ids, val_text = prepare(args.work, s)
    if args.prepare_only:
        return
    cfg = Gpt2Config(vocab_size=s["vocab"], n_positions=s["context"], n_embd=s["n_embd"], n_layer=s["n_layer"],
                     n_head=s["n_head"], n_inner=s["n_inner"], eot_id=s["vocab"] - 1)
    model = Gpt2(cfg).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params:,} parameters on {device}")
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=s["lr"], betas=(0.9, 0.95))
    tok = bpe.Tokenizer(tok_dir)
    windows = probes.held_out_windows(model, tok, val_text)
    history, first = [], 0
    checkpoint = os.path.join(args.work, "checkpoint.pt")
    if os.path.exists(checkpoint):
        # Our own file, holding the numpy RNG state too: torch ≥ 2.6 would refuse it by default (weights only).
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        if state["settings"] == s:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["opt"])
            rng.bit_generator.state = state["rng"]
            first, history = state["step"], state["history"]
            log(f"resumed from {checkpoint} at step {first}")
    step_done = first
    for step in range(first, s["steps"]):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, s)
        x, y = batch(train_ids, rng, s["batch"], s["context"], cfg.vocab_size, augment=True)
        loss = loss_of(model, x, y, device)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step_done = step + 1
        out_of_time = args.max_minutes is not None and time.time() - t0 > args.max_minutes * 60
        last = step_done == s["steps"]
        if step_done % s["eval_every"] == 0 or last or out_of_time:
            history.append((step + 1, val_loss(model, val_ids, s, device)))
            model.eval()
            p = probes.run(model, tok, windows)
            model.train()
            log(f"step {step + 1}: train {loss.item():.3f}, val {history[-1][1]:.3f}, lr {lr_at(step, s):.2e} | {probes.summary(p)}")
            torch.save({"settings": s, "model": model.state_dict(), "opt": opt.state_dict(),
                        "rng": rng.bit_generator.state, "step": step + 1, "history": history}, checkpoint + ".tmp")
            os.replace(checkpoint + ".tmp", checkpoint)
            if out_of_time and not last:
                log(f"--max-minutes {args.max_minutes}: stopped at step {step_done} of {s['steps']}; run again to resume")
                break
    model.eval()
    round_to_fp16(model)  # the exported weights are float16: report what ships
    export = os.path.join(args.work, "export")
    export_folder(model, export, os.path.join(tok_dir, "vocab.json"), os.path.join(tok_dir, "merges.txt"))
    p = probes.run(model, tok, windows)
    with open(os.path.join(args.work, "corpus", "manifest.json")) as f:
        manifest = json.load(f)
    command = " ".join(["/usr/bin/python3", "training/train.py"] + sys.argv[1:])
    model_card(os.path.join(export, "README.md"), s, cfg, n_params, manifest, {"train": len(train_ids), "val": len(val_ids)},
               [(st, round(v, 3)) for st, v in history], p, command, time.time() - t0, device, step_done)
    with open(os.path.join(args.work, "probes.json"), "w") as f:
        json.dump({"probes": p, "val_loss": history[-1][1], "steps_done": step_done, "steps": s["steps"]}, f, indent=1)
    log(f"exported {export} ({time.time() - t0:.1f} s): {probes.summary(p)}")
    if args.dump_attention:
        dump_attention(model, tok, args.dump_attention, os.path.join(args.work, "torch_attention"))


if __name__ == "__main__":
    main()
