#!/usr/bin/env bash
# Builds the browser page into dist/: trunk in release mode (the `web` cargo profile), with the
# tools scripts/setup-web.sh installed. trunk runs offline, so it never downloads a tool; crates
# are fetched first by cargo itself.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -s models/brainseg.bsm ]; then
  echo "build-web: models/brainseg.bsm is missing; the page ships it" >&2
  exit 1
fi
# A target folder of its own: the long wasm build never blocks native cargo builds.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/web}"
# wasm SIMD (every current browser has it) makes the CPU fallback ~2.3x faster: Burn's `simd`
# feature (app feature `simd`) only takes effect with the target feature on.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128"

start=$(date +%s)
cargo fetch --target wasm32-unknown-unknown -q
# `--offline=true`, not `--offline build`: the flag takes an optional value and would swallow
# the subcommand. trunk also passes --offline to cargo.
nice trunk build --release --offline=true --skip-version-check --features simd
echo "build-web: dist/ built in $(( $(date +%s) - start )) s"

# The page's total download is what the static host sends; report raw and gzip sizes.
total_raw=0
total_gz=0
for f in dist/*; do
  raw=$(stat -c %s "$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  total_raw=$((total_raw + raw))
  total_gz=$((total_gz + gz))
  printf 'build-web: %-48s %10d bytes raw %10d gzip\n' "$(basename "$f")" "$raw" "$gz"
done
printf 'build-web: %-48s %10d bytes raw %10d gzip\n' "total" "$total_raw" "$total_gz"
