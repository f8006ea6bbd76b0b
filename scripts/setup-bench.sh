#!/usr/bin/env bash
# What scripts/bench.sh compares against: PyTorch in .venv-bench/ (PyPI's Linux wheel is the CUDA
# build, ~7 GB with its dependencies, so this is separate from scripts/setup.sh) and
# onnxruntime-web from npm. Run scripts/setup.sh first (Chromium, the e2e driver).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-bench
.venv-bench/bin/pip install -q torch safetensors onnx
(cd bench/browser && npm ci --no-audit --no-fund)
.venv-bench/bin/python -c 'import torch; print("setup-bench: torch", torch.__version__)'
