#!/usr/bin/env bash
# Every test: native unit and integration tests, core and study for wasm32, the web build and the browser
# end-to-end tests. Run scripts/setup.sh first on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
step() { printf '\n== %s (%s)\n' "$1" "$(date +%T)"; }

# Tests run in the release profile, and every native target is built in one invocation, so one
# feature set of Burn (compiled once, ~10 min) serves the CLI, examples, benches and tests.
step "native build (all targets)"
cargo build --release --locked --all-targets
step "native tests"
cargo test --release --locked
step "CUDA build type-check (scripts/build-cuda.sh check)"
scripts/build-cuda.sh check
step "core, study and pipeline for wasm32"
CARGO_TARGET_DIR=target/web cargo check --locked -p brainseg-core -p brainseg-study -p brainseg-pipeline --target wasm32-unknown-unknown
step "web build"
scripts/build-web.sh
step "browser end-to-end tests"
scripts/test-e2e.sh
step "all tests passed"
