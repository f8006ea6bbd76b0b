//! `brainseg train`: the training loop, apart from the model (see `brainseg_core::model`), in
//! the parts burn-train's learner has: `setup.rs` (the run folder, the data, the starting
//! weights, a resumed checkpoint), `step.rs` (one optimiser step), `epoch.rs` (an epoch's end:
//! validation, the metrics row, the best and per-epoch model files) and `checkpoint.rs` (what a
//! run writes to be resumed or shipped). `run` below only drives them and reports progress.

mod checkpoint;
mod epoch;
mod setup;
mod step;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use brainseg_core::UNetConfig;
use brainseg_core::conv::ConvImpl;
use brainseg_core::preprocess::Normalization;
use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::augment::Augment;
use crate::backend::Backend;
use crate::dataset::{Fold, Sample};
use crate::sampling::{Sampling, epoch_order};

/// The recipe of a run, written to `config.json` so `--resume` continues the same run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub data: PathBuf,
    pub model: UNetConfig,
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub min_learning_rate: f64,
    pub warmup_steps: usize,
    pub weight_decay: f32,
    pub seed: u64,
    pub validation_fraction: f64,
    /// Share of tumor-free training slices drawn each epoch (tumor slices: see `sampling`).
    pub empty_fraction: f64,
    /// How tumor slices are drawn each epoch.
    #[serde(default)]
    pub sampling: Sampling,
    /// Validate on this fold of a patient-level k-fold split instead of `validation_fraction`.
    #[serde(default)]
    pub fold: Option<Fold>,
    pub augment: bool,
    /// Chance per slice that FLAIR replaces the pre- and/or post-contrast channel (see `Augment`);
    /// runs from before this setting used 0.2.
    #[serde(default = "default_flair_fill")]
    pub flair_fill: f32,
    /// Store the exported model's weights in f16.
    pub half: bool,
    /// Use only the first N patients (quick experiments and tests).
    pub max_patients: Option<usize>,
    /// Save a checkpoint every N optimiser steps, besides every epoch end.
    pub checkpoint_every: usize,
    pub normalization: Option<Normalization>,
    /// Start from this model file's weights (and normalisation) instead of random ones, e.g.
    /// the committed model when a later session continues training.
    #[serde(default)]
    pub init_from: Option<PathBuf>,
    /// Validate and export an exponential moving average of the weights with this decay per
    /// step (e.g. 0.998) instead of the latest weights.
    #[serde(default)]
    pub ema_decay: Option<f64>,
}

fn default_flair_fill() -> f32 {
    Augment::default().flair_fill
}

/// Cosine decay from `lr` to `min_lr` after a linear warm-up.
pub fn learning_rate(cfg: &TrainConfig, step: usize, total: usize) -> f64 {
    if step < cfg.warmup_steps {
        return cfg.learning_rate * (step + 1) as f64 / cfg.warmup_steps as f64;
    }
    let span = total.saturating_sub(cfg.warmup_steps).max(1) as f64;
    let t = ((step - cfg.warmup_steps) as f64 / span).min(1.0);
    cfg.min_learning_rate
        + 0.5 * (cfg.learning_rate - cfg.min_learning_rate) * (1.0 + (std::f64::consts::PI * t).cos())
}

fn epoch_slices(samples: &[Sample], cfg: &TrainConfig, epoch: usize) -> Vec<usize> {
    epoch_order(samples, cfg.sampling, cfg.empty_fraction, cfg.seed, epoch)
}

fn steps_per_epoch(samples: &[Sample], cfg: &TrainConfig) -> usize {
    epoch_slices(samples, cfg, 0).len().div_ceil(cfg.batch_size)
}

/// Options of one invocation that are not part of the recipe.
pub struct RunOptions {
    pub run_dir: PathBuf,
    pub backend: Backend,
    pub resume: bool,
    /// With `resume`: the `--epochs` given, which may lengthen (never shorten) the saved run.
    pub extend_to_epochs: Option<usize>,
    /// Stop (as if killed) after this many optimiser steps of this invocation; for tests.
    pub stop_after_steps: Option<usize>,
    /// Stop cleanly once this moment has passed (checkpoint and `last.bsm`).
    pub deadline: Option<Instant>,
    /// Write each epoch's weights to `epochs/` (see `RunDir`).
    pub keep_epochs: bool,
    /// How convolutions are computed while training (same weights either way).
    pub conv_impl: ConvImpl,
}

