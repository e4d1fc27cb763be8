#!/usr/bin/env bash
# The race of issue 4 in one command on a lent GPU machine: our WGSL flash attention on Dawn for Node
# (Vulkan) against PyTorch's scaled_dot_product_attention on the same GPU, fp32, causal, B 1, H 12,
# T 4096, dh 64. There (device tool): command `bash scripts/gpuRace/run.sh device`, carry [".gpu-race"],
# the folder scripts/gpuRace/pack.sh makes here.
# SDPA is timed before and after ours; ours twice (GPU timestamps, then queue completion as a check on
# them), its tiles tuned on the adapter. RACE_GRID=1 adds every kernel on WebGPU and wasm at T 256, 1024
# and 4096, H 12 (the full grid, B 8 and H 16 up to T 4096, does not fit in a call's 10 minutes).
# Without `device` it runs the same steps with this machine's node on SwiftShader and PyTorch on the CPU
# (RACE_T, RACE_HEADS, RACE_HEAD_DIM, RACE_TILES shrink it). Results go to $OUT (default gpu-race-out/),
# eight files at most (what a device call brings back): run.log, race.txt, race.json, the two SDPA and
# the two ours reports, and grid.json with RACE_GRID.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-gpu-race-out}
mkdir -p "$out"
exec > >(tee "$out/run.log") 2>&1
T=${RACE_T:-4096}
H=${RACE_HEADS:-12}
D=${RACE_HEAD_DIM:-64}
tiles=${RACE_TILES:-tune}
node=node
py=/usr/bin/python3 # Debian's, with python3-torch

if [ "${1:-}" = device ]; then
  # A bare machine: the Vulkan loader from Debian's packages, the NVIDIA driver's ICD, a carried Node.
  for f in .gpu-race/gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  xz -dc .gpu-race/node.xz >/tmp/node && chmod +x /tmp/node && node=/tmp/node
  tar -xJf .gpu-race/bundle.tar.xz
  echo "CLI bundle built from $(cat .gpu-race/built-from); this tree: $(git describe --always --dirty 2>/dev/null || echo 'no git')"
  py=python3 # the image's own, with CUDA PyTorch
  nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv
fi

sdpa() { "$py" scripts/gpuRace/sdpa.py time --T "$T" --heads "$H" --head-dim "$D" --json "$out/sdpa-$1.json"; }
ours() {
  "$node" dist/cli.js bench --kernels ours --backend webgpu --precision fp32 --T "$T" --heads "$H" --q-per-kv 1 --head-dim "$D" \
    --tiles "$tiles" --warmup 5 --budget 2000 --min-runs 20 --max-runs 500 "${@:2}" --json "$out/ours-$1.json"
}

status=0
sdpa before || status=1
ours timestamps || status=1
ours queue --no-timestamps || status=1
sdpa after || status=1
"$py" scripts/gpuRace/sdpa.py compare --ours "$out"/ours-*.json --sdpa "$out"/sdpa-*.json --json "$out/race.json" | tee "$out/race.txt" || status=1
if [ -n "${RACE_GRID:-}" ]; then
  "$node" dist/cli.js bench --T 256,1024,4096 --heads 12 --precision fp32 --warmup 3 --budget 2000 --min-runs 5 --json "$out/grid.json" || status=1
fi
exit $status
