//! 8-bit weight storage (`weights_dtype: "q8"` in a `.bsm` file): a quarter of f32, half of f16,
//! so a wider network still fits the page's download budget. Weights are always computed in f32;
//! only the file is quantised.
//!
//! Each parameter tensor is stored symmetrically per slice of its first dimension (an output
//! channel of a convolution, an input channel of a transposed one): one f32 scale per slice, then
//! one i8 per value, `value = scale * q`. Per-slice scales keep a channel with small weights from
//! losing its precision to a neighbour with large ones.
//!
//! Layout (little-endian): `Q8W1`, u32 tensor count, then per tensor in module order: u8 rank,
//! u32 per dimension, f32 scale per slice, i8 values. Reading checks every length and shape
//! against the network the header describes.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;

use crate::error::{Error, Result};
use crate::model::UNet;

const MAGIC: &[u8; 4] = b"Q8W1";

/// The weights of `model`, quantised.
pub fn encode(model: &UNet) -> Vec<u8> {
    let mut writer = Writer { out: MAGIC.to_vec(), count: 0 };
    writer.out.extend_from_slice(&0u32.to_le_bytes());
    model.visit(&mut writer);
    let count = writer.count;
    writer.out[4..8].copy_from_slice(&count.to_le_bytes());
    writer.out
}

/// `model` (freshly built for the file's architecture) with the weights of `bytes`.
pub fn decode(bytes: &[u8], model: UNet) -> Result<UNet> {
    let corrupt = |what: &str| Error::CorruptModel(format!("8-bit weights: {what}"));
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return Err(corrupt("missing signature"));
    }
    let mut reader = Reader { bytes, pos: 8, failure: None };
    let count = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
    let mut counter = Counter(0);
    model.visit(&mut counter);
    if count as usize != counter.0 {
        return Err(Error::ModelMismatch(format!("the file has {count} weight tensors, the network {}", counter.0)));
    }
    let model = model.map(&mut reader);
    if let Some(e) = reader.failure {
        return Err(e);
    }
    if reader.pos != bytes.len() {
        return Err(corrupt("trailing bytes after the last tensor"));
    }
    Ok(model)
}

/// Per-slice scales and values of `values` shaped `dims`.
fn quantise(values: &[f32], dims: &[usize]) -> (Vec<f32>, Vec<i8>) {
    let slices = dims.first().copied().unwrap_or(1).max(1);
    let per = values.len() / slices;
    let mut scales = Vec::with_capacity(slices);
    let mut q = Vec::with_capacity(values.len());
    for chunk in values.chunks(per.max(1)) {
        let max = chunk.iter().fold(0f32, |m, v| m.max(v.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        scales.push(scale);
        q.extend(chunk.iter().map(|v| (v / scale).round().clamp(-127.0, 127.0) as i8));
    }
    (scales, q)
}

struct Writer {
    out: Vec<u8>,
    count: u32,
}

impl ModuleVisitor for Writer {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        let dims = t.dims();
        let values = t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap_or_default();
        let (scales, q) = quantise(&values, &dims);
        self.out.push(D as u8);
        for d in dims {
            self.out.extend_from_slice(&(d as u32).to_le_bytes());
        }
        for s in scales {
            self.out.extend_from_slice(&s.to_le_bytes());
        }
        self.out.extend(q.iter().map(|&v| v as u8));
        self.count += 1;
    }
}

struct Counter(usize);

impl ModuleVisitor for Counter {
    fn visit_float<const D: usize>(&mut self, _param: &Param<Tensor<D>>) {
        self.0 += 1;
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    failure: Option<Error>,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| Error::CorruptModel("8-bit weights: cut short".into()))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn tensor(&mut self, expected: &[usize]) -> Result<Vec<f32>> {
        let rank = self.take(1)?[0] as usize;
        let mut dims = Vec::with_capacity(rank);
        for _ in 0..rank {
            dims.push(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")) as usize);
        }
        if dims != expected {
            return Err(Error::ModelMismatch(format!("a weight tensor is {dims:?}, the network expects {expected:?}")));
        }
        let n: usize = dims.iter().product();
        let slices = dims.first().copied().unwrap_or(1).max(1);
        let scales: Vec<f32> =
            self.take(4 * slices)?.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))).collect();
        if scales.iter().any(|s| !s.is_finite()) {
            return Err(Error::CorruptModel("8-bit weights: a scale is not finite".into()));
        }
        let per = (n / slices).max(1);
        let q = self.take(n)?;
        Ok(q.iter().enumerate().map(|(i, &v)| scales[i / per] * f32::from(v as i8)).collect())
    }
}

impl ModuleMapper for Reader<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let mut failure = self.failure.take();
        let param = crate::model_file::refill(param, &mut failure, |dims| self.tensor(dims));
        self.failure = failure;
        param
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UNetConfig;

    fn tiny() -> UNetConfig {
        UNetConfig::new().with_base_channels(8).with_depth(2).with_norm_groups(2).with_input_size(16)
    }

    #[test]
    fn quantised_weights_predict_nearly_the_same() {
        let device = Device::flex();
        device.seed(4);
        let model = tiny().init(&device);
        let bytes = encode(&model);
        let loaded = decode(&bytes, tiny().init(&device)).unwrap();
        let x = Tensor::<4>::random([1, 3, 16, 16], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let (a, b) = (model.forward(x.clone()), loaded.forward(x));
        let scale: f32 = a.clone().abs().max().into_scalar::<f32>();
        let diff: f32 = (a - b).abs().max().into_scalar::<f32>();
        assert!(diff < 0.05 * scale.max(1e-3), "{diff} vs {scale}");
        // About one byte per weight.
        assert!(bytes.len() < model.num_params() * 13 / 10, "{} bytes", bytes.len());
    }

    #[test]
    fn each_slice_gets_its_own_scale() {
        let (scales, q) = quantise(&[1.0, -0.5, 100.0, 50.0], &[2, 2]);
        assert_eq!(scales, vec![1.0 / 127.0, 100.0 / 127.0]);
        assert_eq!(q, vec![127, -64, 127, 64]);
        // An all-zero slice stays zero instead of dividing by zero.
        assert_eq!(quantise(&[0.0, 0.0], &[1, 2]).1, vec![0, 0]);
    }

    #[test]
    fn damaged_or_foreign_weights_are_refused() {
        let device = Device::flex();
        let bytes = encode(&tiny().init(&device));
        for cut in [0, 7, 9, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode(&bytes[..cut], tiny().init(&device)).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(decode(&longer, tiny().init(&device)), Err(Error::CorruptModel(_))));
        let other = tiny().with_base_channels(4);
        assert!(matches!(decode(&bytes, other.init(&device)), Err(Error::ModelMismatch(_))));
    }
}
