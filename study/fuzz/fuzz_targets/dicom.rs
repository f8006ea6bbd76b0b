//! Any bytes as a DICOM file: parsing, then stacking with a valid slice of the same series, and
//! reading them as a DICOM SEG must return (a value or an error) without panicking, hanging or
//! allocating without bound.
#![no_main]

use brainseg_study::Loader;
use brainseg_study::dicom::seg;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(image) = brainseg_study::dicom::parse(data) {
        assert_eq!(image.pixels.len(), image.rows * image.columns * image.frames);
    }
    if let Ok(read) = seg::read(data) {
        assert!(read.frames.iter().all(|f| f.mask.len() == read.rows * read.columns));
    }
    let mut loader = Loader::default();
    loader.add("fuzzed.dcm", data);
    loader.add("again.dcm", data);
    for study in loader.finish().studies {
        for k in 0..study.slices() {
            assert_eq!(study.rgb_slice(k).len(), study.width() * study.height() * 3);
        }
        // Whatever the source's attributes, a SEG of it is one we read back, frame for slice.
        let info = seg::SegInfo { model_sha256: "0", software_version: "fuzz", uid_seed: 1, unix_seconds: 0, edited: false };
        let mask = vec![1u8; study.width() * study.height() * study.slices()];
        if let Ok(Some(bytes)) = seg::write(&study.flair, &mask, &info) {
            assert_eq!(seg::read(&bytes).expect("our own SEG").frames.len(), study.slices());
        }
    }
});
