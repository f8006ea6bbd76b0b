//! Our own CPU kernels for Burn's `flex` backend, through Burn's backend-extension mechanism.
//!
//! `flex` has convolution forward kernels but no backward ones (burn 0.22.1), and its generic
//! fallback computes the weight gradient as a convolution whose kernel is the whole output
//! gradient: training ran at a fifth of PyTorch's speed. These kernels (forward, input and
//! weight gradients; `conv3x3.rs`), the fused GroupNorm + ReLU (`group_norm.rs`) and 2x2 max
//! pooling (`pool.rs`, where `flex`'s generic pooling was slow) replace that on `flex` only: [`supports`] says where, and
//! `crate::conv` falls back to Burn's own ops everywhere else (WebGPU, CUDA). Weights and model
//! files are the ordinary `Conv2d` parameters either way.

mod conv3x3;
mod flex;
mod gemm;
mod group_norm;
mod parallel;
mod pool;
mod simd;
#[cfg(feature = "cpu-kernels-train")]
mod train;
mod winograd;

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, backend_extension};
use burn::prelude::*;

/// The kernels on plain f32 slices (NCHW), for benchmarks that time each one alone.
pub mod raw {
    pub use super::conv3x3::{Dims, forward as conv3x3_forward, input_grad as conv3x3_input_grad};
    pub use super::conv3x3::{forward_im2col as conv3x3_forward_im2col, weight_grad as conv3x3_weight_grad};
    pub use super::group_norm::{Dims as NormDims, backward as group_norm_relu_backward};
    pub use super::group_norm::forward as group_norm_relu_forward;
    pub use super::pool::{Dims as PoolDims, backward as max_pool2x2_backward, forward as max_pool2x2_forward};

    /// `c = a x b` for row-major square matrices of side `n`, on every thread (the machine's
    /// GEMM peak, for scale).
    pub fn matmul(a: &[f32], b: &[f32], n: usize) -> Vec<f32> {
        use super::gemm::{Mat, matmul};
        assert!(a.len() == n * n && b.len() == n * n, "matmul: sizes");
        let mut c = vec![0.0f32; n * n];
        // SAFETY: all three cover n x n elements and `c` is exclusively ours.
        unsafe { matmul(n, n, n, Mat::rows(c.as_mut_ptr(), n), false, Mat::rows(a.as_ptr(), n), Mat::rows(b.as_ptr(), n), true) };
        c
    }
}

/// The operations the kernels provide, for every backend that implements them.
#[backend_extension(Flex, Autodiff: cfg(feature = "cpu-kernels-train"))]
pub trait CpuKernels: Backend {
    /// 3x3, stride-1, padding-1 convolution plus a per-channel bias.
    /// `x`: `[batch, c_in, h, w]`, `weight`: `[c_out, c_in, 3, 3]`, `bias`: `[c_out]`
    /// -> `[batch, c_out, h, w]`.
    fn conv3x3(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self>;

    /// [`CpuKernels::conv3x3`] of the concatenation of `a` and `b` along channels, without
    /// making it. `a`: `[batch, c_a, h, w]`, `b`: `[batch, c_b, h, w]`, `weight`:
    /// `[c_out, c_a + c_b, 3, 3]`, `bias`: `[c_out]` -> `[batch, c_out, h, w]`.
    fn conv3x3_cat(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// GroupNorm (affine) followed by ReLU. `x`: `[batch, channels, h, w]`, `gamma`, `beta`:
    /// `[channels]`; `groups` divides `channels`.
    fn group_norm_relu(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        groups: usize,
        epsilon: f64,
    ) -> FloatTensor<Self>;

    /// 2x2, stride-2 max pooling. `x`: `[batch, channels, h, w]` -> `[batch, channels, h / 2, w / 2]`.
    fn max_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// Whether tensors on `device` run on these kernels (Burn's `flex` CPU backend, with or without
/// autodiff; autodiff only where the `cpu-kernels-train` feature built the backward passes).
pub fn supports(device: &Device) -> bool {
    if device.is_autodiff() && !cfg!(feature = "cpu-kernels-train") {
        return false;
    }
    device.clone().inner() == Device::flex()
}

/// [`CpuKernels::conv3x3`] on tensors; call only where [`supports`] holds for their device.
///
/// # Shapes
/// - x: `[batch, c_in, h, w]`, weight: `[c_out, c_in, 3, 3]`, bias: `[c_out]` -> `[batch, c_out, h, w]`
pub fn conv3x3(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as CpuKernels>::conv3x3(x.into_dispatch(), weight.into_dispatch(), bias.into_dispatch()))
}

/// [`CpuKernels::conv3x3_cat`] on tensors; call only where [`supports`] holds.
///
/// # Shapes
/// - a: `[batch, c_a, h, w]`, b: `[batch, c_b, h, w]`, weight: `[c_out, c_a + c_b, 3, 3]`,
///   bias: `[c_out]` -> `[batch, c_out, h, w]`
pub fn conv3x3_cat(a: Tensor<4>, b: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as CpuKernels>::conv3x3_cat(
        a.into_dispatch(),
        b.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
    ))
}

/// [`CpuKernels::group_norm_relu`] on tensors; call only where [`supports`] holds.
///
/// # Shapes
/// - x: `[batch, channels, h, w]`, gamma and beta: `[channels]` -> `[batch, channels, h, w]`
pub fn group_norm_relu(x: Tensor<4>, gamma: Tensor<1>, beta: Tensor<1>, groups: usize, epsilon: f64) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as CpuKernels>::group_norm_relu(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        groups,
        epsilon,
    ))
}

/// [`CpuKernels::max_pool2x2`] on tensors; call only where [`supports`] holds.
///
/// # Shapes
/// - x: `[batch, channels, h, w]` -> `[batch, channels, h / 2, w / 2]`
pub fn max_pool2x2(x: Tensor<4>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as CpuKernels>::max_pool2x2(x.into_dispatch()))
}

#[cfg(all(test, feature = "cpu-kernels-train"))]
mod tests;
