//! From 8-bit RGB slices to the network's input tensor.

use burn::prelude::*;
use image::RgbImage;
use image::imageops::{FilterType, resize};
use serde::{Deserialize, Serialize};

/// Per-channel intensity normalisation, in 8-bit units: `x' = (x - mean) / std`.
/// Computed on the training split and stored in the model file.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Default for Normalization {
    fn default() -> Self {
        Self { mean: [0.0; 3], std: [255.0; 3] }
    }
}

impl Normalization {
    /// Mean and standard deviation of every channel over `images`.
    pub fn fit<'a>(images: impl IntoIterator<Item = &'a RgbImage>) -> Self {
        let (mut sum, mut sq, mut n) = ([0f64; 3], [0f64; 3], 0u64);
        for img in images {
            for p in img.pixels() {
                for c in 0..3 {
                    let v = p.0[c] as f64;
                    sum[c] += v;
                    sq[c] += v * v;
                }
                n += 1;
            }
        }
        if n == 0 {
            return Self::default();
        }
        let mean = sum.map(|s| s / n as f64);
        let std = std::array::from_fn(|c| (sq[c] / n as f64 - mean[c] * mean[c]).max(1.0).sqrt());
        Self { mean: mean.map(|m| m as f32), std: std.map(|s: f64| s as f32) }
    }
}

/// Resizes to `size`x`size` (bilinear) unless it already is.
pub fn fit_to_input(img: &RgbImage, size: u32) -> std::borrow::Cow<'_, RgbImage> {
    if img.width() == size && img.height() == size {
        std::borrow::Cow::Borrowed(img)
    } else {
        std::borrow::Cow::Owned(resize(img, size, size, FilterType::Triangle))
    }
}

/// Appends `img` in channel-major (CHW) order, normalised, to `out`.
pub fn push_chw(img: &RgbImage, norm: &Normalization, out: &mut Vec<f32>) {
    let inv = norm.std.map(|s| 1.0 / s);
    for c in 0..3 {
        out.extend(img.pixels().map(|p| (p.0[c] as f32 - norm.mean[c]) * inv[c]));
    }
}

/// A batch tensor of square slices already at `size`x`size`.
///
/// # Shapes
/// - output: `[images.len(), 3, size, size]`
pub fn batch_tensor(images: &[&RgbImage], norm: &Normalization, device: &Device) -> Tensor<4> {
    let size = images.first().map_or(0, |i| i.width() as usize);
    let mut data = Vec::with_capacity(images.len() * 3 * size * size);
    for img in images {
        debug_assert_eq!((img.width() as usize, img.height() as usize), (size, size));
        push_chw(img, norm, &mut data);
    }
    Tensor::from_data(TensorData::new(data, [images.len(), 3, size, size]), device)
}
