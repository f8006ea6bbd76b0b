//! Starting a twice-as-wide U-Net from a trained one (`train --init-from` with `--base-channels`
//! twice the model file's): the wide network computes exactly the narrow one's function at step
//! 0, so training begins at the narrow model's accuracy instead of from scratch (Chen et al.,
//! "Net2Net", 2016).
//!
//! Every channel of every widened layer is duplicated (wide channel `j` copies narrow channel
//! `j / 2`). GroupNorm stays exact because each wide group of `2k` channels holds exactly the
//! narrow group's `k` channels twice, so its mean and variance are unchanged. A layer reading
//! duplicated channels splits each narrow weight `w` between the two copies as `(1/2 + e) w` and
//! `(1/2 - e) w` with a small random `e`: the sum is `w`, so the output is unchanged, while the
//! two copies get different gradients and grow apart (an even split would keep them identical
//! for ever). Which dimension of a weight reads its input is told by the shape: `[out, in, k, k]`
//! for the 3x3 and 1x1 convolutions, `[in, out, 2, 2]` for the transposed ones.

use anyhow::{Result, anyhow};
use brainseg_core::model_file::{float_params, refill_all};
use brainseg_core::{UNet, UNetConfig};
use burn::prelude::*;

/// How far the split of a duplicated input channel's weight departs from half and half.
const SPLIT_SPREAD: f32 = 0.1;

/// Whether `wide` is `narrow` at twice the width (same depth, groups, up-sampling, input).
pub fn is_doubling(narrow: &UNetConfig, wide: &UNetConfig) -> bool {
    wide.base_channels == 2 * narrow.base_channels
        && UNetConfig { base_channels: wide.base_channels, ..narrow.clone() } == *wide
}

/// `narrow`'s function in the architecture `wide` (see the module docs); `seed` picks the splits.
pub fn widen(narrow: &UNet, wide: &UNetConfig, device: &Device, seed: u64) -> Result<UNet> {
    refill_all(wide.init(device), float_params(narrow), |shape, values, dims| {
        let seed = seed ^ splitmix(values.len() as u64 ^ seed.rotate_left(17));
        widen_values(&values, shape, dims, seed)
    })
    .map_err(|e| anyhow!("cannot widen the model: {e}"))
}

/// Whether `wide` is `narrow` reading neighbouring slices too (2.5D input from a 2D model).
pub fn is_adding_context(narrow: &UNetConfig, wide: &UNetConfig) -> bool {
    narrow.context() == 0
        && wide.context() > 0
        && UNetConfig { in_channels: wide.in_channels, context_slices: wide.context_slices, ..narrow.clone() } == *wide
}

/// `narrow` (a 2D model) in the architecture `wide`, which also reads neighbouring slices: the
/// first convolution's weights for the middle slice are `narrow`'s and those for the neighbours
/// zero, so the network computes `narrow`'s function at step 0 and learns what the neighbours
/// add (their weights get gradients from the first step).
pub fn add_context(narrow: &UNet, wide: &UNetConfig, device: &Device) -> Result<UNet> {
    let middle = wide.context();
    refill_all(wide.init(device), float_params(narrow), |shape, values, dims| {
        if dims == shape {
            return Ok(values);
        }
        // The first convolution, [out, 3 * slices, k, k] from [out, 3, k, k].
        match (shape, dims) {
            ([o, 3, kh, kw], [o2, c, kh2, kw2]) if o == o2 && kh == kh2 && kw == kw2 && c % 3 == 0 => {
                let per = kh * kw;
                let mut out = vec![0.0; o * c * per];
                for oc in 0..*o {
                    let src = &values[oc * 3 * per..(oc + 1) * 3 * per];
                    let at = (oc * c + 3 * middle) * per;
                    out[at..at + 3 * per].copy_from_slice(src);
                }
                Ok(out)
            }
            _ => Err(format!("shape {shape:?} does not map to {dims:?}")),
        }
    })
    .map_err(|e| anyhow!("cannot add context slices to the model: {e}"))
}

/// The dimension of a weight that reads the previous layer's channels, if any.
fn fan_in_dim(shape: &[usize]) -> Option<usize> {
    match shape {
        [_, _, 2, 2] => Some(0),
        [_, _, _, _] => Some(1),
        _ => None,
    }
}

