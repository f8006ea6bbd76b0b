"""pydicom's own test files as a compatibility corpus for brainseg's DICOM reader.

    corpus.py DICOM_PIXELS_BIN OUT_DIR

For every file: what pydicom decodes (grayscale, modality LUT applied) and what brainseg reads
(the `dicom_pixels` example) must agree: the same pixels for lossless syntaxes, within the
codec's error for lossy ones; or brainseg refuses the file for a reason the README lists (not
MR, colour, an unsupported syntax, no image). Prints one line per file; exits non-zero on the
first disagreement's summary.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_rescale

LOSSY = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.91"}
# The refusals README.md lists ("Refused with ..." under DICOM).
REASONS = ("not an MR image", "not supported", "no image in this DICOM file", "colour", "unsupported DICOM pixels")


def pydicom_pixels(path):
    """(array as frames x rows x columns, transfer syntax) or (None, why)."""
    try:
        ds = pydicom.dcmread(path, force=True)
        if "PixelData" not in ds:
            return None, "no pixel data"
        if int(ds.get("SamplesPerPixel", 1)) != 1:
            return None, "colour"
        array = apply_rescale(ds.pixel_array, ds).astype(np.float64)
        if ds.get("PhotometricInterpretation") == "MONOCHROME1":
            array = array.max() + array.min() - array
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        return array.reshape(frames, int(ds.Rows), int(ds.Columns)), str(ds.file_meta.get("TransferSyntaxUID", ""))
    except Exception as e:  # pydicom cannot decode it: nothing to compare with
        return None, f"pydicom: {type(e).__name__}"


def main(binary, out):
    files = sorted(Path(get_testdata_file("MR_small.dcm")).parent.glob("*.dcm"))
    lines = subprocess.run([binary, out, *map(str, files)], check=True, capture_output=True, text=True).stdout
    ours = {Path(r["file"]).name: r for r in map(json.loads, lines.splitlines())}
    bad, compared, refused = [], 0, 0
    for path in files:
        mine = ours[path.name]
        theirs, syntax = pydicom_pixels(path)
        if "error" in mine:
            ok = theirs is None or any(r in mine["error"] for r in REASONS)
            refused += 1
            verdict = f"refused: {mine['error']}"
        elif theirs is None:
            ok, verdict = True, f"read by brainseg, pydicom: {syntax}"
        else:
            got = np.fromfile(mine["pixels"], "<f4").astype(np.float64)
            shape = (mine["frames"], mine["rows"], mine["columns"])
            if got.size != theirs.size or shape != theirs.shape:
                ok, verdict = False, f"shape {shape} vs pydicom {theirs.shape}"
            else:
                got = got.reshape(shape)
                spread = max(float(theirs.max() - theirs.min()), 1.0)
                error = float(np.abs(got - theirs).mean()) / spread
                ok = error < (0.01 if syntax in LOSSY else 1e-6)
                verdict = f"same pixels as pydicom (mean error {100 * error:.4f}% of range)"
                compared += 1
        print(f"{'ok ' if ok else 'BAD'} {path.name}: {verdict}")
        if not ok:
            bad.append(path.name)
    print(f"corpus: {len(files)} files, {compared} compared pixel for pixel, {refused} refused by brainseg, {len(bad)} disagreements")
    if bad:
        sys.exit(f"corpus: brainseg and pydicom disagree on {', '.join(bad)}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
