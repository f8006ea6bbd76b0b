//! The kernels against Burn's own convolution: forward and both gradients, on shapes with odd
//! sides, one and three input channels, batch 1 and 5, and widths from 8 to 256.

use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;

use super::{conv3x3, supports};

/// (batch, c_in, c_out, h, w)
const SHAPES: [(usize, usize, usize, usize, usize); 7] = [
    (1, 1, 8, 7, 9),
    (5, 3, 16, 13, 11),
    (1, 3, 8, 1, 5),
    (2, 8, 8, 6, 1),
    (1, 16, 32, 17, 19),
    (5, 32, 64, 5, 7),
    (1, 256, 128, 4, 3),
];

fn reference(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>) -> Tensor<4> {
    conv2d(x, weight, Some(bias), ConvOptions::new([1, 1], [1, 1], [1, 1], 1))
}

/// max |a - b| relative to max |b|.
fn relative_error(a: Tensor<4>, b: Tensor<4>) -> f32 {
    let scale = b.clone().abs().max().into_scalar::<f32>().max(1e-12);
    (a - b).abs().max().into_scalar::<f32>() / scale
}

fn operands(shape: (usize, usize, usize, usize, usize), device: &Device) -> (Tensor<4>, Tensor<4>, Tensor<1>) {
    let (b, ci, co, h, w) = shape;
    let normal = Distribution::Normal(0.0, 1.0);
    let x = Tensor::random([b, ci, h, w], normal, device);
    (x, Tensor::random([co, ci, 3, 3], normal, device), Tensor::random([co], normal, device))
}

#[test]
fn kernels_serve_flex_only() {
    assert!(supports(&Device::flex()));
    assert!(supports(&Device::flex().autodiff()));
}

#[test]
fn forward_matches_burns_convolution() {
    let device = Device::flex();
    device.seed(3);
    for shape in SHAPES {
        let (x, weight, bias) = operands(shape, &device);
        let ours = conv3x3(x.clone(), weight.clone(), bias.clone());
        let theirs = reference(x, weight, bias);
        assert_eq!(ours.dims(), theirs.dims(), "{shape:?}");
        let err = relative_error(ours, theirs);
        assert!(err < 1e-4, "{shape:?}: relative error {err}");
    }
}

#[test]
fn non_contiguous_inputs_are_read_in_logical_order() {
    let device = Device::flex();
    device.seed(4);
    // A transposed view: [2, 4, 9, 6] with strides of [2, 4, 6, 9].
    let x = Tensor::<4>::random([2, 4, 6, 9], Distribution::Normal(0.0, 1.0), &device).swap_dims(2, 3);
    let weight = Tensor::<4>::random([5, 4, 3, 3], Distribution::Normal(0.0, 1.0), &device);
    let bias = Tensor::<1>::zeros([5], &device);
    let err = relative_error(conv3x3(x.clone(), weight.clone(), bias.clone()), reference(x, weight, bias));
    assert!(err < 1e-4, "relative error {err}");
}

#[test]
fn gradients_match_burns_convolution() {
    let device = Device::flex().autodiff();
    device.seed(5);
    for shape in SHAPES {
        let (x, weight, bias) = operands(shape, &device);
        let (b, _, co, h, w) = shape;
        // A random cotangent, so every output element's gradient path is exercised.
        let cotangent = Tensor::<4>::random([b, co, h, w], Distribution::Normal(0.0, 1.0), &device);
        let grads_of = |f: fn(Tensor<4>, Tensor<4>, Tensor<1>) -> Tensor<4>| {
            let (x, weight, bias) = (x.clone().require_grad(), weight.clone().require_grad(), bias.clone().require_grad());
            let grads = (f(x.clone(), weight.clone(), bias.clone()) * cotangent.clone()).sum().backward();
            let db = bias.grad(&grads).expect("bias gradient").reshape([1, 1, 1, co]);
            (x.grad(&grads).expect("input gradient"), weight.grad(&grads).expect("weight gradient"), db)
        };
        let (dx, dw, db) = grads_of(conv3x3);
        let (dx_ref, dw_ref, db_ref) = grads_of(reference);
        let errors = [relative_error(dx, dx_ref), relative_error(dw, dw_ref), relative_error(db, db_ref)];
        assert!(errors.iter().all(|&e| e < 1e-4), "{shape:?}: input, weight, bias grad errors {errors:?}");
    }
}

/// (batch, channels, h, w, groups)
const NORM_SHAPES: [(usize, usize, usize, usize, usize); 4] =
    [(1, 8, 7, 9, 8), (5, 16, 5, 3, 8), (2, 32, 9, 9, 4), (1, 256, 4, 4, 8)];

