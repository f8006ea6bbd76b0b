//! GroupNorm + ReLU, the normalisation of every U-Net block: one fused kernel on `flex`
//! (`crate::kernels`), Burn's `GroupNorm` and `relu` elsewhere.

use burn::nn::norm::GroupNorm;
use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::conv::ConvImpl;

/// `relu(norm(x))`.
///
/// # Shapes
/// - x: `[batch, channels, h, w]` -> `[batch, channels, h, w]`
pub fn group_norm_relu(norm: &GroupNorm, x: Tensor<4>, imp: ConvImpl) -> Tensor<4> {
    #[cfg(feature = "cpu-kernels")]
    if let (true, Some(gamma), Some(beta)) = (fused(imp, &x), &norm.gamma, &norm.beta) {
        return crate::kernels::group_norm_relu(x, gamma.val(), beta.val(), norm.num_groups, norm.epsilon);
    }
    let _ = imp;
    relu(norm.forward(x))
}

/// The fused kernel serves f32 tensors on devices our kernels run on.
#[cfg(feature = "cpu-kernels")]
fn fused(imp: ConvImpl, x: &Tensor<4>) -> bool {
    x.dtype() == burn::tensor::DType::F32 && imp.uses_cpu_kernels(&x.device())
}
