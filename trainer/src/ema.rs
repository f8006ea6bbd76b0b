//! Exponential moving average of the weights, the model a run validates and exports when
//! `--ema-decay` is set.
//!
//! Validation Dice swings by several points between neighbouring epochs of one run (0.63-0.72 in
//! cycle 4): single weight snapshots sit at a random point of the optimiser's noise. An average
//! over the last few hundred steps sits nearer the middle of that noise at no training cost.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use brainseg_core::UNet;

pub struct Ema {
    /// The averaged weights (no autodiff).
    pub model: UNet,
    decay: f64,
    /// Updates so far; the effective decay ramps up over the first updates so that early
    /// weights do not linger (`(1 + t) / (10 + t)`, capped at `decay`).
    updates: usize,
}

impl Ema {
    /// Starts the average at `model`'s weights, as if `updates` steps had already been averaged.
    pub fn new(model: UNet, decay: f64, updates: usize) -> Self {
        Self { model, decay: decay.clamp(0.0, 1.0), updates }
    }

    /// Moves the average towards `current` (the training model's weights, detached).
    pub fn update(&mut self, current: &UNet) {
        self.updates += 1;
        let t = self.updates as f64;
        let decay = self.decay.min((1.0 + t) / (10.0 + t));
        let mut gather = Gather::default();
        current.visit(&mut gather);
        let mut blend = Blend { next: gather.tensors.into_iter(), decay };
        self.model = self.model.clone().map(&mut blend);
    }
}

/// The float parameters of a module, flattened, in module order.
#[derive(Default)]
struct Gather {
    tensors: Vec<Tensor<1>>,
}

impl ModuleVisitor for Gather {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        let n = t.shape().num_elements();
        self.tensors.push(t.reshape([n]));
    }
}

/// `ema = decay * ema + (1 - decay) * current`, parameter by parameter in module order (both
/// modules are the same architecture, so the orders agree).
struct Blend<I> {
    next: I,
    decay: f64,
}

impl<I: Iterator<Item = Tensor<1>>> ModuleMapper for Blend<I> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let current = self.next.next().expect("EMA and training model have the same parameters");
        let decay = self.decay;
        param.map(|avg| {
            let dims = avg.dims();
            avg.mul_scalar(decay) + current.reshape(dims).mul_scalar(1.0 - decay)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brainseg_core::UNetConfig;

    fn tiny() -> (Device, UNetConfig) {
        let cfg = UNetConfig::new().with_base_channels(4).with_depth(1).with_norm_groups(2).with_input_size(16);
        (Device::flex(), cfg)
    }

    fn first_weight(model: &UNet) -> Vec<f32> {
        let mut g = Gather::default();
        model.visit(&mut g);
        g.tensors[0].clone().into_data().convert::<f32>().try_into_vec::<f32>().unwrap()
    }

    #[test]
    fn average_moves_towards_the_current_weights_by_one_minus_decay() {
        let (device, cfg) = tiny();
        device.seed(1);
        let a = cfg.init(&device);
        let b = cfg.init(&device);
        // Many updates done already: the ramp no longer lowers the decay.
        let mut ema = Ema::new(a.clone(), 0.9, 1_000_000);
        ema.update(&b);
        let (wa, wb, we) = (first_weight(&a), first_weight(&b), first_weight(&ema.model));
        assert!(wa.iter().zip(&wb).any(|(x, y)| (x - y).abs() > 1e-3), "two inits differ");
        for ((x, y), e) in wa.iter().zip(&wb).zip(&we) {
            assert!((e - (0.9 * x + 0.1 * y)).abs() < 1e-6, "{e} vs {x} {y}");
        }
    }

    #[test]
    fn first_updates_follow_the_model_closely() {
        let (device, cfg) = tiny();
        device.seed(2);
        let a = cfg.init(&device);
        let b = cfg.init(&device);
        let mut ema = Ema::new(a.clone(), 0.999, 0);
        ema.update(&b);
        // Ramp: decay (1 + 1) / (10 + 1) = 0.18 on the first update.
        let (wa, wb, we) = (first_weight(&a), first_weight(&b), first_weight(&ema.model));
        for ((x, y), e) in wa.iter().zip(&wb).zip(&we) {
            assert!((e - (2.0 / 11.0 * x + 9.0 / 11.0 * y)).abs() < 1e-5);
        }
    }
}
