#!/usr/bin/env bash
# A training run on a lent GPU machine (the session's `run` tool: one NVIDIA H200, 16 cores, no
# network; each call gets a copy of the working tree plus at most 64 MiB of carried build
# outputs, runs at most 10 minutes, and returns at most 8 files of 16 MiB from $OUT; ~15 GPU
# minutes in all, start-up included; the machine goes back after ~30 s idle). Steps:
#
#   scripts/gpu-run.sh prepare [--rehearse]   here: builds the binary (CUDA; --rehearse: the CPU
#       one), packs it with the dataset into parts of at most PART_MIB (what the 64 MiB leaves
#       beside the tracked tree) under target/gpu-run/parts/,
#       and writes target/gpu-run/plan.txt: what each device call carries and runs.
#   scripts/gpu-run.sh probe                  there (the first call, carrying part-00 only): the
#       binary and the first patients are at the head of the stream; finds CUDA's compiler
#       (NVRTC) and headers for cubecl and trains for a minute on those patients, so that a
#       machine that cannot run the binary is found before the data is sent.
#   scripts/gpu-run.sh remote                 there (the last call): unpacks the parts carried by
#       every call so far and trains RECIPE for at most MINUTES, with as many cosine epochs as
#       fit into them at the H200's measured pace (EPOCHS overrides); model.bsm, metrics.csv and
#       the log are copied to $OUT as they change, so a call cut short still returns the best
#       epoch so far.
#   scripts/gpu-run.sh rehearse               here, end to end on the CPU (--backend flex, a few
#       patients, short budgets): prepare, then each planned call in a fresh copy of the tree
#       that holds only what the calls so far carried, as the device machine would.
#
# The dataset (192 MB of lossless WebP, already compressed) travels as it is, split over
# consecutive calls while the machine stays warm; the CUDA binary travels xz-compressed (~42 MB).
# Nothing here downloads anything.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA="${DATA:-../shared/datasets/lgg-mri-segmentation/kaggle_3m}"
WORK=target/gpu-run
MINUTES="${MINUTES:-7}"
# From scratch at the shipped width, tumor slices drawn by area from the first step: one cosine
# cycle over the epochs that fit (validated every epoch on the seed-42 split, best epoch kept in
# model.bsm). Warm restarts of the shipped model, on the CPU and on this GPU (cycles 8-18 in
# MODEL.md), all ended at 0.73-0.77; from scratch with area sampling throughout was +0.03-0.04
# ahead of the earlier from-scratch runs at 128x128 on the CPU (cycle 19), and a GPU can afford it
# at 256x256. For a warm restart instead: RECIPE="--init-from models/brainseg.bsm ...".
RECIPE="${RECIPE:---base-channels 32 --input-size 256 --lr 2e-3 --warmup-steps 200 --ema-decay 0.99 --sampling area --empty-fraction 0.75 --flair-fill 0.5 --seed 42 --batch-size 16 --checkpoint-every 100000}"
# Measured on the H200 (2026-12-04, RECIPE's sampling on the seed-42 split: 128 steps of 16 and
# two validations of 704 slices): ~20 s per epoch, and 25-65 s more in the first epoch while
# cubecl compiles and tunes its kernels; data loading ~10 s.
SECONDS_PER_EPOCH="${SECONDS_PER_EPOCH:-20}"
WARMUP_SECONDS="${WARMUP_SECONDS:-90}"

# The rehearsal's recipe: short epochs on the CPU from the shipped model.
REHEARSAL_RECIPE="--init-from models/brainseg.bsm --base-channels 32 --input-size 256 --lr 1e-4 --seed 42 --batch-size 4"

say() { echo "gpu-run: $*"; }

