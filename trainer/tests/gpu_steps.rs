//! A few training steps on the GPU backends follow the CPU's losses from the same weights and
//! batch. Built only with `--features cuda` or `--features wgpu` (scripts/build-cuda.sh test);
//! each backend is skipped with a message where no such GPU is present.
#![cfg(any(feature = "cuda", feature = "wgpu"))]

use brainseg_core::UNetConfig;
use brainseg_core::loss::segmentation_loss;
use brainseg_core::model_file::{self, ModelMeta, WeightStorage};
use brainseg_core::preprocess::{Normalization, batch_tensor};
use brainseg_core::synthetic::phantom;
use brainseg_trainer::backend::Backend;
use brainseg_trainer::train::mask_tensor;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;

const STEPS: usize = 4;

/// The same f32 weights on every device: made once on the CPU, then loaded from a model file.
fn weights() -> Vec<u8> {
    let device = Device::flex();
    device.seed(11);
    let config = UNetConfig::new().with_base_channels(8).with_depth(2).with_input_size(32);
    model_file::encode(config.init(&device), ModelMeta::new(config, Normalization::default()), WeightStorage::F32).expect("encode")
}

fn losses(device: Device, weights: &[u8]) -> Vec<f32> {
    let device = device.autodiff();
    let (mut model, _) = model_file::decode(weights, &device).expect("decode");
    let mut optim = AdamWConfig::new().init();
    let phantoms: Vec<_> = (0..3).map(|i| phantom(32, 32, i, true)).collect();
    let images: Vec<_> = phantoms.iter().map(|p| &p.image).collect();
    let norm = Normalization::fit(images.iter().copied());
    let x = batch_tensor(&images, &norm, &device);
    let y = mask_tensor(phantoms.iter().map(|p| p.mask.as_raw().as_slice()), 32, &device);
    (0..STEPS)
        .map(|_| {
            let loss = segmentation_loss(model.forward(x.clone()), y.clone());
            let value = loss.clone().into_scalar::<f32>();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(1e-2, model.clone(), grads);
            value
        })
        .collect()
}

fn compare(backend: Backend) {
    let device = match backend.device() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("skipped {backend:?}: {e:#}");
            return;
        }
    };
    let w = weights();
    let (gpu, cpu) = (losses(device, &w), losses(Device::flex(), &w));
    eprintln!("{backend:?} losses {gpu:?}, CPU {cpu:?}");
    for (step, (g, c)) in gpu.iter().zip(&cpu).enumerate() {
        assert!((g - c).abs() <= 2e-3 * c.abs().max(1e-3), "step {step}: {backend:?} {gpu:?} vs CPU {cpu:?}");
    }
}

#[cfg(feature = "cuda")]
#[test]
fn cuda_steps_follow_the_cpu() {
    compare(Backend::Cuda);
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_steps_follow_the_cpu() {
    compare(Backend::Wgpu);
}
