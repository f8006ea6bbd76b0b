//! Any bytes as a DICOM file: parsing, then stacking with a valid slice of the same series, must
//! return (an image or an error) without panicking, hanging or allocating without bound.
#![no_main]

use brainseg_study::Loader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(image) = brainseg_study::dicom::parse(data) {
        assert_eq!(image.pixels.len(), image.rows * image.columns * image.frames);
    }
    let mut loader = Loader::default();
    loader.add("fuzzed.dcm", data);
    loader.add("again.dcm", data);
    for study in loader.finish().studies {
        for k in 0..study.slices() {
            assert_eq!(study.rgb_slice(k).len(), study.width() * study.height() * 3);
        }
    }
});
