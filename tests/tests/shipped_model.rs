//! The committed model file decodes into the current architecture and segments a phantom.
//! A stale model file (architecture or format changed since it was trained) fails here, not in
//! front of a user.

mod common;

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

#[test]
fn export_writes_named_safetensors_with_a_probe() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("w.safetensors");
    let o = common::brainseg(&["export", "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", common::text(&o.stderr));
    let bytes = std::fs::read(&out).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let meta = read_meta(&std::fs::read(SHIPPED).unwrap()).unwrap().0;
    let s = meta.config.input_size;
    assert_eq!(header["encoder.0.conv1.weight"]["shape"], serde_json::json!([meta.config.base_channels, 3, 3, 3]));
    assert_eq!(header["probe.logits"]["shape"], serde_json::json!([1, 1, s, s]));
    let config: serde_json::Value = serde_json::from_str(header["__metadata__"]["config"].as_str().unwrap()).unwrap();
    assert_eq!(config["input_size"], s);
    let end = header["probe.logits"]["data_offsets"][1].as_u64().unwrap() as usize;
    assert_eq!(bytes.len(), 8 + n + end, "data section ends with the last tensor");
}
