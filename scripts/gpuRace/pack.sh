#!/usr/bin/env bash
# Packs what scripts/gpuRace/run.sh needs on a lent GPU machine into .gpu-race/ (ignored by git):
# that machine has no Node.js, no Vulkan loader and no network (../shared/guides/gpu-device.md).
# About 35 MB: Node (xz), the CLI bundle with Dawn for Node and onnxruntime-web's WebGPU build, and
# Debian's Vulkan/GL loader packages. Then, with the device tool:
#   run  command: bash scripts/gpuRace/run.sh device   carry: [".gpu-race"]
set -euo pipefail
cd "$(dirname "$0")/../.."
pack=.gpu-race
rm -rf "$pack"
mkdir -p "$pack/gl" "$pack/apt-lists/partial"
npm run -s build
# Figures from the device name the code they ran (run.sh prints this).
git describe --always --dirty >"$pack/built-from"
xz -T0 -9 -c "$(command -v node)" >"$pack/node.xz"
ort=node_modules/onnxruntime-web
tar -cJf "$pack/bundle.tar.xz" dist/cli.js package.json \
  node_modules/webgpu/package.json node_modules/webgpu/index.js node_modules/webgpu/dist/linux-x64 \
  "$ort/package.json" "$ort/dist/ort.webgpu.mjs" "$ort/dist/ort-wasm-simd-threaded.asyncify.mjs" "$ort/dist/ort-wasm-simd-threaded.asyncify.wasm"
apt=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$PWD/$pack/apt-lists")
apt-get "${apt[@]}" update -qq
(cd "$pack/gl" && apt-get "${apt[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
rm -rf "$pack/apt-lists"
du -sh "$pack"
