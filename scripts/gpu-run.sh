#!/usr/bin/env bash
# A training run on a lent GPU machine (the session's `run` tool: one NVIDIA H200, 16 cores, no
# network; each call gets a copy of the working tree plus at most 64 MiB of carried build
# outputs, runs at most 10 minutes, and returns at most 8 files of 16 MiB from $OUT; ~15 GPU
# minutes in all, start-up included). Three steps:
#
#   scripts/gpu-run.sh prepare [--rehearse]   here: builds the binary (CUDA; --rehearse: the CPU
#       one), packs it with the dataset into parts of at most PART_MIB (what the 64 MiB leaves
#       beside the tracked tree) under target/gpu-run/parts/,
#       and writes target/gpu-run/plan.txt: what each device call carries and runs.
#   scripts/gpu-run.sh remote                 there (the last call): unpacks the parts carried by
#       every call so far and trains RECIPE for at most MINUTES, then copies the model files,
#       metrics.csv and the log to $OUT.
#   scripts/gpu-run.sh rehearse               here, end to end on the CPU (--backend flex, a few
#       patients, a 2-minute budget): prepare, then each planned call in a fresh copy of the tree
#       that holds only what the calls so far carried, as the device machine would.
#
# The dataset (192 MB of lossless WebP, already compressed) travels as it is, split over
# consecutive calls while the machine stays warm; the CUDA binary travels xz-compressed (~42 MB).
# Nothing here downloads anything.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA="${DATA:-../shared/datasets/lgg-mri-segmentation/kaggle_3m}"
WORK=target/gpu-run
# Each call carries the working tree too, within 64 MiB in all: a part is what the tracked tree
# leaves of that, less 4 MiB for files changed meanwhile.
tree_mib=$(( $(git ls-files -z | xargs -0 du -cb | tail -n 1 | cut -f1) / 1048576 + 1 ))
PART_MIB="${PART_MIB:-$(( 64 - tree_mib - 4 ))}"
MINUTES="${MINUTES:-7}"
# Fine-tunes the shipped model (validated every epoch on the seed-42 split, best epoch kept in
# model.bsm); on an H200 the schedule's 20 epochs should fit in MINUTES, and --max-minutes ends it
# cleanly (last.bsm) where they do not.
RECIPE="${RECIPE:---init-from models/brainseg.bsm --base-channels 32 --input-size 256 --epochs 20 --lr 3e-4 --warmup-steps 50 --ema-decay 0.99 --sampling area --empty-fraction 0.75 --flair-fill 0.5 --seed 42 --batch-size 16}"

# The rehearsal's recipe: one short epoch on the CPU from the shipped model.
REHEARSAL_RECIPE="--init-from models/brainseg.bsm --base-channels 32 --input-size 256 --epochs 1 --lr 1e-4 --seed 42 --batch-size 4"

say() { echo "gpu-run: $*"; }

prepare() {
  local backend=cuda bin patients=()
  if [ "${1:-}" = --rehearse ]; then
    backend=flex
    # A few patients are enough to prove the plumbing.
    mapfile -t patients < <(ls "$DATA" | grep -v '\.csv$' | head -n "${REHEARSE_PATIENTS:-4}")
  fi
  [ -d "$DATA" ] || { echo "gpu-run: no dataset at $DATA" >&2; exit 1; }
  rm -rf "$WORK"
  mkdir -p "$WORK/stage" "$WORK/parts"
  if [ "$backend" = cuda ]; then
    scripts/build-cuda.sh build
    bin=target/cuda/release/brainseg
  else
    # Every native target at once, as scripts/test.sh builds them (one feature set of Burn).
    cargo build --release --locked --all-targets -q
    bin=target/release/brainseg
  fi
  xz -T0 -6 -c "$bin" > "$WORK/stage/brainseg.xz"
  echo "$backend" > "$WORK/stage/backend"
  local root name
  root="$(cd "$(dirname "$DATA")" && pwd)"
  name="$(basename "$DATA")"
  local folders=("$name")
  [ ${#patients[@]} -gt 0 ] && folders=("${patients[@]/#/$name/}")
  # One stream: binary, backend and the patients' folders, cut into parts that fit one call each.
  tar -cf - -C "$WORK/stage" brainseg.xz backend -C "$root" "${folders[@]}" \
    | split -b "${PART_MIB}M" -d -a 2 - "$WORK/parts/part-"
  rm -rf "$WORK/stage"
  local n=0
  : > "$WORK/plan.txt"
  for part in "$WORK"/parts/part-*; do
    n=$((n + 1))
    echo "call $n: carry [\"$part\"]; command: ls -l $WORK/parts" >> "$WORK/plan.txt"
  done
  echo "call $((n + 1)): carry []; command: scripts/gpu-run.sh remote (timeout_s 600)" >> "$WORK/plan.txt"
  say "$(du -sh "$WORK/parts" | cut -f1) in $n part(s) of at most ${PART_MIB} MiB, backend $backend; the plan:"
  cat "$WORK/plan.txt"
}

remote() {
  local out="${OUT:?the device machine sets OUT}" dir
  dir="$(mktemp -d)"
  start=$(date +%s)
  cat "$WORK"/parts/part-* | tar -xf - -C "$dir"
  xz -d "$dir/brainseg.xz" && chmod +x "$dir/brainseg"
  local backend
  backend="$(cat "$dir/backend")"
  local data
  data="$(find "$dir" -mindepth 1 -maxdepth 1 -type d | head -n 1)"
  say "unpacked in $(( $(date +%s) - start )) s: $(find "$data" -mindepth 1 -maxdepth 1 -type d | wc -l) patients, backend $backend"
  [ "$backend" = cuda ] && { nvidia-smi -L || true; }
  # shellcheck disable=SC2086
  "$dir/brainseg" train --data "$data" --run-dir "$dir/run" --backend "$backend" --max-minutes "$MINUTES" $RECIPE \
    2>&1 | tee "$out/train.log" | grep -v '^\s*$' | tail -n 40 || true
  for f in model.bsm last.bsm metrics.csv; do
    [ -f "$dir/run/$f" ] && cp "$dir/run/$f" "$out/"
  done
  ls -l "$out"
  say "done in $(( $(date +%s) - start )) s"
}

rehearse() {
  # Small parts, so that the rehearsal carries several, as the real run does.
  PART_MIB=8 prepare --rehearse
  local device out
  device="$(mktemp -d)"
  out="$(mktemp -d)"
  # The device machine gets the tracked tree, and keeps what earlier calls carried.
  git ls-files -z | xargs -0 cp --parents -t "$device"
  for part in "$WORK"/parts/part-*; do
    mkdir -p "$device/$WORK/parts"
    cp "$part" "$device/$WORK/parts/"
    say "rehearsal call: carried $(basename "$part") ($(du -h "$part" | cut -f1))"
  done
  (cd "$device" && OUT="$out" MINUTES=2 RECIPE="$REHEARSAL_RECIPE" scripts/gpu-run.sh remote)
  local back
  back=$(ls "$out")
  echo "$back" | grep -q metrics.csv || { echo "gpu-run: rehearsal returned no metrics.csv: $back" >&2; exit 1; }
  echo "$back" | grep -qE '^(model|last)\.bsm$' || { echo "gpu-run: rehearsal returned no model file: $back" >&2; exit 1; }
  say "rehearsal passed: returned $(echo "$back" | tr '\n' ' ')(in $out)"
  rm -rf "$device"
}

case "${1:-}" in
  prepare) shift; prepare "$@" ;;
  remote) remote ;;
  rehearse) rehearse ;;
  *) sed -n '2,20p' "$0"; exit 2 ;;
esac
