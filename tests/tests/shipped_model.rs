//! The committed model file decodes into the current architecture and segments a phantom.
//! A stale model file (architecture or format changed since it was trained) fails here, not in
//! front of a user.

use brainseg_core::Segmenter;
use brainseg_core::model_file::read_meta;
use brainseg_core::synthetic::phantom;
use burn::prelude::*;

const SHIPPED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/brainseg.bsm");

#[test]
fn shipped_model_loads_and_segments() {
    let bytes = std::fs::read(SHIPPED).expect("models/brainseg.bsm is committed");
    assert!(bytes.len() <= 10 * 1024 * 1024, "the model file must stay <= 10 MB: {}", bytes.len());
    let (meta, _) = read_meta(&bytes).expect("valid header and hash");
    let seg = Segmenter::from_bytes(&bytes, &Device::flex()).expect("weights fit the architecture");
    let slice = phantom(256, 256, 11, true);
    let pred = seg.segment(&[&slice.image]).expect("inference").remove(0);
    assert_eq!(pred.mask.dimensions(), (256, 256));
    assert_eq!(pred.size as usize, meta.config.input_size);
    assert!(pred.probabilities.iter().all(|p| (0.0..=1.0).contains(p)));
}
