#!/usr/bin/env bash
# Fuzzes the scan readers (study/fuzz: DICOM files, Enhanced MR functional groups, NIfTI volumes, zipped studies, and single
# compressed frames through the JPEG, JPEG-LS, JPEG 2000 and RLE decoders) for SECONDS each
# (default 300) and prints each target's executions. Needs a nightly toolchain and cargo-fuzz:
#   rustup toolchain install nightly --profile minimal && cargo install cargo-fuzz --locked
# Not part of scripts/test.sh (nightly only); the readers' unit tests cover the same classes.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-300}"
cargo run -q -p brainseg-study --example fuzz_seeds -- study/fuzz/seeds
cd study/fuzz
for target in dicom enhanced nifti zip frames; do
  mkdir -p "corpus/$target"
  log="artifacts/$target.log"
  mkdir -p artifacts
  cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 2>&1 | tee "$log" | grep -E "^(#[0-9]+ +(DONE|pulse)|==|SUMMARY|stat::number_of_executed_units)" || true
  runs=$(grep -Eo "stat::number_of_executed_units: *[0-9]+" "$log" | grep -Eo "[0-9]+$" || echo "?")
  crashes=$(ls artifacts/"$target"/ 2>/dev/null | grep -c -E "^(crash|oom|timeout|leak)-" || true)
  echo "fuzz: $target: $runs executions in ${SECONDS_EACH}s, $crashes crash/oom/timeout inputs"
done
