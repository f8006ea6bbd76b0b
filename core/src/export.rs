//! Weights out for other runtimes: a safetensors file named after the module tree
//! (`encoder.0.conv1.weight`, `decoder.1.up.bias`, …), with the architecture in its metadata.
//! `bench/torch_unet.py` rebuilds the same U-Net in PyTorch from it, for side-by-side benchmarks
//! and ONNX export.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;

use crate::model::UNet;

/// One tensor: its path in the module tree, shape and values.
#[derive(Debug, Clone, PartialEq)]
pub struct Named {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

#[derive(Default)]
struct Collect {
    path: Vec<String>,
    found: Vec<Named>,
}

impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let tensor = param.val();
        let shape = tensor.dims().to_vec();
        let values = tensor.into_data().convert::<f32>().try_into_vec::<f32>().unwrap_or_default();
        self.found.push(Named { name: self.path.join("."), shape, values });
    }
}

/// Every float parameter of `model`, in module order.
pub fn named_weights(model: &UNet) -> Vec<Named> {
    let mut collect = Collect::default();
    model.visit(&mut collect);
    collect.found
}

/// A safetensors file (F32, little endian) of `tensors`, with string `metadata`.
pub fn safetensors(tensors: &[Named], metadata: &BTreeMap<String, String>) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), serde_json::to_value(metadata).unwrap_or_default());
    let mut offset = 0usize;
    for t in tensors {
        let end = offset + t.values.len() * 4;
        header.insert(
            t.name.clone(),
            serde_json::json!({ "dtype": "F32", "shape": t.shape, "data_offsets": [offset, end] }),
        );
        offset = end;
    }
    let mut json = serde_json::Value::Object(header).to_string().into_bytes();
    // Pad the header with spaces so the data starts 8-byte aligned, as the format recommends.
    while (json.len() + 8) % 8 != 0 {
        json.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + offset);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    for t in tensors {
        out.extend(t.values.iter().flat_map(|v| v.to_le_bytes()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UNetConfig;

    #[test]
    fn every_parameter_is_named_after_its_place_in_the_tree() {
        let device = Device::flex();
        let model = UNetConfig::new().with_base_channels(8).with_depth(2).with_input_size(32).init(&device);
        let weights = named_weights(&model);
        let count: usize = weights.iter().map(|w| w.values.len()).sum();
        assert_eq!(count, model.num_params());
        let names: Vec<&str> = weights.iter().map(|w| w.name.as_str()).collect();
        for expected in ["encoder.0.conv1.weight", "encoder.1.norm2.gamma", "decoder.0.up.weight", "head.bias"] {
            assert!(names.contains(&expected), "{expected} not in {names:?}");
        }
        let file = safetensors(&weights, &BTreeMap::new());
        let header_len = u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
        assert_eq!(file.len(), 8 + header_len + 4 * count);
    }
}
