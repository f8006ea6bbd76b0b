//! The one matrix product the kernels use, with strides, so transposed operands are never copied.

/// A matrix operand: pointer, row stride, column stride (in elements).
#[derive(Clone, Copy)]
pub struct Mat {
    pub ptr: *const f32,
    pub row_stride: isize,
    pub col_stride: isize,
}

impl Mat {
    /// A row-major matrix with `cols` columns.
    pub fn rows(ptr: *const f32, cols: usize) -> Self {
        Self { ptr, row_stride: cols as isize, col_stride: 1 }
    }

    /// The transpose of a row-major matrix with `cols` columns.
    pub fn transposed(ptr: *const f32, cols: usize) -> Self {
        Self { ptr, row_stride: 1, col_stride: cols as isize }
    }
}

/// `dst[m x n] (+)= lhs[m x k] * rhs[k x n]`; accumulates into `dst` when `accumulate`.
/// `dst` is a [`Mat`] whose pointer may be written. `split` lets the product use every thread
/// (for calls not already run one per thread).
///
/// # Safety
/// The pointers must cover the addressed elements, and no other thread may write them meanwhile.
#[allow(clippy::too_many_arguments)]
pub unsafe fn matmul(
    m: usize,
    n: usize,
    k: usize,
    dst: Mat,
    accumulate: bool,
    lhs: Mat,
    rhs: Mat,
    split: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    #[cfg(not(target_arch = "wasm32"))]
    let parallelism = if split { gemm::Parallelism::Rayon(0) } else { gemm::Parallelism::None };
    #[cfg(target_arch = "wasm32")]
    let parallelism = {
        let _ = split;
        gemm::Parallelism::None
    };
    // SAFETY: forwarded from the caller.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.ptr as *mut f32,
            dst.col_stride,
            dst.row_stride,
            accumulate,
            lhs.ptr,
            lhs.col_stride,
            lhs.row_stride,
            rhs.ptr,
            rhs.col_stride,
            rhs.row_stride,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        )
    }
}
