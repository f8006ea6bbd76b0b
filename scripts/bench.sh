#!/usr/bin/env bash
# Side by side on this machine, same U-Net and same weights everywhere (exported by `brainseg
# export`, checked on a probe input before timing):
# - native: brainseg (Burn flex CPU backend with brainseg's own kernels) against PyTorch CPU, for the compact U-Net
#   (width 16) and the shipped model (when it is wider) at the shipped input size, and the
#   reference (~17M) configuration at 256x256;
# - browser (headless Chromium): brainseg's page on CPU (wasm) and WebGPU against onnxruntime-web
#   on WASM and WebGPU with an ONNX export of the shipped model (bench/browser/run.mjs).
# Rounds alternate the contenders; tables show medians over rounds and brainseg's speed ratio.
#   scripts/bench.sh [ROUNDS]      (default 3; after scripts/setup-bench.sh and scripts/build-web.sh)
#   NATIVE_ONLY=1 scripts/bench.sh  skips the browser table (no web build needed)
#   SPECS="shipped" scripts/bench.sh  only the shipped model's rows (compact, reference, shipped)
# Not here: wgpu/cuda native rows (no GPU on this machine).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"
# PyTorch as it runs by default (fp32, NCHW), channels-last fp32, and bf16 autocast with
# channels-last (bench/torch_unet.py --mode); TORCH_MODES="fp32" for the default alone.
TORCH_MODES="${TORCH_MODES:-fp32 channels-last bf16}"
# Which CPU: the bf16 rows depend on AMX / AVX512-BF16.
echo "bench: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(nproc) cores;" \
  "$(grep -o -w -E 'amx_bf16|avx512_bf16|avx512f|avx2' /proc/cpuinfo | sort -u | xargs)" >&2
PY="${BENCH_PYTHON:-.venv-bench/bin/python}"
OUT=target/bench
mkdir -p "$OUT"
cargo build --release --locked --all-targets -q
B=target/release/brainseg
# `info` prints the model header (JSON) and then a line on the weights.
shipped() { $B info | python3 -c "import json,sys; print(json.JSONDecoder().raw_decode(sys.stdin.read())[0]['config']['$1'])"; }
size=$(shipped input_size)
base=$(shipped base_channels)
$B export -o "$OUT/shipped.safetensors" >/dev/null
$B export --preset compact --input-size "$size" -o "$OUT/compact.safetensors" >/dev/null
$B export --preset reference --input-size 256 -o "$OUT/reference.safetensors" >/dev/null
# config, input size, base width, label
specs=("compact $size 16 compact" "reference 256 64 reference")
[ "$base" != 16 ] && specs+=("compact $size $base shipped")
if [ -n "${SPECS:-}" ]; then
  mapfile -t specs < <(printf '%s\n' "${specs[@]}" | grep -E " (${SPECS// /|})$")
fi
: > "$OUT/results.jsonl"
for round in $(seq "$ROUNDS"); do
  echo "bench: round $round of $ROUNDS" >&2
  for spec in "${specs[@]}"; do
    set -- $spec
    cargo bench -q -p brainseg --bench throughput -- --json --conv kernels --config "$1" --size "$2" \
      --base-channels "$3" | sed "s/^{/{\"model\": \"$4\", /" >> "$OUT/results.jsonl"
    for mode in $TORCH_MODES; do
      "$PY" bench/torch_unet.py "$OUT/$4.safetensors" --rounds 3 --mode "$mode" \
        | sed "s/^{/{\"model\": \"$4\", /" >> "$OUT/results.jsonl"
    done
  done
done
python3 bench/summarize.py "$OUT/results.jsonl"
[ "${NATIVE_ONLY:-0}" = 1 ] && exit 0

echo
"$PY" bench/torch_unet.py "$OUT/shipped.safetensors" --rounds 1 --onnx "$OUT/shipped.onnx" >/dev/null 2>&1
target/release/examples/phantom "$OUT/phantom.png" 256 7 >/dev/null
[ -f dist/index.html ] || scripts/build-web.sh
node bench/browser/run.mjs --onnx "$OUT/shipped.onnx" --size "$size" --phantom "$OUT/phantom.png" \
  --dist dist --rounds "$ROUNDS"
