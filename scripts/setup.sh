#!/usr/bin/env bash
# Installs everything brainseg needs on a fresh Debian machine (idempotent: re-runs are quick).
# Rust itself comes from the machine's rustup; the version is pinned by rust-toolchain.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup toolchain list | grep -q "^$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)"; then
    timeout 600 rustup toolchain install "$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)"
fi
# Every crate Cargo.lock names, for every feature and target: the builds run --offline only where
# they must not reach the network (the CUDA type-check), and the CPU build alone never fetches the
# crates that only `--features cuda` needs (cubek-fft, cubecl-cuda, ...).
cargo fetch --locked
# The browser build and its end-to-end tests: wasm32 target, trunk, wasm-bindgen-cli, Chromium.
scripts/setup-web.sh
# highdicom and pydicom, which the tests open brainseg's DICOM SEG with.
scripts/setup-dicom-tools.sh
# LLVM 23 from PyPI for the CUDA build, which CI type-checks (scripts/build-cuda.sh check).
scripts/setup-cuda.sh
