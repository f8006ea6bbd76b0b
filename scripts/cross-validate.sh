#!/usr/bin/env bash
# Patient-level k-fold cross-validation: one training run per fold, then `tune` and `evaluate`
# on every fold's patients at once, each predicted by the fold model that never trained on it.
#   scripts/cross-validate.sh <data> <out> <folds> [train options...]
#   e.g. scripts/cross-validate.sh $DATA /runs/cv 5 --base-channels 32 --input-size 256 --epochs 30
# Running it again (the train options may be left out) continues: finished folds are kept, a fold
# that was killed or stopped at --max-minutes (a limit for each fold's train call) resumes.
# Writes <out>/fold<I>/ (runs), <out>/tuned.bsm (the first fold's model with the settings chosen
# on all folds; `tune --apply-to` puts them into any other), <out>/tune.txt and <out>/evaluate.txt
# (pooled, per fold, spread, per patient).
set -euo pipefail
if [[ $# -lt 3 ]]; then
  sed -n '2,10p' "$0" >&2
  exit 2
fi
B=${BRAINSEG:-target/release/brainseg}
data=$1 out=$2 folds=$3
shift 3
# The folds must share one recipe: the first call's train options are kept and reused.
mkdir -p "$out"
if [[ -f "$out/train-options" ]]; then
  saved=$(cat "$out/train-options")
  if [[ $# -gt 0 && "$(printf '%q ' "$@")" != "$saved" ]]; then
    echo "$out was started with the train options: $saved" >&2
    exit 1
  fi
  eval "set -- $saved"
else
  printf '%q ' "$@" >"$out/train-options"
fi
# A resumed fold keeps its saved recipe; only the per-call deadline is passed on.
resume_opts=()
args=("$@")
for ((j = 0; j < ${#args[@]}; j++)); do
  if [[ ${args[j]} == --max-minutes ]]; then
    resume_opts=(--max-minutes "${args[j + 1]}")
  elif [[ ${args[j]} == --max-minutes=* ]]; then
    resume_opts=("${args[j]}")
  fi
done
# A fold is finished when metrics.csv has a row for every epoch of its config.json (a run that
# stopped at --max-minutes has fewer, and is resumed).
finished() {
  [[ -f "$1/metrics.csv" && -f "$1/config.json" ]] || return 1
  local epochs rows
  epochs=$(sed -nE 's/^  "epochs": ([0-9]+),?$/\1/p' "$1/config.json")
  rows=$(($(wc -l <"$1/metrics.csv") - 1))
  [[ -n "$epochs" && "$rows" -ge "$epochs" ]]
}
pairs=()
for ((i = 0; i < folds; i++)); do
  run="$out/fold$i"
  if [[ -f "$run/config.json" ]]; then
    finished "$run" || "$B" train --data "$data" --run-dir "$run" --resume "${resume_opts[@]}"
  else
    "$B" train --data "$data" --run-dir "$run" --folds "$folds" --fold "$i" "$@"
  fi
  if ! finished "$run"; then
    echo "fold $i is not finished (stopped at --max-minutes?): run the same command again" >&2
    exit 1
  fi
  pairs+=(--split "$run/split.json" --model "$run/model.bsm")
done
"$B" tune --data "$data" "${pairs[@]}" --no-tta --output "$out/tuned.bsm" | tee "$out/tune.txt"
# Every fold model scored with the settings chosen on all folds, patient by patient.
chosen=$(grep '^wrote ' "$out/tune.txt")
threshold=$(sed -E 's/.*threshold ([0-9.]+),.*/\1/' <<<"$chosen")
min_region=$(sed -E 's/.*min region ([0-9]+) px.*/\1/' <<<"$chosen")
"$B" evaluate --data "$data" "${pairs[@]}" --threshold "$threshold" --min-region "$min_region" --per-patient \
  | tee "$out/evaluate.txt"
