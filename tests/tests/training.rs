//! The loss falls within a few optimiser steps on synthetic phantoms (the training stack is wired
//! correctly: model, loss, autodiff, optimiser), and training on our CPU kernels follows Burn's
//! own ops step for step.

use brainseg_core::conv::ConvImpl;
use brainseg_core::loss::segmentation_loss;
use brainseg_core::model_file::{self, ModelMeta};
use brainseg_core::preprocess::{Normalization, batch_tensor};
use brainseg_core::synthetic::phantom;
use brainseg_core::UNetConfig;
use brainseg_trainer::train::mask_tensor;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;

/// Burn's seeded generator is shared by the tests of this file (with and without autodiff), which
/// run on parallel threads: whatever draws from it (initialising a model, including when a model
/// file is decoded) holds this lock, so each test's initial weights are its own.
static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn rng_lock() -> std::sync::MutexGuard<'static, ()> {
    RNG.lock().unwrap_or_else(|e| e.into_inner())
}

fn seeded(device: &Device, seed: u64) -> std::sync::MutexGuard<'static, ()> {
    let guard = rng_lock();
    device.seed(seed);
    guard
}

#[test]
fn loss_decreases_on_phantoms_within_a_few_steps() {
    let device = Device::flex().autodiff();
    let _rng = seeded(&device, 1);
    let config = UNetConfig::new().with_base_channels(8).with_depth(2).with_input_size(32);
    let mut model = config.init(&device);
    let mut optim = AdamWConfig::new().init();
    let phantoms: Vec<_> = (0..4).map(|i| phantom(32, 32, i, true)).collect();
    let images: Vec<_> = phantoms.iter().map(|p| &p.image).collect();
    let norm = Normalization::fit(images.iter().copied());
    let x = batch_tensor(&images, &norm, &device);
    let y = mask_tensor(phantoms.iter().map(|p| p.mask.as_raw().as_slice()), 32, &device);
    let mut losses = Vec::new();
    for _ in 0..12 {
        let loss = segmentation_loss(model.forward(x.clone()), y.clone());
        losses.push(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-2, model, grads);
    }
    assert!(losses.iter().all(|l| l.is_finite()));
    assert!(losses[11] < 0.75 * losses[0], "{losses:?}");
}

/// Phantom batch and masks at 32x32 for the comparisons below.
fn phantom_batch(device: &Device) -> (Tensor<4>, Tensor<4>) {
    let phantoms: Vec<_> = (0..3).map(|i| phantom(32, 32, i, true)).collect();
    let images: Vec<_> = phantoms.iter().map(|p| &p.image).collect();
    let norm = Normalization::fit(images.iter().copied());
    let x = batch_tensor(&images, &norm, device);
    let y = mask_tensor(phantoms.iter().map(|p| p.mask.as_raw().as_slice()), 32, device);
    (x, y)
}

/// Losses of `steps` AdamW steps from the seeded initial weights, and the trained model.
fn train_steps(imp: ConvImpl, steps: usize) -> (Vec<f32>, brainseg_core::UNet) {
    let device = Device::flex().autodiff();
    let _rng = seeded(&device, 7);
    let config = UNetConfig::new().with_base_channels(8).with_depth(2).with_input_size(32);
    let mut model = config.init(&device).with_conv_impl(imp);
    let mut optim = AdamWConfig::new().init();
    let (x, y) = phantom_batch(&device);
    let mut losses = Vec::new();
    for _ in 0..steps {
        let loss = segmentation_loss(model.forward(x.clone()), y.clone());
        losses.push(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-2, model, grads);
    }
    (losses, model)
}

#[test]
fn training_on_our_cpu_kernels_follows_burns_own_ops() {
    assert!(ConvImpl::Auto.uses_cpu_kernels(&Device::flex().autodiff()), "flex trains on our kernels");
    let (ours, _) = train_steps(ConvImpl::Auto, 5);
    let (reference, _) = train_steps(ConvImpl::Native, 5);
    for (step, (a, b)) in ours.iter().zip(&reference).enumerate() {
        assert!((a - b).abs() <= 1e-3 * b.abs().max(1e-3), "step {step}: {ours:?} vs {reference:?}");
    }
}

#[test]
fn a_model_trained_either_way_predicts_the_same_the_other_way() {
    for (trained_on, other) in [(ConvImpl::Auto, ConvImpl::Native), (ConvImpl::Native, ConvImpl::Auto)] {
        let (_, model) = train_steps(trained_on, 3);
        let config = UNetConfig::new().with_base_channels(8).with_depth(2).with_input_size(32);
        let meta = ModelMeta::new(config, Normalization { mean: [0.0; 3], std: [1.0; 3] });
        let bytes = model_file::encode(model.valid(), meta, model_file::WeightStorage::F32).expect("encode");
        let device = Device::flex();
        let (loaded, _) = {
            let _rng = rng_lock();
            model_file::decode(&bytes, &device).expect("decode")
        };
        let (x, _) = phantom_batch(&device);
        let same = loaded.clone().with_conv_impl(trained_on).forward(x.clone());
        let switched = loaded.with_conv_impl(other).forward(x);
        let diff = (switched - same.clone()).abs().max().into_scalar::<f32>();
        let scale = same.abs().max().into_scalar::<f32>();
        assert!(diff <= 1e-4 * scale.max(1.0), "trained on {trained_on:?}: logits differ by {diff} (scale {scale})");
    }
}
