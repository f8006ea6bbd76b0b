//! Any bytes as a zipped study: opening the archive, expanding its entries within the limits and
//! reading them as scans must return studies or problems without panicking or running away.
#![no_main]

use brainseg_study::Loader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = brainseg_study::zip::entries(data) {
        for entry in entries {
            let _ = entry.read(data);
        }
    }
    let mut loader = Loader::default();
    loader.add("fuzzed.zip", data);
    for study in loader.finish().studies {
        for k in 0..study.slices() {
            assert_eq!(study.rgb_slice(k).len(), study.width() * study.height() * 3);
        }
    }
});
