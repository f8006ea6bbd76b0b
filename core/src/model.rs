//! The U-Net: configuration and module.
//!
//! Width, depth, normalisation groups and the up-sampling kind are configuration, so the compact
//! default and the ~17.2M-parameter reference share one implementation.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::norm::{GroupNorm, GroupNormConfig};
use burn::prelude::*;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use serde::{Deserialize, Serialize};

use crate::conv::{ConvImpl, conv1x1, conv3x3, conv3x3_cat, conv_transpose2x2};
use crate::norm::group_norm_relu;
use crate::pool::max_pool2x2;

/// How the decoder doubles the resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Upsampling {
    /// Learned 2x2 transposed convolution, stride 2 (Ronneberger et al.).
    Transposed,
    /// Bilinear interpolation; the bottleneck and decoder are half as wide (milesial/Pytorch-UNet).
    Bilinear,
}

/// Named architectures, so a run or a benchmark can ask for one by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Preset {
    /// Width 16: small enough for the browser, fast on a 2-core CPU (the shipped model is this
    /// architecture at width 32).
    Compact,
    /// The reference system's U-Net (width 64, bilinear decoder, ~17.2M parameters).
    Reference,
}

/// Hyper-parameters of the U-Net.
#[derive(Config, Debug, PartialEq)]
pub struct UNetConfig {
    /// Input channels: (pre-contrast, FLAIR, post-contrast) of each slice the network sees, so
    /// `3 * (2 * context_slices + 1)`.
    #[config(default = 3)]
    pub in_channels: usize,
    /// Neighbouring slices on each side fed as extra channels (2.5D input), ordered from below
    /// to above: 1 gives slices z-1, z, z+1. `None` (model files from before this field) is 0.
    pub context_slices: Option<usize>,
    /// Channels of the first encoder level; each level below doubles them.
    #[config(default = 16)]
    pub base_channels: usize,
    /// Number of 2x down-samplings between the input and the bottleneck.
    #[config(default = 4)]
    pub depth: usize,
    /// Groups of every GroupNorm layer (must divide every level's width).
    #[config(default = 8)]
    pub norm_groups: usize,
    /// How the decoder up-samples.
    #[config(default = "Upsampling::Transposed")]
    pub upsampling: Upsampling,
    /// Side of the square slice the network sees; inputs are resized to it.
    #[config(default = 256)]
    pub input_size: usize,
}

impl Preset {
    /// The configuration this preset names.
    pub fn config(self) -> UNetConfig {
        match self {
            Preset::Compact => UNetConfig::new(),
            Preset::Reference => UNetConfig::new()
                .with_base_channels(64)
                .with_upsampling(Upsampling::Bilinear),
        }
    }
}

/// Two (3x3 convolution, GroupNorm, ReLU) layers.
#[derive(Module, Debug)]
pub struct DoubleConv {
    conv1: Conv2d,
    norm1: GroupNorm,
    conv2: Conv2d,
    norm2: GroupNorm,
}

