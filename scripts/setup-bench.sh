#!/usr/bin/env bash
# PyTorch for scripts/bench.sh, in .venv-bench/. PyPI's Linux wheel is the CUDA build: ~7 GB with
# its dependencies, so this is separate from scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-bench
.venv-bench/bin/pip install -q torch safetensors onnx
.venv-bench/bin/python -c 'import torch; print("setup-bench: torch", torch.__version__)'