prepare() {
  local backend=cuda bin patients=()
  if [ "${1:-}" = --rehearse ]; then
    backend=flex
    # A few patients are enough to prove the plumbing.
    mapfile -t patients < <(ls "$DATA" | grep -v '\.csv$' | head -n "${REHEARSE_PATIENTS:-6}")
  fi
  [ -d "$DATA" ] || { echo "gpu-run: no dataset at $DATA" >&2; exit 1; }
  # Each call carries the working tree too, within 64 MiB in all: a part is what the tracked tree
  # leaves of that, less 4 MiB for files changed meanwhile. (The device's copy of the tree has no
  # git, so this is worked out here only.)
  local tree_mib=$(( $(git ls-files -z | xargs -0 du -cb | tail -n 1 | cut -f1) / 1048576 + 1 ))
  PART_MIB="${PART_MIB:-$(( 64 - tree_mib - 4 ))}"
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
  # Symbols are a fifth of the CUDA binary (LLVM is linked in): 42 MB compressed without them.
  strip -o "$WORK/stage/brainseg" "$bin"
  xz -T0 -6 "$WORK/stage/brainseg"
  local bin_mib=$(( $(stat -c %s "$WORK/stage/brainseg.xz") / 1048576 + 1 ))
  # The probe (first call) needs the binary and a few whole patients in part-00.
  if [ "$backend" = flex ]; then
    PART_MIB=$(( bin_mib + 5 ))
  elif [ $(( bin_mib + 4 )) -gt "$PART_MIB" ]; then
    echo "gpu-run: the compressed binary ($bin_mib MiB) leaves no patients in a $PART_MIB MiB part-00" >&2; exit 1
  fi
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
    if [ $n = 1 ]; then
      echo "call 1: carry [\"$part\"]; command: scripts/gpu-run.sh probe (timeout_s 240)" >> "$WORK/plan.txt"
    else
      echo "call $n: carry [\"$part\"]; command: ls -l $WORK/parts" >> "$WORK/plan.txt"
    fi
  done
  echo "call $((n + 1)): carry []; command: MINUTES=<device minutes left - 1.5> scripts/gpu-run.sh remote (timeout_s: what is left)" >> "$WORK/plan.txt"
  say "$(du -sh "$WORK/parts" | cut -f1) in $n part(s) of at most ${PART_MIB} MiB, backend $backend; the plan:"
  cat "$WORK/plan.txt"
}

# Where cubecl finds CUDA's compiler: it passes $CUDA_PATH/include to NVRTC, and cudarc (built
# with CUDA 12.8 bindings) opens libnvrtc.so or libnvrtc.so.12; a CUDA 13 toolkit has only
# libnvrtc.so.13, so a link under the first name is made. Written to $WORK/cuda-env.sh for the
# later calls; the NVRTC API cudarc calls is the same in 12 and 13.
cuda_env() {
  local cuda="${CUDA_PATH:-}" nvrtc="" d
  if [ -z "$cuda" ]; then
    if [ -d /usr/local/cuda/include ]; then cuda=/usr/local/cuda
    elif command -v nvcc > /dev/null; then cuda="$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")"
    fi
  fi
  for d in "$cuda/lib64" "$cuda/lib" "$cuda/targets/x86_64-linux/lib" /usr/lib/x86_64-linux-gnu; do
    nvrtc="$(ls "$d"/libnvrtc.so* 2> /dev/null | grep -v builtins | sort | tail -n 1 || true)"
    [ -n "$nvrtc" ] && break
  done
  [ -n "$nvrtc" ] || nvrtc="$(find /opt /usr/local -name 'libnvrtc.so*' ! -name '*builtins*' 2> /dev/null | sort | tail -n 1 || true)"
  mkdir -p /tmp/brainseg-cuda
  [ -n "$nvrtc" ] && ln -sf "$nvrtc" /tmp/brainseg-cuda/libnvrtc.so
  {
    echo "export CUDA_PATH='$cuda'"
    echo "export LD_LIBRARY_PATH='/tmp/brainseg-cuda:$(dirname "${nvrtc:-/tmp/none}")':\${LD_LIBRARY_PATH:-}"
  } > "$WORK/cuda-env.sh"
  say "CUDA_PATH=$cuda, NVRTC ${nvrtc:-not found}; headers: $(ls "$cuda/include/cuda_fp16.h" 2>&1)"
}

# Copies what the run has written to $OUT whenever it changes, each file whole (copy, then
# rename), so that a call stopped at its limit still returns the best model so far.
mirror() {
  local run="$1" out="$2" f
  for f in model.bsm last.bsm metrics.csv; do
    if [ -f "$run/$f" ] && ! cmp -s "$run/$f" "$out/$f"; then
      cp "$run/$f" "$out/.$f" && mv "$out/.$f" "$out/$f"
    fi
  done
}

probe() {
  local out="${OUT:?the device machine sets OUT}" dir=/tmp/gpu-probe start
  start=$(date +%s)
  rm -rf "$dir" && mkdir -p "$dir"
  # part-00 holds the head of the stream: the binary, then the first patients; tar stops at the
  # cut, and the patient cut there is left out.
  tar -xf "$WORK/parts/part-00" -C "$dir" 2> /dev/null || true
  local last
  last="$(tar -tf "$WORK/parts/part-00" 2> /dev/null | tail -n 1 | cut -d/ -f1-2 || true)"
  [ -n "$last" ] && [ "$last" != brainseg.xz ] && rm -rf "${dir:?}/$last"
  xz -d "$dir/brainseg.xz" && chmod +x "$dir/brainseg"
  local backend data
  backend="$(cat "$dir/backend")"
  data="$(find "$dir" -mindepth 1 -maxdepth 1 -type d | head -n 1)"
  [ "$backend" = cuda ] && { nvidia-smi -L || true; cuda_env; }
  [ -f "$WORK/cuda-env.sh" ] && . "$WORK/cuda-env.sh"
  say "probe: $(find "$data" -mindepth 1 -maxdepth 1 -type d | wc -l) patients, backend $backend"
  local status=0
  # shellcheck disable=SC2086
  "$dir/brainseg" train --data "$data" --run-dir "$dir/run" --backend "$backend" --epochs "${PROBE_EPOCHS:-2}" \
    --max-minutes "${PROBE_MINUTES:-1}" ${PROBE_RECIPE:-$RECIPE} > "$out/probe.log" 2>&1 || status=$?
  grep -v '^\s*$' "$out/probe.log" | tail -n 25
  # A clean stop at the deadline writes last.bsm: the backend ran training steps.
  [ "$status" = 0 ] && [ -f "$dir/run/last.bsm" -o -f "$dir/run/model.bsm" ] \
    || { echo "gpu-run: probe: training failed (status $status); see probe.log" >&2; exit 1; }
  say "probe passed in $(( $(date +%s) - start )) s"
}