impl DoubleConv {
    fn new(input: usize, mid: usize, output: usize, groups: usize, device: &Device) -> Self {
        let conv = |i, o| {
            Conv2dConfig::new([i, o], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_bias(false)
                .init(device)
        };
        Self {
            conv1: conv(input, mid),
            norm1: GroupNormConfig::new(groups, mid).init(device),
            conv2: conv(mid, output),
            norm2: GroupNormConfig::new(groups, output).init(device),
        }
    }

    /// # Shapes
    /// - input: `[batch, in, h, w]` -> `[batch, out, h, w]`
    fn forward(&self, x: Tensor<4>, imp: ConvImpl) -> Tensor<4> {
        let x = group_norm_relu(&self.norm1, conv3x3(&self.conv1, x, imp), imp);
        group_norm_relu(&self.norm2, conv3x3(&self.conv2, x, imp), imp)
    }

    /// [`Self::forward`] of the concatenation of `a` and `b` along channels.
    fn forward_cat(&self, a: Tensor<4>, b: Tensor<4>, imp: ConvImpl) -> Tensor<4> {
        let x = group_norm_relu(&self.norm1, conv3x3_cat(&self.conv1, a, b, imp), imp);
        group_norm_relu(&self.norm2, conv3x3(&self.conv2, x, imp), imp)
    }
}

/// One decoder level: up-sample, concatenate the skip connection, [`DoubleConv`].
#[derive(Module, Debug)]
pub struct UpBlock {
    up: Option<ConvTranspose2d>,
    conv: DoubleConv,
}

/// A U-Net producing one logit per pixel (tumor vs background).
#[derive(Module, Debug)]
pub struct UNet {
    encoder: Vec<DoubleConv>,
    bottleneck: DoubleConv,
    decoder: Vec<UpBlock>,
    head: Conv2d,
    #[module(skip)]
    conv_impl: ConvImpl,
}

impl UNetConfig {
    /// Neighbouring slices on each side of the segmented one (0: the slice alone).
    pub fn context(&self) -> usize {
        self.context_slices.unwrap_or(0)
    }

    /// This configuration with `context` neighbouring slices on each side as input (2.5D).
    pub fn with_context(self, context: usize) -> Self {
        let context_slices = (context > 0).then_some(context);
        Self { in_channels: 3 * (2 * context + 1), context_slices, ..self }
    }

    /// Slices per input: the segmented one and its neighbours.
    pub fn stack_len(&self) -> usize {
        2 * self.context() + 1
    }

    /// Channels of encoder level `level` (0 = full resolution).
    fn width(&self, level: usize) -> usize {
        self.base_channels << level
    }

    /// Checks the configuration before building, so a bad file or flag fails with a message.
    pub fn validate(&self) -> Result<(), String> {
        if self.in_channels == 0 || self.base_channels == 0 || self.norm_groups == 0 {
            return Err("channels and norm_groups must be positive".into());
        }
        if self.context() > 3 || self.in_channels != 3 * self.stack_len() {
            return Err(format!(
                "in_channels {} does not match {} context slice(s) on each side (3 per slice, at most 3 each side)",
                self.in_channels,
                self.context()
            ));
        }
        if self.depth == 0 || self.depth > 6 {
            return Err(format!("depth {} is outside 1..=6", self.depth));
        }
        if self.base_channels % self.norm_groups != 0 {
            return Err(format!(
                "norm_groups {} does not divide base_channels {}",
                self.norm_groups, self.base_channels
            ));
        }
        if self.input_size == 0 || self.input_size % (1 << self.depth) != 0 {
            return Err(format!(
                "input_size {} is not a positive multiple of 2^depth = {}",
                self.input_size,
                1 << self.depth
            ));
        }
        Ok(())
    }

    /// Builds the network with freshly initialised weights.
    ///
    /// # Panics
    /// If [`UNetConfig::validate`] fails; callers holding untrusted configs validate first.
    pub fn init(&self, device: &Device) -> UNet {
        if let Err(e) = self.validate() {
            panic!("invalid UNetConfig: {e}");
        }
        let g = self.norm_groups;
        let bilinear = self.upsampling == Upsampling::Bilinear;
        let mut encoder = Vec::with_capacity(self.depth);
        let mut prev = self.in_channels;
        for level in 0..self.depth {
            let w = self.width(level);
            encoder.push(DoubleConv::new(prev, w, w, g, device));
            prev = w;
        }
        // The bilinear variant halves the bottleneck so the concatenation stays 2x the skip width.
        let bottom = if bilinear { prev } else { self.width(self.depth) };
        let bottleneck = DoubleConv::new(prev, bottom, bottom, g, device);

        let mut decoder = Vec::with_capacity(self.depth);
        let mut below = bottom;
        for level in (0..self.depth).rev() {
            let skip = self.width(level);
            let block = if bilinear {
                let out = if level == 0 { skip } else { self.width(level - 1) };
                let input = below + skip;
                UpBlock { up: None, conv: DoubleConv::new(input, input / 2, out, g, device) }
            } else {
                let up = ConvTranspose2dConfig::new([below, skip], [2, 2])
                    .with_stride([2, 2])
                    .init(device);
                UpBlock { up: Some(up), conv: DoubleConv::new(2 * skip, skip, skip, g, device) }
            };
            below = block_out(&block);
            decoder.push(block);
        }
        let head = Conv2dConfig::new([below, 1], [1, 1]).init(device);
        UNet { encoder, bottleneck, decoder, head, conv_impl: ConvImpl::Auto }
    }
}

fn block_out(block: &UpBlock) -> usize {
    block.conv.norm2.num_channels
}

impl UNet {
    /// The same network computing its convolutions with `imp` (numerically equivalent; the
    /// default, [`ConvImpl::Auto`], picks the fastest for the device).
    pub fn with_conv_impl(mut self, imp: ConvImpl) -> Self {
        self.conv_impl = imp;
        self
    }

