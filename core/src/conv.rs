//! Convolutions of the U-Net, and which code computes them.
//!
//! On Burn's `flex` CPU backend the convolutions run on our own kernels (`crate::kernels`):
//! `flex` has no convolution backward kernels and its generic fallback is many times the forward
//! cost. Everywhere else (WebGPU, CUDA) they run on the backend's own kernels. `Gemm` rewrites
//! the same convolutions as im2col + matrix products out of Burn tensor ops, for comparison in
//! the benchmarks. The weights are the ordinary `Conv2d`/`ConvTranspose2d` parameters either way,
//! so model files do not depend on the choice.

use burn::module::Param;
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::prelude::*;
use burn::tensor::ops::PadMode;

/// Which implementation the convolution layers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConvImpl {
    /// Our CPU kernels where the device supports them (`flex`), else the backend's own.
    #[default]
    Auto,
    /// The backend's own convolution kernels.
    Native,
    /// im2col + GEMM out of Burn tensor ops.
    Gemm,
}

/// What actually computes a convolution on a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resolved {
    Native,
    Gemm,
    #[cfg(feature = "cpu-kernels")]
    Kernels,
}

impl ConvImpl {
    fn resolve(self, device: &Device) -> Resolved {
        match self {
            ConvImpl::Native => Resolved::Native,
            ConvImpl::Gemm => Resolved::Gemm,
            #[cfg(feature = "cpu-kernels")]
            ConvImpl::Auto if crate::kernels::supports(device) => Resolved::Kernels,
            ConvImpl::Auto => {
                let _ = device;
                Resolved::Native
            }
        }
    }

    /// Whether tensors on `device` would run on our CPU kernels.
    pub fn uses_cpu_kernels(self, device: &Device) -> bool {
        #[cfg(feature = "cpu-kernels")]
        {
            self.resolve(device) == Resolved::Kernels
        }
        #[cfg(not(feature = "cpu-kernels"))]
        {
            let _ = device;
            false
        }
    }
}

/// A 3x3, stride-1, padding-1 convolution with the layer's bias.
///
/// # Shapes
/// - x: `[batch, c_in, h, w]` -> `[batch, c_out, h, w]`
pub fn conv3x3(conv: &Conv2d, x: Tensor<4>, imp: ConvImpl) -> Tensor<4> {
    let out = match imp.resolve(&x.device()) {
        Resolved::Native => return conv.forward(x),
        #[cfg(feature = "cpu-kernels")]
        Resolved::Kernels => return crate::kernels::conv3x3(x, conv.weight.val(), bias_or_zeros(conv)),
        Resolved::Gemm => {
            let [b, c_in, h, w] = x.dims();
            let weight = conv.weight.val();
            let c_out = weight.dims()[0];
            let padded = x.pad([(0, 0), (0, 0), (1, 1), (1, 1)], PadMode::Constant(0.0));
            // Column block k = 3*dy + dx holds the input shifted by (dy-1, dx-1).
            let mut cols = Vec::with_capacity(9);
            for dy in 0..3 {
                for dx in 0..3 {
                    cols.push(padded.clone().slice(s![.., .., dy..dy + h, dx..dx + w]));
                }
            }
            let cols = Tensor::cat(cols, 1).reshape([b, 9 * c_in, h * w]);
            // [c_out, c_in, 3, 3] -> [c_out, 3, 3, c_in] matches the column order above.
            let kernel = weight.permute([0, 2, 3, 1]).reshape([1, c_out, 9 * c_in]);
            kernel.matmul(cols).reshape([b, c_out, h, w])
        }
    };
    with_bias(out, &conv.bias)
}

/// [`conv3x3`] of the concatenation of `a` and `b` along channels (the decoder's skip and
/// up-sampled maps). Our CPU kernels read both without making the concatenation; elsewhere it
/// is made with `Tensor::cat`.
///
/// # Shapes
/// - a: `[batch, c_a, h, w]`, b: `[batch, c_b, h, w]` -> `[batch, c_out, h, w]`
pub fn conv3x3_cat(conv: &Conv2d, a: Tensor<4>, b: Tensor<4>, imp: ConvImpl) -> Tensor<4> {
    #[cfg(feature = "cpu-kernels")]
    if imp.resolve(&a.device()) == Resolved::Kernels {
        return crate::kernels::conv3x3_cat(a, b, conv.weight.val(), bias_or_zeros(conv));
    }
    conv3x3(conv, Tensor::cat(vec![a, b], 1), imp)
}