/// One narrow tensor's values in the wide shape: dimensions that doubled are duplicated, the
/// fan-in one split as the module docs say.
fn widen_values(values: &[f32], narrow: &[usize], wide: &[usize], seed: u64) -> Result<Vec<f32>, String> {
    if narrow.len() != wide.len() || narrow.iter().zip(wide).any(|(&n, &w)| w != n && w != 2 * n) {
        return Err(format!("shape {narrow:?} does not double to {wide:?}"));
    }
    let fan_in = fan_in_dim(wide).filter(|&d| wide[d] == 2 * narrow[d]);
    let total: usize = wide.iter().product();
    let mut out = Vec::with_capacity(total);
    let mut index = vec![0usize; wide.len()];
    for _ in 0..total {
        let mut src = 0;
        for (d, &i) in index.iter().enumerate() {
            let i = if wide[d] == narrow[d] { i } else { i / 2 };
            src = src * narrow[d] + i;
        }
        let mut v = values[src];
        if let Some(d) = fan_in {
            // Both copies draw the same e (hashed from the narrow element), with opposite signs.
            let e = (unit(splitmix(seed ^ src as u64)) - 0.5) * 2.0 * SPLIT_SPREAD;
            v *= if index[d] % 2 == 0 { 0.5 + e } else { 0.5 - e };
        }
        out.push(v);
        for d in (0..wide.len()).rev() {
            index[d] += 1;
            if index[d] < wide[d] {
                break;
            }
            index[d] = 0;
        }
    }
    Ok(out)
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// `x` as a number in [0, 1).
fn unit(x: u64) -> f32 {
    (x >> 40) as f32 / (1u64 << 24) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use brainseg_core::model::Upsampling;

    fn max_diff(a: Tensor<4>, b: Tensor<4>) -> f32 {
        (a - b).abs().max().into_scalar::<f32>()
    }

    #[test]
    fn the_wide_network_computes_the_narrow_ones_function() {
        let device = Device::flex();
        device.seed(3);
        for upsampling in [Upsampling::Transposed, Upsampling::Bilinear] {
            let narrow_cfg = UNetConfig::new()
                .with_base_channels(4)
                .with_depth(2)
                .with_norm_groups(2)
                .with_upsampling(upsampling)
                .with_input_size(16);
            let wide_cfg = UNetConfig { base_channels: 8, ..narrow_cfg.clone() };
            assert!(is_doubling(&narrow_cfg, &wide_cfg));
            let narrow = narrow_cfg.init(&device);
            let wide = widen(&narrow, &wide_cfg, &device, 7).unwrap();
            assert_eq!(wide.num_params(), wide_cfg.init(&device).num_params());
            let x = Tensor::<4>::random([2, 3, 16, 16], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
            let diff = max_diff(wide.forward(x.clone()), narrow.forward(x));
            assert!(diff < 1e-4, "{upsampling:?}: {diff}");
        }
    }

    #[test]
    fn duplicated_channels_do_not_share_their_weights() {
        // The second conv of the first block reads duplicated channels: its two copies of each
        // narrow weight must differ (else the copies would train identically) and sum to it.
        let values: Vec<f32> = (1..=4).map(|v| v as f32).collect();
        let out = widen_values(&values, &[1, 2, 1, 2], &[2, 4, 1, 2], 5).unwrap();
        for o in 0..2 {
            for i in 0..2 {
                for x in 0..2 {
                    let even = out[o * 8 + (2 * i) * 2 + x];
                    let odd = out[o * 8 + (2 * i + 1) * 2 + x];
                    assert!((even + odd - values[i * 2 + x]).abs() < 1e-6);
                    assert!((even - odd).abs() > 1e-6);
                }
            }
        }
    }

    #[test]
    fn a_context_model_started_from_a_2d_one_computes_its_function() {
        let device = Device::flex();
        device.seed(4);
        let flat = UNetConfig::new().with_base_channels(4).with_depth(2).with_norm_groups(2).with_input_size(16);
        let stacked = flat.clone().with_context(1);
        assert!(is_adding_context(&flat, &stacked));
        assert!(!is_adding_context(&flat, &stacked.clone().with_base_channels(8)));
        let narrow = flat.init(&device);
        let wide = add_context(&narrow, &stacked, &device).unwrap();
        let normal = burn::tensor::Distribution::Normal(0.0, 1.0);
        let middle = Tensor::<4>::random([2, 3, 16, 16], normal, &device);
        let below = Tensor::<4>::random([2, 3, 16, 16], normal, &device);
        let above = Tensor::<4>::random([2, 3, 16, 16], normal, &device);
        let x = Tensor::cat(vec![below, middle.clone(), above], 1);
        let diff = max_diff(wide.forward(x), narrow.forward(middle));
        assert!(diff < 1e-4, "{diff}");
    }

    #[test]
    fn other_shapes_are_refused() {
        assert!(widen_values(&[0.0; 6], &[6], &[9], 0).is_err());
        let narrow = UNetConfig::new();
        assert!(!is_doubling(&narrow, &narrow.clone().with_base_channels(24)));
        assert!(!is_doubling(&narrow, &narrow.clone().with_base_channels(32).with_depth(3)));
    }
}
