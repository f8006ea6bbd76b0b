//! [`CpuKernels`] for `Flex`: f32 tensors go to our kernels; other float types (f16, bf16) to
//! Burn's own ops, so every dtype stays correct. Also the tensor plumbing both this and the
//! autodiff implementation (`train.rs`) share.

use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::ops::ConvOptions;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Bytes, DType, Flex, TensorMetadata};
use burn::tensor::Shape;

use super::CpuKernels;
use super::conv3x3::{self, Dims, Planes};
use super::group_norm;
use super::pool;

impl CpuKernels for Flex {
    fn conv3x3(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self> {
        if !all_f32::<Self>(&[&x, &weight, &bias]) {
            return burn_conv3x3::<Self>(x, weight, bias);
        }
        let d = dims(&x, &weight);
        let x = f32s(&x);
        let planes = Planes::one(&x, d.c_in, d.h * d.w);
        conv_tensor(conv3x3::forward_parts(planes, &f32s(&weight), Some(&f32s(&bias)), d, &[d.c_out]), d)
    }

    fn conv3x3_cat(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        if !all_f32::<Self>(&[&a, &b, &weight, &bias]) {
            return burn_conv3x3_cat::<Self>(a, b, weight, bias);
        }
        let (d, [c_a, c_b]) = cat_dims(&a, &b, &weight);
        let (a, b) = (f32s(&a), f32s(&b));
        let planes = Planes::cat(&a, c_a, &b, c_b, d.h * d.w);
        conv_tensor(conv3x3::forward_parts(planes, &f32s(&weight), Some(&f32s(&bias)), d, &[d.c_out]), d)
    }

    fn group_norm_relu(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        groups: usize,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        let shape = x.layout().shape().clone();
        let d = norm_dims(&x, groups);
        let (y, _) = group_norm::forward(&f32s(&x), &f32s(&gamma), &f32s(&beta), epsilon as f32, d);
        FlexTensor::new(Bytes::from_elems(y), Layout::contiguous(shape), DType::F32)
    }

    fn max_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        if !all_f32::<Self>(&[&x]) {
            return burn_max_pool2x2::<Self>(x);
        }
        let (d, [batch, channels]) = pool_dims(&x);
        let (oh, ow) = d.out();
        tensor(pool::forward(&f32s(&x), d), [batch, channels, oh, ow])
    }
}

/// Pooling's shapes from its input, with the input's batch and channels.
pub(super) fn pool_dims(x: &FlexTensor) -> (pool::Dims, [usize; 2]) {
    let s = x.layout().shape();
    assert!(s.num_dims() == 4, "max_pool2x2: 4D input expected, got {s:?}");
    (pool::Dims { planes: s[0] * s[1], h: s[2], w: s[3] }, [s[0], s[1]])
}

/// The one output part of a convolution as a `[batch, c_out, h, w]` tensor.
fn conv_tensor(parts: Vec<Vec<f32>>, d: Dims) -> FlexTensor {
    tensor(parts.into_iter().next().unwrap_or_default(), [d.batch, d.c_out, d.h, d.w])
}

/// Whether every operand is f32, the one dtype the kernels take; others (f16, bf16) go to Burn's
/// own ops below, on `flex` and under autodiff alike, so every dtype stays correct.
pub(super) fn all_f32<B: Backend>(operands: &[&FloatTensor<B>]) -> bool {
    operands.iter().all(|t| t.dtype() == DType::F32)
}

/// Burn's own [`CpuKernels::conv3x3`].
pub(super) fn burn_conv3x3<B: Backend>(x: FloatTensor<B>, weight: FloatTensor<B>, bias: FloatTensor<B>) -> FloatTensor<B> {
    B::conv2d(x, weight, Some(bias), ConvOptions::new([1, 1], [1, 1], [1, 1], 1))
}

/// Burn's own [`CpuKernels::conv3x3_cat`]: the concatenation made, then [`burn_conv3x3`].
pub(super) fn burn_conv3x3_cat<B: Backend>(
    a: FloatTensor<B>,
    b: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: FloatTensor<B>,
) -> FloatTensor<B> {
    burn_conv3x3::<B>(B::float_cat(vec![a, b], 1), weight, bias)
}

/// Burn's own [`CpuKernels::max_pool2x2`].
pub(super) fn burn_max_pool2x2<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    B::max_pool2d(x, [2, 2], [2, 2], [0, 0], [1, 1], false)
}

/// GroupNorm's shapes from its input.
pub(super) fn norm_dims(x: &FlexTensor, groups: usize) -> group_norm::Dims {
    let s = x.layout().shape();
    assert!(s.num_dims() >= 3, "group_norm_relu: input {s:?}");
    assert_eq!(x.dtype(), DType::F32, "group_norm_relu: f32 input expected");
    group_norm::Dims { batch: s[0], channels: s[1], plane: s.num_elements() / (s[0] * s[1]).max(1), groups }
}

/// The convolution's shapes from its operands.
pub(super) fn dims(x: &FlexTensor, weight: &FlexTensor) -> Dims {
    let xs = x.layout().shape();
    let ws = weight.layout().shape();
    assert!(xs.num_dims() == 4 && ws.num_dims() == 4, "conv3x3: 4D operands expected");
    assert!(ws[1] == xs[1] && ws[2] == 3 && ws[3] == 3, "conv3x3: weight {ws:?} for input {xs:?}");
    Dims { batch: xs[0], c_in: xs[1], c_out: ws[0], h: xs[2], w: xs[3] }
}

/// The convolution's shapes when its input is the concatenation of `a` and `b`, with their
/// channel counts.
pub(super) fn cat_dims(a: &FlexTensor, b: &FlexTensor, weight: &FlexTensor) -> (Dims, [usize; 2]) {
    let (sa, sb) = (a.layout().shape(), b.layout().shape());
    assert!(sa.num_dims() == 4 && sb.num_dims() == 4, "conv3x3_cat: 4D operands expected");
    assert!(sa[0] == sb[0] && sa[2] == sb[2] && sa[3] == sb[3], "conv3x3_cat: {sa:?} and {sb:?} differ");
    let ws = weight.layout().shape();
    assert!(ws[1] == sa[1] + sb[1] && ws[2] == 3 && ws[3] == 3, "conv3x3_cat: weight {ws:?} for inputs {sa:?}, {sb:?}");
    (Dims { batch: sa[0], c_in: sa[1] + sb[1], c_out: ws[0], h: sa[2], w: sa[3] }, [sa[1], sb[1]])
}

/// The tensor's f32 elements in row-major order, borrowed from its storage (after one copy into
/// a contiguous layout where it has another, e.g. the gradient slices of a concatenation).
pub(super) struct F32s(FlexTensor);

impl std::ops::Deref for F32s {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        let layout = self.0.layout();
        let start = layout.start_offset();
        &self.0.storage::<f32>()[start..start + layout.num_elements()]
    }
}

pub(super) fn f32s(t: &FlexTensor) -> F32s {
    F32s(if t.layout().is_contiguous() { t.clone() } else { t.to_contiguous() })
}

/// A contiguous f32 tensor of `shape` holding `data`.
pub(super) fn tensor<const D: usize>(data: Vec<f32>, shape: [usize; D]) -> FlexTensor {
    FlexTensor::new(Bytes::from_elems(data), Layout::contiguous(Shape::from(shape)), DType::F32)
}
