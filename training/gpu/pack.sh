#!/usr/bin/env bash
# Prepares the full training run for a lent GPU machine, which has no network
# (../shared/guides/gpu-device.md): corpus, tokenizer and token files are built here (a few minutes on a
# CPU, cached in runs/full), and .train-gpu/ (ignored by git) gets what training reads of them, without
# the corpus text itself: tokenizer/, train.bin, val.bin, corpus/val.txt and manifest.json (about 18 MB).
# Then, with the device tool: command `bash training/gpu/run.sh`, carry [".train-gpu"].
set -euo pipefail
cd "$(dirname "$0")/../.."
/usr/bin/python3 training/train.py --work runs/full --prepare-only
rm -rf .train-gpu
mkdir -p .train-gpu/corpus
cp -r runs/full/tokenizer runs/full/train.bin runs/full/val.bin .train-gpu/
cp runs/full/corpus/val.txt runs/full/corpus/manifest.json .train-gpu/corpus/
du -sh .train-gpu
