//! `brainseg export`: a model's weights as safetensors for PyTorch (and from there ONNX), with a
//! probe — an input and brainseg's logits for it — so the other side can prove it computes the
//! same function before anything is timed.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use brainseg_core::export::{Named, named_weights, safetensors};
use brainseg_core::{UNet, UNetConfig};
use burn::prelude::*;

use crate::run_dir::write_atomic;

/// Writes `model` (of `config`) to `out`; returns the number of tensors written.
pub fn write(model: &UNet, config: &UNetConfig, out: &Path, device: &Device) -> Result<usize> {
    let (s, c) = (config.input_size, config.in_channels);
    let n = c * s * s;
    // Smooth, deterministic values in the range normalised MRI takes.
    let probe: Vec<f32> = (0..n).map(|i| ((i as f32 * 0.37).sin() + (i as f32 * 0.011).cos()) * 0.8).collect();
    let input = Tensor::<4>::from_data(TensorData::new(probe.clone(), [1, c, s, s]), device);
    let logits = model.forward(input).into_data().convert::<f32>().try_into_vec::<f32>().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut tensors = named_weights(model);
    tensors.push(Named { name: "probe.input".into(), shape: vec![1, c, s, s], values: probe });
    tensors.push(Named { name: "probe.logits".into(), shape: vec![1, 1, s, s], values: logits });
    let mut metadata = BTreeMap::new();
    metadata.insert("config".to_string(), serde_json::to_string(config)?);
    metadata.insert("format".to_string(), "brainseg U-Net weights; probe.* are a test input and its logits".to_string());
    write_atomic(out, &safetensors(&tensors, &metadata))?;
    Ok(tensors.len())
}
