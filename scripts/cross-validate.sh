#!/usr/bin/env bash
# Patient-level k-fold cross-validation: one training run per fold, then `tune` and `evaluate`
# on every fold's patients at once, each predicted by the fold model that never trained on it.
#   scripts/cross-validate.sh <data> <out> <folds> [train options...]
#   e.g. scripts/cross-validate.sh $DATA /runs/cv 5 --base-channels 32 --input-size 256 --epochs 30
# Running the same command again continues: finished folds are kept, a killed fold resumes.
# Writes <out>/fold<I>/ (runs), <out>/tuned.bsm (the first fold's model with the settings chosen
# on all folds; `tune --apply-to` puts them into any other), <out>/tune.txt and <out>/evaluate.txt
# (pooled, per fold, spread, per patient).
set -euo pipefail
if [[ $# -lt 3 ]]; then
  sed -n '2,9p' "$0" >&2
  exit 2
fi
B=${BRAINSEG:-target/release/brainseg}
data=$1 out=$2 folds=$3
shift 3
pairs=()
for ((i = 0; i < folds; i++)); do
  run="$out/fold$i"
  if [[ ! -f "$run/finished" ]]; then
    if [[ -f "$run/config.json" ]]; then
      "$B" train --data "$data" --run-dir "$run" --resume
    else
      "$B" train --data "$data" --run-dir "$run" --folds "$folds" --fold "$i" "$@"
    fi
    touch "$run/finished"
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
