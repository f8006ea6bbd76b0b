//! The U-Net's 2x2 max-pool down-sampling: our kernel on `flex` (`crate::kernels`), Burn's
//! `max_pool2d` elsewhere.

use burn::prelude::*;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;

use crate::conv::ConvImpl;

/// 2x2, stride-2 max pooling.
///
/// # Shapes
/// - x: `[batch, channels, h, w]` -> `[batch, channels, h / 2, w / 2]`
pub fn max_pool2x2(x: Tensor<4>, imp: ConvImpl) -> Tensor<4> {
    #[cfg(feature = "cpu-kernels")]
    if x.dtype() == burn::tensor::DType::F32 && imp.uses_cpu_kernels(&x.device()) {
        return crate::kernels::max_pool2x2(x);
    }
    let _ = imp;
    max_pool2d(x, MaxPoolOptions::new([2, 2]))
}
