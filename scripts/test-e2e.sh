#!/usr/bin/env bash
# End-to-end test of the built page (dist/) in headless Debian Chromium: once on WebGPU
# (SwiftShader, software) and once on the CPU fallback. Compares the page's mask with
# `brainseg segment` on the same synthetic phantom. Artifacts: test-artifacts/e2e/.
# Needs: scripts/setup-web.sh, scripts/setup-dicom-tools.sh, scripts/build-web.sh, `cargo build --release --all-targets`.
set -euo pipefail
cd "$(dirname "$0")/.."

ART=test-artifacts/e2e
CLI="${BRAINSEG:-target/release/brainseg}"
[ -f dist/index.html ] || { echo "test-e2e: no dist/; run scripts/build-web.sh" >&2; exit 1; }
PHANTOM_BIN=target/release/examples/phantom
SCANS_BIN=target/release/examples/synth_scans
for bin in "$CLI" "$PHANTOM_BIN" "$SCANS_BIN"; do
    [ -x "$bin" ] || { echo "test-e2e: no $bin; run cargo build --release --all-targets" >&2; exit 1; }
done

rm -rf "$ART"
mkdir -p "$ART/cli"
# A synthetic phantom (never patient data), segmented by the CLI with the very model file the
# page serves, so both sides run the same weights.
# Built by scripts/test.sh with every native target (`cargo run -p brainseg` would resolve other
# features and compile Burn a second time).
"$PHANTOM_BIN" "$ART/phantom.png" 256 7
"$CLI" segment "$ART/phantom.png" --model models/brainseg.bsm --output "$ART/cli"
# A synthetic DICOM series, NIfTI volume, zipped JPEG Lossless series and Enhanced MR file; the
# page's study figures must match the CLI's.
"$SCANS_BIN" "$ART/scans"
"$CLI" segment "$ART/scans/dicom" "$ART/scans/flair.nii.gz" "$ART/scans/compressed.zip" "$ART/scans/enhanced.dcm" --json --model models/brainseg.bsm \
  --output "$ART/cli-scans" > "$ART/cli-scans.jsonl"

# A folder of numbered phantom slices, a volume to the page and the CLI alike (3D step included).
mkdir -p "$ART/numbered" "$ART/cli-numbered"
for k in $(seq 1 12); do "$PHANTOM_BIN" "$ART/numbered/case_$k.png" 256 "$((k + 10))" > /dev/null; done
"$CLI" segment "$ART/numbered" --model models/brainseg.bsm --output "$ART/cli-numbered" > "$ART/cli-numbered/stdout.txt"

# A DICOM series of phantom slices the model finds tumor on: the page's DICOM SEG must equal the
# CLI's (compared by highdicom, scripts/setup-dicom-tools.sh).
"$PHANTOM_BIN" --series "$ART/phantom-series" 256 11 6 > /dev/null
"$CLI" segment "$ART/phantom-series" --json --model models/brainseg.bsm --output "$ART/cli-seg" > "$ART/cli-seg.jsonl"
[ -x .venv-dicom/bin/python ] || { echo "test-e2e: no .venv-dicom; run scripts/setup-dicom-tools.sh" >&2; exit 1; }

cd tests/e2e
PHANTOM="../../$ART/phantom.png" CLI_MASK="../../$ART/cli/phantom_pred.png" ARTIFACTS="../../$ART" \
  SCANS="../../$ART/scans" CLI_SCANS="../../$ART/cli-scans.jsonl" \
  NUMBERED="../../$ART/numbered" CLI_NUMBERED="../../$ART/cli-numbered" \
  SEG_SERIES="../../$ART/phantom-series" CLI_SEG="../../$ART/cli-seg.jsonl" \
  node run.mjs "$@"
