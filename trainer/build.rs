//! Embeds the shipped model (`models/brainseg.bsm`) when it exists, so `brainseg` works from
//! anywhere without a `--model` flag. A checkout without it still builds; the CLI then says so.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let shipped = manifest.join("../models/brainseg.bsm");
    println!("cargo:rerun-if-changed={}", shipped.display());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("shipped.bsm");
    let bytes = std::fs::read(&shipped).unwrap_or_default();
    std::fs::write(out, bytes).expect("write OUT_DIR/shipped.bsm");
}
