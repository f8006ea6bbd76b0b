//! One optimiser step: a batch of slices (with the neighbours the model reads) augmented,
//! through the network, the loss's gradients applied, the moving average updated.

use anyhow::{Result, bail};
use brainseg_core::UNet;
use brainseg_core::loss::segmentation_loss;
use brainseg_core::preprocess::batch_tensor_stacks;
use burn::prelude::*;
use burn::optim::GradientsParams;

use super::mask_tensor;
use super::setup::Session;
use crate::augment::Augment;
use crate::dataset;

/// What every step of a run shares.
pub struct Stepper {
    augment: Augment,
    /// For each training slice, the slices of its input stack (itself and its neighbours).
    context: Vec<Vec<usize>>,
}

impl Stepper {
    pub fn new(t: &Session) -> Stepper {
        let augment = if t.cfg.augment { Augment { flair_fill: t.cfg.flair_fill, ..Augment::default() } } else { Augment::none() };
        Stepper { augment, context: dataset::context_table(&t.train, t.cfg.model.context()) }
    }

    /// Trains `model` on the training slices `batch` (step `step` of the epoch) at learning rate
    /// `lr`; returns the updated weights and the batch's loss.
    pub fn step(&self, t: &mut Session, model: UNet, batch: &[usize], step: usize, lr: f64) -> Result<(UNet, f64)> {
        let size = t.cfg.model.input_size as u32;
        let items: Vec<_> =
            batch.iter().map(|&i| (self.context[i].iter().map(|&j| &t.train[j].image).collect::<Vec<_>>(), &t.train[i].mask)).collect();
        let pairs = self.augment.apply_batch(&items, t.cfg.seed ^ ((t.state.epoch * 1_000_003 + step) as u64) << 1);
        let stacks: Vec<Vec<_>> = pairs.iter().map(|(i, _)| i.iter().collect()).collect();
        let x = batch_tensor_stacks(&stacks, &t.norm, &t.train_device);
        let y = mask_tensor(pairs.iter().map(|(_, m)| m.as_raw().as_slice()), size, &t.train_device);
        let loss = segmentation_loss(model.forward(x), y);
        let loss_value = f64::from(loss.clone().into_scalar::<f32>());
        if !loss_value.is_finite() {
            bail!("the loss became {loss_value} at epoch {} step {step}; lower --lr", t.state.epoch + 1);
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let model = t.optim.step(lr, model, grads);
        if let Some(ema) = &mut t.ema {
            ema.update(&model.valid());
        }
        Ok((model, loss_value))
    }
}
