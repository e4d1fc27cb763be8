#!/usr/bin/env bash
# The full training run on a lent GPU (CUDA, bf16 autocast) from the folder training/gpu/pack.sh made;
# device tool: command `bash training/gpu/run.sh`, carry [".train-gpu"]. The run lives in /tmp/train-full,
# so a call on a machine still warm from the last one resumes from its checkpoint. It stops at a
# checkpoint after TRAIN_MINUTES (default 8.5) to return within a call's 10 minutes, exporting what it
# has (the model card says how many steps). The exported folder, probes.json and the log go to $OUT.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-train-gpu-out}
work=${TRAIN_WORK:-/tmp/train-full}
mkdir -p "$out"
[ -d "$work" ] || cp -r .train-gpu "$work"
# Eight files come back from a device call: the export's five, probes.json and this log.
{
  nvidia-smi --query-gpu=name,driver_version --format=csv
  PYTHONUNBUFFERED=1 python3 training/train.py --work "$work" --max-minutes "${TRAIN_MINUTES:-8.5}" "$@"
} 2>&1 | tee "$out/train.log"
status=${PIPESTATUS[0]}
cp "$work"/export/* "$work/probes.json" "$out/"
exit "$status"
