#!/usr/bin/env bash
# LLVM 23 for `--features cuda`, from PyPI instead of GitHub: burn-cuda 0.22.1 -> cubecl-cuda
# 0.11.3 always compiles cubecl-llvm, whose LLVM comes from tracel-llvm-bundler 23.1.0-4; that
# build script downloads LLVM unless `<XDG_DATA_HOME>/tracel/tracel-llvm-23.1.0-4/` holds the
# `.tracel-llvm-installed` marker, and cubecl-llvm then runs that folder's `bin/llvm-config
# --link-static`. PyPI's mlc-llvm-static wheels are LLVM 23.1 as static PIC libraries with an
# llvm-config (NVPTX among the targets). Everything lives in target/ (ignored): a venv and the
# bundler's folder. scripts/build-cuda.sh sets XDG_DATA_HOME to it.
# Keep in step with Cargo.lock: a new tracel-llvm-bundler version changes BUNDLER (and maybe the
# LLVM version of the wheels).
set -euo pipefail
cd "$(dirname "$0")/.."
BUNDLER=tracel-llvm-23.1.0-4
WHEELS=(mlc-llvm-static==23.1.1.post0 mlc-llvm-static-extra-targets==23.1.1.post0)
grep -q '^name = "tracel-llvm-bundler"' -A1 Cargo.lock && grep -A1 '^name = "tracel-llvm-bundler"' Cargo.lock | grep -q '"23.1.0-4"' \
  || { echo "setup-cuda: Cargo.lock's tracel-llvm-bundler is not 23.1.0-4: update BUNDLER and WHEELS" >&2; exit 1; }
VENV=target/llvm-venv
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check "${WHEELS[@]}"
config=$(find "$VENV" -path '*mlc_llvm_static/static/bin/llvm-config' | head -1)
[ -x "$config" ] || { echo "setup-cuda: no llvm-config in the mlc-llvm-static wheel" >&2; exit 1; }
dir="target/llvm-data/tracel/$BUNDLER"
mkdir -p "$dir/bin"
ln -sf "$(realpath "$config")" "$dir/bin/llvm-config"
touch "$dir/.tracel-llvm-installed"
echo "setup-cuda: LLVM $("$dir/bin/llvm-config" --version) for cubecl-llvm in $dir"