pub fn run(cfg: TrainConfig, opts: RunOptions) -> Result<()> {
    let (mut t, mut model) = setup::start(cfg, &opts)?;
    let steps = steps_per_epoch(&t.train, &t.cfg);
    let total_steps = steps * t.cfg.epochs;
    let stepper = step::Stepper::new(&t);
    let mut steps_this_call = 0;
    // Under nohup the bar is hidden: log a line every few steps instead.
    let interactive = std::io::stderr().is_terminal();
    while t.state.epoch < t.cfg.epochs {
        let order = epoch_slices(&t.train, &t.cfg, t.state.epoch);
        let bar = ProgressBar::new(steps as u64).with_position(t.state.step_in_epoch as u64);
        bar.set_style(
            ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg} ({eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(format!("{}/{}", t.state.epoch + 1, t.cfg.epochs));
        let started = Instant::now();
        let seconds_before = t.state.epoch_seconds;
        let mut images_done = 0usize;
        for (step, batch) in order.chunks(t.cfg.batch_size).enumerate().skip(t.state.step_in_epoch) {
            let lr = learning_rate(&t.cfg, t.state.global_step, total_steps);
            let loss_value;
            (model, loss_value) = stepper.step(&mut t, model, batch, step, lr)?;

            t.state.step_in_epoch = step + 1;
            t.state.global_step += 1;
            t.state.epoch_loss_sum += loss_value;
            images_done += batch.len();
            steps_this_call += 1;
            let rate = images_done as f64 / started.elapsed().as_secs_f64();
            bar.set_position(t.state.step_in_epoch as u64);
            bar.set_message(format!("loss {:.4} | {rate:.2} img/s | lr {lr:.2e}", t.state.epoch_loss_sum / t.state.step_in_epoch as f64));
            if !interactive && t.state.step_in_epoch % 10 == 0 {
                eprintln!("epoch {}/{} step {}/{steps}: {}", t.state.epoch + 1, t.cfg.epochs, t.state.step_in_epoch, bar.message());
            }
            let stop = opts.stop_after_steps.is_some_and(|n| steps_this_call >= n);
            let deadline = opts.deadline.is_some_and(|d| Instant::now() >= d);
            if t.state.step_in_epoch % t.cfg.checkpoint_every.max(1) == 0 || stop || deadline {
                t.state.epoch_seconds = seconds_before + started.elapsed().as_secs_f64();
                checkpoint::save(&t, &model)?;
            }
            if stop {
                bar.abandon_with_message("stopped early (--stop-after-steps)");
                return Ok(());
            }
            if deadline {
                checkpoint::at_deadline(&t, &model)?;
                bar.abandon_with_message("stopped at --max-minutes; --resume continues");
                eprintln!("stopped at the --max-minutes deadline: checkpoint and {} written", t.run.path("last.bsm").display());
                return Ok(());
            }
        }
        bar.finish();
        let lr = learning_rate(&t.cfg, t.state.global_step.saturating_sub(1), total_steps);
        let pace = epoch::Pace {
            seconds: seconds_before + started.elapsed().as_secs_f64(),
            images_per_second: images_done as f64 / started.elapsed().as_secs_f64(),
            steps,
            lr,
        };
        epoch::end(&mut t, &model, &opts, pace)?;
        checkpoint::save(&t, &model)?;
    }
    eprintln!(
        "done: best validation Dice {:.4} at epoch {}; model in {}",
        t.state.best_dice.unwrap_or(0.0),
        t.state.best_epoch.unwrap_or(0),
        t.run.path("model.bsm").display()
    );
    Ok(())
}

/// Masks (non-zero = tumor) as a `[n, 1, size, size]` tensor of 0/1.
pub fn mask_tensor<'a>(masks: impl Iterator<Item = &'a [u8]>, size: u32, device: &Device) -> Tensor<4> {
    let mut data = Vec::new();
    let mut n = 0;
    for m in masks {
        data.extend(m.iter().map(|&v| f32::from(u8::from(v != 0))));
        n += 1;
    }
    let s = size as usize;
    Tensor::from_data(TensorData::new(data, [n, 1, s, s]), device)
}
