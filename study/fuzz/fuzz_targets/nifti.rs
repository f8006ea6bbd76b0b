//! Any bytes as a NIfTI file (plain or gzip): reading, measuring an all-tumor mask and exporting
//! it must not panic, and the export must read back with the same dimensions.
#![no_main]

use brainseg_study::{measure, nifti};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(volume) = nifti::read("fuzzed.nii", data) else { return };
    let n = volume.slice_len();
    let mask = vec![1u8; volume.voxels.len()];
    let slices: Vec<&[u8]> = mask.chunks(n.max(1)).collect();
    let _ = measure::summarize(&volume, &slices);
    let bytes = nifti::write_mask(&volume, &mask).expect("a mask of the right size always exports");
    let back = nifti::read("mask.nii.gz", &bytes).expect("an exported mask reads back");
    assert_eq!(back.voxels.len(), volume.voxels.len());
});
