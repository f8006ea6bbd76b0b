#!/usr/bin/env bash
# The CUDA build of brainseg, offline (run scripts/setup-cuda.sh first): `scripts/build-cuda.sh`
# builds target/cuda/release/brainseg; `scripts/build-cuda.sh check` only type-checks it (what CI
# runs, so the feature cannot rot); `scripts/build-cuda.sh test` runs the GPU-vs-CPU training
# steps (trainer/tests/gpu_steps.rs; skipped with a message without a GPU). Building needs no CUDA
# toolkit: cudarc loads libcuda and NVRTC at run time, and cubecl compiles its kernels then with
# NVRTC and $CUDA_PATH/include (README: running it). CUDARC_CUDA_VERSION picks the bindings (12.8;
# a CUDA 13 driver and NVRTC ran them on an H200, with libnvrtc.so linked to libnvrtc.so.13).
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_DATA_HOME="$PWD/target/llvm-data"
export CUDARC_CUDA_VERSION="${CUDARC_CUDA_VERSION:-12080}"
# The binary gets a target folder of its own (it would replace target/release/brainseg); the
# type check shares target/ with the CPU build, reusing its build scripts and proc macros.
if [ "${1:-build}" = check ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
else
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/cuda}"
fi
[ -e "$XDG_DATA_HOME/tracel/tracel-llvm-23.1.0-4/.tracel-llvm-installed" ] || { echo "build-cuda: run scripts/setup-cuda.sh first" >&2; exit 1; }
start=$(date +%s)
case "${1:-build}" in
  check) cargo check --release --locked --offline -p brainseg --features cuda --all-targets ;;
  test) cargo test --release --locked --offline -p brainseg --features cuda --test gpu_steps -- --nocapture ;;
  *) cargo build --release --locked --offline -p brainseg --features cuda ;;
esac
echo "build-cuda: ${1:-build} in $(( $(date +%s) - start )) s"
