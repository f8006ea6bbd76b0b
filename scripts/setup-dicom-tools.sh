#!/usr/bin/env bash
# The standard DICOM tools the tests open brainseg's DICOM SEG with (highdicom, pydicom; pinned in
# tests/standard_tools/requirements.txt), in .venv-dicom/ (ignored by git). PyPI only; ~20 s.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv-dicom/bin/python ] || python3 -m venv .venv-dicom
.venv-dicom/bin/pip install -q --disable-pip-version-check -r tests/standard_tools/requirements.txt
.venv-dicom/bin/python -c 'import highdicom, pydicom; print("setup-dicom-tools: highdicom", highdicom.__version__, "pydicom", pydicom.__version__)'
