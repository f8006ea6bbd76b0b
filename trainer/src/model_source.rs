//! Where the model comes from: `--model <file>` or the one shipped inside the binary.

use std::path::Path;

use anyhow::{Context, Result, bail};
use brainseg_core::Segmenter;
use burn::prelude::*;

/// The shipped model (`models/brainseg.bsm`), embedded at build time; empty if the checkout had none.
pub static SHIPPED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/shipped.bsm"));

/// The bytes of `path`, or of the shipped model.
pub fn model_bytes(path: Option<&Path>) -> Result<std::borrow::Cow<'static, [u8]>> {
    match path {
        Some(p) => Ok(std::fs::read(p).with_context(|| format!("cannot read the model file {}", p.display()))?.into()),
        None if SHIPPED.is_empty() => {
            bail!("this build has no shipped model (models/brainseg.bsm was missing): pass --model <file>")
        }
        None => Ok(SHIPPED.into()),
    }
}

/// Loads the model onto `device`, naming the file in any error.
pub fn load(path: Option<&Path>, device: &Device) -> Result<Segmenter> {
    let name = path.map_or_else(|| "the shipped model".to_string(), |p| p.display().to_string());
    let bytes = model_bytes(path)?;
    Segmenter::from_bytes(&bytes, device).with_context(|| format!("{name}: cannot load the model"))
}
