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

/// Positions of the slices that make the input of slice `z` of a `len`-slice volume with
/// `context` neighbours on each side, from below to above. Past the volume's first or last slice
/// the nearest slice repeats (an edge slice is its own missing neighbour), so every slice gets an
/// input and a lone image is a stack of copies of itself.
pub fn stack_indices(len: usize, z: usize, context: usize) -> Vec<usize> {
    let last = len.saturating_sub(1);
    (0..=2 * context).map(|d| (z + d).saturating_sub(context).min(last)).collect()
}

/// A batch tensor of square slices already at `size`x`size`.
///
/// # Shapes
/// - output: `[images.len(), 3, size, size]`
pub fn batch_tensor(images: &[&RgbImage], norm: &Normalization, device: &Device) -> Tensor<4> {
    let stacks: Vec<Vec<&RgbImage>> = images.iter().map(|&i| vec![i]).collect();
    batch_tensor_stacks(&stacks, norm, device)
}

/// A batch tensor of slice stacks (each a slice with its neighbours, see [`stack_indices`]),
/// every slice already at `size`x`size`; each slice gives three channels, normalised alike.
///
/// # Shapes
/// - output: `[stacks.len(), 3 * stack length, size, size]`
pub fn batch_tensor_stacks(stacks: &[Vec<&RgbImage>], norm: &Normalization, device: &Device) -> Tensor<4> {
    let size = stacks.first().and_then(|s| s.first()).map_or(0, |i| i.width() as usize);
    let depth = stacks.first().map_or(1, Vec::len);
    let mut data = Vec::with_capacity(stacks.len() * 3 * depth * size * size);
    for stack in stacks {
        debug_assert_eq!(stack.len(), depth);
        for img in stack {
            debug_assert_eq!((img.width() as usize, img.height() as usize), (size, size));
            push_chw(img, norm, &mut data);
        }
    }
    Tensor::from_data(TensorData::new(data, [stacks.len(), 3 * depth, size, size]), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_repeat_the_edge_slice() {
        assert_eq!(stack_indices(5, 0, 1), [0, 0, 1]);
        assert_eq!(stack_indices(5, 2, 1), [1, 2, 3]);
        assert_eq!(stack_indices(5, 4, 1), [3, 4, 4]);
        assert_eq!(stack_indices(1, 0, 2), [0; 5]);
        assert_eq!(stack_indices(3, 1, 0), [1]);
    }

    #[test]
    fn stacked_channels_follow_slice_order() {
        let norm = Normalization::default();
        let img = |v| RgbImage::from_pixel(2, 2, image::Rgb([v, v, v]));
        let (a, b) = (img(0), img(255));
        let t = batch_tensor_stacks(&[vec![&a, &b, &a]], &norm, &Device::flex());
        assert_eq!(t.dims(), [1, 9, 2, 2]);
        let v = t.into_data().try_into_vec::<f32>().expect("f32 data");
        let per_channel: Vec<f32> = v.chunks(4).map(|c| c[0]).collect();
        assert_eq!(per_channel, [0., 0., 0., 1., 1., 1., 0., 0., 0.]);
    }
}