/// A 1x1 convolution (the head), as one matrix product except on the backend's own kernels.
///
/// # Shapes
/// - x: `[batch, c_in, h, w]` -> `[batch, c_out, h, w]`
pub fn conv1x1(conv: &Conv2d, x: Tensor<4>, imp: ConvImpl) -> Tensor<4> {
    if imp.resolve(&x.device()) == Resolved::Native {
        return conv.forward(x);
    }
    let [b, c_in, h, w] = x.dims();
    let weight = conv.weight.val();
    let c_out = weight.dims()[0];
    let kernel = weight.reshape([1, c_out, c_in]);
    with_bias(kernel.matmul(x.reshape([b, c_in, h * w])).reshape([b, c_out, h, w]), &conv.bias)
}

/// A 2x2, stride-2 transposed convolution (doubles height and width). Our kernels' path is the
/// `Gemm` one: a matrix product and a pixel shuffle, whose backward passes `flex` has.
///
/// # Shapes
/// - x: `[batch, c_in, h, w]` -> `[batch, c_out, 2h, 2w]`
pub fn conv_transpose2x2(up: &ConvTranspose2d, x: Tensor<4>, imp: ConvImpl) -> Tensor<4> {
    if imp.resolve(&x.device()) == Resolved::Native {
        return up.forward(x);
    }
    let [b, c_in, h, w] = x.dims();
    let weight = up.weight.val(); // [c_in, c_out, 2, 2]
    let c_out = weight.dims()[1];
    let kernel = weight.reshape([c_in, c_out * 4]).transpose().reshape([1, c_out * 4, c_in]);
    let out = kernel.matmul(x.reshape([b, c_in, h * w])); // [b, c_out*4, h*w]
    let out = out
        .reshape([b, c_out, 2, 2, h, w])
        .permute([0, 1, 4, 2, 5, 3]) // [b, c_out, h, 2, w, 2]
        .reshape([b, c_out, 2 * h, 2 * w]);
    with_bias(out, &up.bias)
}

/// The layer's bias, or zeros for a layer without one (our kernels add it in place).
#[cfg(feature = "cpu-kernels")]
fn bias_or_zeros(conv: &Conv2d) -> Tensor<1> {
    match &conv.bias {
        Some(bias) => bias.val(),
        None => Tensor::zeros([conv.weight.dims()[0]], &conv.weight.device()),
    }
}

/// `out` plus a per-channel bias, where the layer has one.
fn with_bias(out: Tensor<4>, bias: &Option<Param<Tensor<1>>>) -> Tensor<4> {
    match bias {
        Some(bias) => {
            let c_out = bias.dims()[0];
            out + bias.val().reshape([1, c_out, 1, 1])
        }
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::{Conv2dConfig, ConvTranspose2dConfig};
    use burn::tensor::Distribution;

    fn max_abs_diff(a: Tensor<4>, b: Tensor<4>) -> f32 {
        (a - b).abs().max().into_scalar::<f32>()
    }

    #[test]
    fn gemm_conv3x3_matches_native() {
        let device = Device::flex();
        let conv = Conv2dConfig::new([5, 7], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(&device);
        let x = Tensor::<4>::random([2, 5, 9, 11], Distribution::Normal(0.0, 1.0), &device);
        let native = conv3x3(&conv, x.clone(), ConvImpl::Native);
        let gemm = conv3x3(&conv, x, ConvImpl::Gemm);
        assert_eq!(native.dims(), [2, 7, 9, 11]);
        assert!(max_abs_diff(native, gemm) < 1e-4);
    }

    #[test]
    fn gemm_conv_transpose_matches_native() {
        let device = Device::flex();
        let up = ConvTranspose2dConfig::new([6, 4], [2, 2]).with_stride([2, 2]).init(&device);
        let x = Tensor::<4>::random([3, 6, 5, 7], Distribution::Normal(0.0, 1.0), &device);
        let native = conv_transpose2x2(&up, x.clone(), ConvImpl::Native);
        let gemm = conv_transpose2x2(&up, x, ConvImpl::Gemm);
        assert_eq!(native.dims(), [3, 4, 10, 14]);
        assert!(max_abs_diff(native, gemm) < 1e-4);
    }

    #[test]
    fn gemm_gradients_match_native() {
        let device = Device::flex().autodiff();
        let conv = Conv2dConfig::new([3, 4], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(&device);
        let x = Tensor::<4>::random([2, 3, 6, 6], Distribution::Normal(0.0, 1.0), &device);
        let grad_of = |imp| {
            let grads = conv3x3(&conv, x.clone(), imp).powi_scalar(2).sum().backward();
            conv.weight.grad(&grads).expect("weight has a gradient")
        };
        let native = grad_of(ConvImpl::Native);
        let gemm = grad_of(ConvImpl::Gemm);
        assert!(max_abs_diff(native, gemm) < 1e-3);
    }
}