#[test]
fn group_norm_relu_matches_burns_layers() {
    use burn::module::Param;
    use burn::nn::norm::GroupNormConfig;
    use burn::tensor::activation::relu;

    let device = Device::flex().autodiff();
    device.seed(6);
    let normal = Distribution::Normal(0.0, 1.0);
    for (b, c, h, w, groups) in NORM_SHAPES {
        let mut norm = GroupNormConfig::new(groups, c).init(&device);
        norm.gamma = Some(Param::from_tensor(Tensor::random([c], normal, &device)));
        norm.beta = Some(Param::from_tensor(Tensor::random([c], normal, &device)));
        // An offset and scale per image, so the statistics are not those of N(0, 1).
        let x = Tensor::<4>::random([b, c, h, w], normal, &device) * 3.0 + 1.5;
        let cotangent = Tensor::<4>::random([b, c, h, w], normal, &device);
        let (gamma, beta) = (norm.gamma.clone().unwrap(), norm.beta.clone().unwrap());
        let run = |fused: bool| {
            let x = x.clone().require_grad();
            let y = if fused {
                super::group_norm_relu(x.clone(), gamma.val(), beta.val(), groups, norm.epsilon)
            } else {
                relu(norm.forward(x.clone()))
            };
            let grads = (y.clone() * cotangent.clone()).sum().backward();
            let g = |p: &Param<Tensor<1>>| p.grad(&grads).expect("affine gradient").reshape([1, 1, 1, c]);
            (y, x.grad(&grads).expect("input gradient"), g(&gamma), g(&beta))
        };
        let (y, dx, dg, db) = run(true);
        let (y_ref, dx_ref, dg_ref, db_ref) = run(false);
        let errors = [
            relative_error(y.inner(), y_ref.inner()),
            relative_error(dx, dx_ref),
            relative_error(dg, dg_ref),
            relative_error(db, db_ref),
        ];
        assert!(errors.iter().all(|&e| e < 1e-4), "{:?}: y, dx, dgamma, dbeta errors {errors:?}", (b, c, h, w));
    }
}

#[test]
fn max_pool_matches_burns_pooling_forward_and_backward() {
    use burn::tensor::module::max_pool2d;
    use burn::tensor::ops::MaxPoolOptions;

    let device = Device::flex().autodiff();
    device.seed(7);
    let normal = Distribution::Normal(0.0, 1.0);
    // Odd sides drop their last row or column, as Burn's floor-mode pooling does.
    for (b, c, h, w) in [(1, 1, 2, 2), (5, 3, 8, 6), (2, 16, 7, 9), (1, 32, 32, 32)] {
        let x = Tensor::<4>::random([b, c, h, w], normal, &device);
        let cotangent = Tensor::<4>::random([b, c, h / 2, w / 2], normal, &device);
        let run = |ours: bool| {
            let x = x.clone().require_grad();
            let y = if ours { super::max_pool2x2(x.clone()) } else { max_pool2d(x.clone(), MaxPoolOptions::new([2, 2])) };
            let grads = (y.clone() * cotangent.clone()).sum().backward();
            (y.inner(), x.grad(&grads).expect("input gradient"))
        };
        let ((y, dx), (y_ref, dx_ref)) = (run(true), run(false));
        assert_eq!(y.dims(), y_ref.dims());
        let errors = [relative_error(y, y_ref), relative_error(dx, dx_ref)];
        assert!(errors.iter().all(|&e| e == 0.0), "{:?}: y, dx errors {errors:?}", (b, c, h, w));
    }
}

#[test]
fn convolution_of_a_concatenation_matches_burns_cat_and_convolution() {
    let device = Device::flex().autodiff();
    device.seed(8);
    let normal = Distribution::Normal(0.0, 1.0);
    // (batch, c_a, c_b, c_out, h, w): the decoder's shapes and odd ones.
    for (b, ca, cb, co, h, w) in [(1, 16, 16, 16, 9, 7), (5, 3, 1, 8, 5, 6), (2, 32, 32, 32, 8, 8), (1, 1, 7, 4, 1, 3)] {
        let a = Tensor::<4>::random([b, ca, h, w], normal, &device);
        let bb = Tensor::<4>::random([b, cb, h, w], normal, &device);
        let weight = Tensor::<4>::random([co, ca + cb, 3, 3], normal, &device);
        let bias = Tensor::<1>::random([co], normal, &device);
        let cotangent = Tensor::<4>::random([b, co, h, w], normal, &device);
        let run = |ours: bool| {
            let (a, bb) = (a.clone().require_grad(), bb.clone().require_grad());
            let (weight, bias) = (weight.clone().require_grad(), bias.clone().require_grad());
            let y = if ours {
                super::conv3x3_cat(a.clone(), bb.clone(), weight.clone(), bias.clone())
            } else {
                reference(Tensor::cat(vec![a.clone(), bb.clone()], 1), weight.clone(), bias.clone())
            };
            let grads = (y.clone() * cotangent.clone()).sum().backward();
            let g = |t: &Tensor<4>| t.grad(&grads).expect("gradient");
            let dbias = bias.grad(&grads).expect("bias gradient").reshape([1, 1, 1, co]);
            (y.inner(), g(&a), g(&bb), g(&weight), dbias)
        };
        let ((y, da, db, dw, dbias), (y_ref, da_ref, db_ref, dw_ref, dbias_ref)) = (run(true), run(false));
        let errors = [
            relative_error(y, y_ref),
            relative_error(da, da_ref),
            relative_error(db, db_ref),
            relative_error(dw, dw_ref),
            relative_error(dbias, dbias_ref),
        ];
        assert!(errors.iter().all(|&e| e < 1e-4), "{:?}: y, da, db, dw, dbias errors {errors:?}", (b, ca, cb, co, h, w));
    }
}