    /// Logits of the tumor class.
    ///
    /// # Shapes
    /// - input: `[batch, in_channels, s, s]`, `s` a multiple of `2^depth`
    /// - output: `[batch, 1, s, s]`
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let imp = self.conv_impl;
        let mut skips = Vec::with_capacity(self.encoder.len());
        let mut x = input;
        for level in &self.encoder {
            let y = level.forward(x, imp);
            x = max_pool2x2(y.clone(), imp);
            skips.push(y);
        }
        x = self.bottleneck.forward(x, imp);
        for block in &self.decoder {
            let skip = skips.pop().expect("one skip per decoder level");
            x = match &block.up {
                Some(up) => conv_transpose2x2(up, x, imp),
                None => {
                    let [_, _, h, w] = skip.dims();
                    let opts = InterpolateOptions::new(InterpolateMode::Bilinear)
                        .with_align_corners(true)
                        .with_output_size([h, w]);
                    interpolate(x, opts)
                }
            };
            x = block.conv.forward_cat(skip, x, imp);
        }
        conv1x1(&self.head, x, imp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_and_upsampling_keeps_the_input_shape() {
        let device = Device::flex();
        for preset in [Preset::Compact, Preset::Reference] {
            // Real widths, small slices: shapes are what is under test, not speed.
            let config = preset.config().with_input_size(32);
            let model = config.init(&device);
            let out = model.forward(Tensor::zeros([2, 3, 32, 32], &device));
            assert_eq!(out.dims(), [2, 1, 32, 32], "{preset:?}");
        }
        for depth in 1..=5 {
            for upsampling in [Upsampling::Transposed, Upsampling::Bilinear] {
                let config = UNetConfig::new()
                    .with_base_channels(8)
                    .with_depth(depth)
                    .with_upsampling(upsampling)
                    .with_input_size(64);
                let out = config.init(&device).forward(Tensor::zeros([1, 3, 64, 64], &device));
                assert_eq!(out.dims(), [1, 1, 64, 64], "depth {depth} {upsampling:?}");
            }
        }
    }

    #[test]
    fn parameter_counts_match_the_named_architectures() {
        let device = Device::flex();
        let compact = Preset::Compact.config().init(&device).num_params();
        let reference = Preset::Reference.config().init(&device).num_params();
        assert_eq!(compact, 1_942_577);
        // The reference system's U-Net: ~17.2M parameters.
        assert!((17_100_000..17_300_000).contains(&reference), "{reference}");
    }

    #[test]
    fn invalid_configs_are_reported() {
        assert!(UNetConfig::new().with_input_size(100).validate().is_err());
        assert!(UNetConfig::new().with_base_channels(12).with_norm_groups(8).validate().is_err());
        assert!(UNetConfig::new().with_depth(0).validate().is_err());
        assert!(Preset::Reference.config().validate().is_ok());
    }
}
