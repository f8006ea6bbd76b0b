//! Enhanced MR functional groups: any bytes as the values of the shared and per-frame functional
//! group sequences of an otherwise valid multi-frame file (first byte: frame count, next two: where
//! the shared groups end). Parsing, splitting into frames and stacking must return a value or an
//! error without panicking, hanging or allocating without bound.
#![no_main]

use brainseg_study::Loader;
use brainseg_study::synth::enhanced::with_raw_groups;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&[frames, a, b], rest)) = data.split_first_chunk::<3>() else { return };
    let split = usize::from(u16::from_le_bytes([a, b])).min(rest.len());
    let (shared, per_frame) = rest.split_at(split);
    let file = with_raw_groups(usize::from(frames % 8) + 1, shared, per_frame);
    if let Ok(image) = brainseg_study::dicom::parse(&file) {
        assert!(image.frame_geometry.is_empty() || image.frame_geometry.len() == image.frames);
    }
    let mut loader = Loader::default();
    loader.add("enhanced.dcm", &file);
    for study in loader.finish().studies {
        assert_eq!(study.flair.voxels.len(), study.width() * study.height() * study.slices());
    }
});
