#!/usr/bin/env bash
# Side by side on this machine: brainseg (Burn flex CPU backend) against PyTorch CPU running the
# same U-Net with the same weights (exported by `brainseg export`, checked on a probe input), for
# the shipped model at its input size and the reference (~17M) configuration at 256x256.
# Rounds alternate the contenders; the table shows medians over rounds and brainseg/PyTorch.
#   scripts/bench.sh [ROUNDS]      (default 3; PyTorch from scripts/setup-bench.sh)
# Not yet here: wgpu/cuda rows (no GPU on this machine) and the browser side (onnxruntime-web).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"
PY="${BENCH_PYTHON:-.venv-bench/bin/python}"
OUT=target/bench
mkdir -p "$OUT"
cargo build --release --locked --all-targets -q
B=target/release/brainseg
size=$($B info | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["input_size"])' 2>/dev/null || echo 128)
$B export -o "$OUT/shipped.safetensors" >/dev/null
$B export --preset reference --input-size 256 -o "$OUT/reference.safetensors" >/dev/null
: > "$OUT/results.jsonl"
for round in $(seq "$ROUNDS"); do
  echo "bench: round $round of $ROUNDS" >&2
  for spec in "compact $size shipped" "reference 256 reference"; do
    set -- $spec
    cargo bench -q -p brainseg --bench throughput -- --quick --json --conv native --config "$1" --size "$2" \
      | sed "s/^{/{\"model\": \"$3\", /" >> "$OUT/results.jsonl"
    "$PY" bench/torch_unet.py "$OUT/$3.safetensors" --rounds 3 \
      | sed "s/^{/{\"model\": \"$3\", /" >> "$OUT/results.jsonl"
  done
done
python3 bench/summarize.py "$OUT/results.jsonl"
