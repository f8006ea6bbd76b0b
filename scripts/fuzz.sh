#!/usr/bin/env bash
# Fuzzes the scan readers (study/fuzz: DICOM files, Enhanced MR functional groups, NIfTI volumes, zipped studies, and single
# compressed frames through the JPEG, JPEG-LS, JPEG 2000 and RLE decoders) for SECONDS each
# (default 300) and prints each target's executions. Needs a nightly toolchain and cargo-fuzz:
#   rustup toolchain install nightly --profile minimal && cargo install cargo-fuzz --locked
#   scripts/fuzz.sh [SECONDS] [TARGET...]      (default: every target in turn)
#   FUZZ_RUNS=10000000 scripts/fuzz.sh 0 dicom  runs a target for that many executions instead
#   FUZZ_SANITIZER=none                          no AddressSanitizer: several times the executions
#                                                per second; panics (the readers' guarantee) are
#                                                still caught; memory errors in dependencies'
#                                                unsafe code would go unseen
#   FUZZ_OVERFLOW_CHECKS=0                       builds as the CLI and the page are built (cargo fuzz
#                                                -O: no overflow checks or debug assertions). With
#                                                them (the default) the frames target stops within
#                                                ~0.2M executions at a known overflow inside
#                                                pure_jpegls (three cases kept in study/tests/
#                                                fixtures/fuzz/), which release builds wrap
# Pausing a run (kill -STOP, to time something else) for longer than libFuzzer's -timeout (1200 s)
# makes it report a false timeout on the input it was running: re-run that input to check.
# The corpus (study/fuzz/corpus/, not tracked) grows across runs; crashes land in
# study/fuzz/artifacts/TARGET/ and each becomes a regression test.
# Not part of scripts/test.sh (nightly only); the readers' unit tests cover the same classes.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-300}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(dicom enhanced nifti zip frames)
SANITIZER="${FUZZ_SANITIZER:-address}"
if [ -n "${FUZZ_RUNS:-}" ]; then budget=(-runs="$FUZZ_RUNS"); else budget=(-max_total_time="$SECONDS_EACH"); fi
build=()
[ "${FUZZ_OVERFLOW_CHECKS:-1}" = 0 ] && build=(-O)
cargo run -q -p brainseg-study --example fuzz_seeds -- study/fuzz/seeds
cd study/fuzz
for target in "${TARGETS[@]}"; do
  mkdir -p "corpus/$target"
  log="artifacts/$target.log"
  mkdir -p artifacts
  start=$(date +%s)
  cargo +nightly fuzz run "${build[@]}" --sanitizer "$SANITIZER" "$target" "corpus/$target" "seeds/$target" -- \
    "${budget[@]}" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 2>&1 | tee "$log" | grep -E "^(#[0-9]+ +(DONE|pulse)|==|SUMMARY|stat::number_of_executed_units)" || true
  runs=$(grep -Eo "stat::number_of_executed_units: *[0-9]+" "$log" | grep -Eo "[0-9]+$" || echo "?")
  crashes=$(ls artifacts/"$target"/ 2>/dev/null | grep -c -E "^(crash|oom|timeout|leak)-" || true)
  echo "fuzz: $target: $runs executions in $(( $(date +%s) - start )) s (sanitizer $SANITIZER, overflow checks ${FUZZ_OVERFLOW_CHECKS:-1}), $crashes crash/oom/timeout inputs"
done
