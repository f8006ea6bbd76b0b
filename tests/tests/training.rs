//! The loss falls within a few optimiser steps on synthetic phantoms (the training stack is wired
//! correctly: model, loss, autodiff, optimiser).

use brainseg_core::loss::segmentation_loss;
use brainseg_core::preprocess::{Normalization, batch_tensor};
use brainseg_core::synthetic::phantom;
use brainseg_core::UNetConfig;
use brainseg_trainer::train::mask_tensor;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;

#[test]
fn loss_decreases_on_phantoms_within_a_few_steps() {
    let device = Device::flex().autodiff();
    device.seed(1);
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