remote() {
  local out="${OUT:?the device machine sets OUT}" dir
  dir="$(mktemp -d)"
  start=$(date +%s)
  cat "$WORK"/parts/part-* | tar -xf - -C "$dir"
  xz -d "$dir/brainseg.xz" && chmod +x "$dir/brainseg"
  local backend data
  backend="$(cat "$dir/backend")"
  data="$(find "$dir" -mindepth 1 -maxdepth 1 -type d | head -n 1)"
  say "unpacked in $(( $(date +%s) - start )) s: $(find "$data" -mindepth 1 -maxdepth 1 -type d | wc -l) patients, backend $backend"
  if [ "$backend" = cuda ]; then
    [ -f "$WORK/cuda-env.sh" ] || cuda_env
    . "$WORK/cuda-env.sh"
  fi
  # As many epochs as fit after loading and warm-up, with a tenth to spare: the cosine then ends
  # before the deadline does.
  local epochs="${EPOCHS:-}"
  [ -n "$epochs" ] || epochs=$(awk -v m="$MINUTES" -v e="$SECONDS_PER_EPOCH" -v w="$WARMUP_SECONDS" \
    'BEGIN { n = int(0.9 * (m * 60 - w) / e); print (n < 1 ? 1 : n) }')
  say "training $epochs epoch(s) in at most $MINUTES minutes"
  # shellcheck disable=SC2086
  "$dir/brainseg" train --data "$data" --run-dir "$dir/run" --backend "$backend" --epochs "$epochs" \
    --max-minutes "$MINUTES" $RECIPE > "$out/train.log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2> /dev/null; do
    sleep 5
    mirror "$dir/run" "$out"
  done
  wait "$pid" || say "training exited with status $?"
  mirror "$dir/run" "$out"
  grep -v '^\s*$' "$out/train.log" | grep -v ' step ' | tail -n 40 || true
  ls -l "$out"
  say "done in $(( $(date +%s) - start )) s"
}

rehearse() {
  # prepare --rehearse cuts parts just larger than the binary, so that the rehearsal carries
  # several, as the real run does.
  prepare --rehearse
  local device out
  device="$(mktemp -d)"
  out="$(mktemp -d)"
  # The device machine gets the tracked tree, and keeps what earlier calls carried.
  git ls-files -z | xargs -0 cp --parents -t "$device"
  mkdir -p "$device/$WORK/parts"
  for part in "$WORK"/parts/part-*; do
    cp "$part" "$device/$WORK/parts/"
    say "rehearsal call: carried $(basename "$part") ($(du -h "$part" | cut -f1))"
    if [ "$(basename "$part")" = part-00 ]; then
      (cd "$device" && OUT="$out" PROBE_MINUTES=0.5 PROBE_RECIPE="$REHEARSAL_RECIPE --max-patients 3" \
        scripts/gpu-run.sh probe)
      rm -f "$out"/*
    fi
  done
  (cd "$device" && OUT="$out" MINUTES=2 EPOCHS=1 RECIPE="$REHEARSAL_RECIPE --max-patients 6" scripts/gpu-run.sh remote)
  local back
  back=$(ls "$out")
  echo "$back" | grep -q metrics.csv || { echo "gpu-run: rehearsal returned no metrics.csv: $back" >&2; exit 1; }
  echo "$back" | grep -qE '^(model|last)\.bsm$' || { echo "gpu-run: rehearsal returned no model file: $back" >&2; exit 1; }
  say "rehearsal passed: returned $(echo "$back" | tr '\n' ' ')(in $out)"
  rm -rf "$device"
}

case "${1:-}" in
  prepare) shift; prepare "$@" ;;
  probe) probe ;;
  remote) remote ;;
  rehearse) rehearse ;;
  *) sed -n '2,20p' "$0"; exit 2 ;;
esac
