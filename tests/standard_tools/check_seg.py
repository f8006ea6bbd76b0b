"""Opens brainseg's DICOM SEG with standard tools from PyPI (pinned in requirements.txt).

    check_seg.py [--semiautomatic] SEG SERIES_DIR NIFTI [OTHER_SEG]

pydicom reads it with validation set to raise; highdicom loads it as a Segmentation, and its
array on the source series' instances (ordered by position, as brainseg stacks them) must equal
the NIfTI mask brainseg wrote beside it. With OTHER_SEG (the page's download), the two SEGs must
hold the same frames, positions, references, patient and study, under different UIDs. With
--semiautomatic (a mask a reader corrected on the page), the segment's algorithm type must be
SEMIAUTOMATIC instead of AUTOMATIC.
Exits non-zero with a message on the first difference.
"""

import gzip
import io
import struct
import sys
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom import config

config.settings.reading_validation_mode = config.RAISE
config.settings.writing_validation_mode = config.RAISE


def fail(message):
    sys.exit(f"check_seg: {message}")


def source_instances(series_dir):
    """The series' SOP instance UIDs in slice order (position along the normal)."""
    slices = []
    for path in sorted(Path(series_dir).iterdir()):
        ds = pydicom.dcmread(path)
        row, col = np.array(ds.ImageOrientationPatient[:3], float), np.array(ds.ImageOrientationPatient[3:], float)
        slices.append((float(np.dot(np.cross(row, col), np.array(ds.ImagePositionPatient, float))), ds))
    slices.sort(key=lambda s: s[0])
    return [ds for _, ds in slices]


def nifti_mask(path):
    """A uint8 NIfTI-1 mask as (slices, rows, columns): brainseg writes DICOM masks on the
    series' own grid, columns fastest."""
    data = gzip.decompress(Path(path).read_bytes())
    dims = struct.unpack_from("<8h", data, 40)
    datatype = struct.unpack_from("<h", data, 70)[0]
    offset = int(struct.unpack_from("<f", data, 108)[0])
    if datatype != 2:
        fail(f"{path}: NIfTI datatype {datatype}, expected uint8")
    x, y, z = dims[1:4]
    return np.frombuffer(data[offset:offset + x * y * z], np.uint8).reshape(z, y, x)


def pixels(seg, sources):
    uids = [ds.SOPInstanceUID for ds in sources]
    array = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=uids, segment_numbers=[1], assert_missing_frames_are_empty=True
    )
    return np.asarray(array)[..., 0]


def main(seg_path, series_dir, nifti_path, other_path=None, algorithm="AUTOMATIC"):
    raw = pydicom.dcmread(seg_path)  # raises on any invalid value
    raw.save_as(io.BytesIO(), enforce_file_format=True)  # and on writing it back
    seg = hd.seg.segread(seg_path)
    if seg.SOPClassUID != "1.2.840.10008.5.1.4.1.1.66.4" or seg.SegmentationType != "BINARY":
        fail("not a binary Segmentation Storage object")
    description = seg.get_segment_description(1)
    if description.segment_label != "Tumor" or description.algorithm_type.value != algorithm:
        fail(f"segment 1 is {description.segment_label!r} ({description.algorithm_type})")
    sources = source_instances(series_dir)
    if seg.StudyInstanceUID != sources[0].StudyInstanceUID or seg.PatientID != sources[0].PatientID:
        fail("the SEG is not filed under the source's patient and study")
    array = pixels(seg, sources)
    mask = (nifti_mask(nifti_path) != 0).astype(np.uint8)
    if array.shape != mask.shape or not np.array_equal(array, mask):
        fail(f"highdicom's array {array.shape} ({array.sum()} voxels) differs from the NIfTI mask {mask.shape} ({mask.sum()})")
    frames = int(seg.NumberOfFrames)
    print(f"check_seg: {seg_path}: valid, {algorithm}; {frames} frames, {int(mask.sum())} tumor voxels, equal to {nifti_path}")
    if other_path:
        other = hd.seg.segread(other_path)
        if not np.array_equal(pixels(other, sources), array):
            fail(f"{other_path} holds other pixels than {seg_path}")
        positions = [[f.PlanePositionSequence[0].ImagePositionPatient for f in s.PerFrameFunctionalGroupsSequence] for s in (seg, other)]
        if positions[0] != positions[1]:
            fail("the frames sit at other positions")
        for keyword in ["PatientID", "PatientName", "StudyInstanceUID", "FrameOfReferenceUID", "NumberOfFrames"]:
            if getattr(seg, keyword) != getattr(other, keyword):
                fail(f"{keyword} differs")
        if seg.SeriesInstanceUID == other.SeriesInstanceUID or seg.SOPInstanceUID == other.SOPInstanceUID:
            fail("two runs share a series or instance UID")
        print(f"check_seg: {other_path}: same frames, positions, references and patient as {seg_path}")


if __name__ == "__main__":
    args = sys.argv[1:]
    algorithm = "AUTOMATIC"
    if args[:1] == ["--semiautomatic"]:
        args, algorithm = args[1:], "SEMIAUTOMATIC"
    if len(args) not in (3, 4):
        sys.exit(__doc__)
    main(*args, algorithm=algorithm)
