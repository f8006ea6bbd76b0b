//! `brainseg train`: the training loop, apart from the model (see `brainseg_core::model`).

use std::path::PathBuf;
use std::io::IsTerminal;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use brainseg_core::conv::ConvImpl;
use brainseg_core::loss::segmentation_loss;
use brainseg_core::model_file::{self, ModelMeta, Provenance, WeightStorage};
use brainseg_core::preprocess::{Normalization, batch_tensor_stacks};
use brainseg_core::{UNet, UNetConfig};
use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::augment::Augment;
use crate::backend::Backend;
use crate::dataset::{self, Fold, Sample, Split};
use crate::ema::Ema;
use crate::run_dir::{RunDir, TrainState, write_atomic};
use crate::sampling::{Sampling, epoch_order};
use crate::validate::validate;
use crate::widen;

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

const CSV_HEADER: &str = "epoch,train_loss,val_dice,val_iou,val_precision,val_recall,\
val_patient_dice_mean,val_slice_specificity,learning_rate,epoch_seconds,train_images_per_second";

pub fn run(mut cfg: TrainConfig, opts: RunOptions) -> Result<()> {
    let run = RunDir::new(&opts.run_dir)?;
    if opts.resume {
        let saved: TrainConfig = run.read_json("config.json").context("--resume needs a run folder")?;
        let epochs = opts.extend_to_epochs.map_or(saved.epochs, |e| e.max(saved.epochs));
        cfg = TrainConfig { epochs, ..saved };
    } else if run.has_checkpoint() {
        bail!("{} already holds a run: pass --resume to continue it, or pick another --run-dir", run.root.display());
    }
    cfg.model.validate().map_err(anyhow::Error::msg)?;
    let size = cfg.model.input_size as u32;

    let (mut patients, problems) = dataset::scan(&cfg.data)?;
    for p in &problems {
        eprintln!("warning: {p}");
    }
    if let Some(n) = cfg.max_patients {
        patients.truncate(n);
    }
    let split = if opts.resume {
        run.read_json::<Split>("split.json")?
    } else {
        let s = match cfg.fold {
            Some(fold) => Split::fold(&patients, fold, cfg.seed),
            None => Split::new(&patients, cfg.validation_fraction, cfg.seed),
        };
        run.write_json("split.json", &s)?;
        s
    };
    let pick = |ids: &[String]| patients.iter().filter(|p| ids.contains(&p.id)).cloned().collect::<Vec<_>>();
    let (train, problems) = dataset::load(&pick(&split.train), Some(size));
    let (val, more) = dataset::load(&pick(&split.validation), Some(size));
    for p in problems.iter().chain(&more) {
        eprintln!("warning: skipped {p}");
    }
    if train.is_empty() {
        bail!("no training slices could be loaded");
    }
    let device = opts.backend.device()?;
    let train_device = device.clone().autodiff();
    let start = match (&cfg.init_from, opts.resume) {
        (Some(path), false) => {
            let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let (net, meta) = model_file::decode(&bytes, &train_device)
                .with_context(|| format!("{}: cannot load the model", path.display()))?;
            // The U-Net is fully convolutional: the same weights run at any input size, so a
            // model trained on small slices can be fine-tuned at full resolution.
            let same_size = UNetConfig { input_size: cfg.model.input_size, ..meta.config.clone() };
            cfg.normalization = Some(meta.normalization);
            if same_size == cfg.model {
                Some(net)
            } else if widen::is_adding_context(&same_size, &cfg.model) {
                eprintln!("adding {} neighbouring slice(s) on each side to {}'s input, at zero weight", cfg.model.context(), path.display());
                Some(widen::add_context(&net, &cfg.model, &train_device)?)
            } else if widen::is_doubling(&same_size, &cfg.model) {
                eprintln!("widening {} from base width {} to {}", path.display(), same_size.base_channels, cfg.model.base_channels);
                Some(widen::widen(&net, &cfg.model, &train_device, cfg.seed)?)
            } else {
                bail!("{} was trained with another architecture ({:?})", path.display(), meta.config);
            }
        }
        _ => None,
    };
    let norm = *cfg.normalization.get_or_insert_with(|| Normalization::fit(train.iter().map(|s| &s.image)));
    run.write_json("config.json", &cfg)?;
    eprintln!(
        "data: {} training slices ({} patients), {} validation slices ({} patients)",
        train.len(),
        split.train.len(),
        val.len(),
        split.validation.len()
    );

    // Seeded initial weights: the same recipe gives the same run.
    train_device.seed(cfg.seed);
    let mut model = start.unwrap_or_else(|| cfg.model.init(&train_device)).with_conv_impl(opts.conv_impl);
    let mut optim = AdamWConfig::new()
        .with_weight_decay(cfg.weight_decay)
        .with_epsilon(1e-8)
        .init();
    let mut state = TrainState::default();
    if opts.resume && run.has_checkpoint() {
        let (m, o, s) = run.load_checkpoint()?;
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(m))
            .map_err(|e| anyhow::anyhow!("checkpoint model: {e}"))?;
        model = model.try_load_record(record).map_err(|e| anyhow::anyhow!("checkpoint model: {e}"))?;
        optim = optim.from_bytes(Bytes::from_bytes_vec(o)).map_err(|e| anyhow::anyhow!("checkpoint optimiser: {e}"))?;
        state = s;
        eprintln!("resuming at epoch {} step {}", state.epoch + 1, state.step_in_epoch);
    }
    let mut ema = match cfg.ema_decay {
        Some(decay) => Some(Ema::new(resumed_ema(&run, &model)?.unwrap_or_else(|| model.valid()), decay, state.global_step)),
        None => None,
    };
    eprintln!("model: {} parameters", model.num_params());

    let steps = steps_per_epoch(&train, &cfg);
    let total_steps = steps * cfg.epochs;
    let augment = if cfg.augment { Augment { flair_fill: cfg.flair_fill, ..Augment::default() } } else { Augment::none() };
    let context = dataset::context_table(&train, cfg.model.context());
    let mut steps_this_call = 0;
    // Under nohup the bar is hidden: log a line every few steps instead.
    let interactive = std::io::stderr().is_terminal();
    while state.epoch < cfg.epochs {
        let order = epoch_slices(&train, &cfg, state.epoch);
        let bar = ProgressBar::new(steps as u64).with_position(state.step_in_epoch as u64);
        bar.set_style(
            ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg} ({eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(format!("{}/{}", state.epoch + 1, cfg.epochs));
        let started = Instant::now();
        let seconds_before = state.epoch_seconds;
        let mut images_done = 0usize;
        for (step, batch) in order.chunks(cfg.batch_size).enumerate().skip(state.step_in_epoch) {
            let items: Vec<_> =
                batch.iter().map(|&i| (context[i].iter().map(|&j| &train[j].image).collect::<Vec<_>>(), &train[i].mask)).collect();
            let pairs = augment.apply_batch(&items, cfg.seed ^ ((state.epoch * 1_000_003 + step) as u64) << 1);
            let stacks: Vec<Vec<_>> = pairs.iter().map(|(i, _)| i.iter().collect()).collect();
            let x = batch_tensor_stacks(&stacks, &norm, &train_device);
            let y = mask_tensor(pairs.iter().map(|(_, m)| m.as_raw().as_slice()), size, &train_device);
            let loss = segmentation_loss(model.forward(x), y);
            let loss_value = f64::from(loss.clone().into_scalar::<f32>());
            if !loss_value.is_finite() {
                bail!("the loss became {loss_value} at epoch {} step {step}; lower --lr", state.epoch + 1);
            }
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let lr = learning_rate(&cfg, state.global_step, total_steps);
            model = optim.step(lr, model, grads);
            if let Some(ema) = &mut ema {
                ema.update(&model.valid());
            }

            state.step_in_epoch = step + 1;
            state.global_step += 1;
            state.epoch_loss_sum += loss_value;
            images_done += batch.len();
            steps_this_call += 1;
            let rate = images_done as f64 / started.elapsed().as_secs_f64();
            bar.set_position(state.step_in_epoch as u64);
            bar.set_message(format!("loss {:.4} | {rate:.2} img/s | lr {lr:.2e}", state.epoch_loss_sum / state.step_in_epoch as f64));
            if !interactive && state.step_in_epoch % 10 == 0 {
                eprintln!("epoch {}/{} step {}/{steps}: {}", state.epoch + 1, cfg.epochs, state.step_in_epoch, bar.message());
            }
            let stop = opts.stop_after_steps.is_some_and(|n| steps_this_call >= n);
            let deadline = opts.deadline.is_some_and(|d| Instant::now() >= d);
            if state.step_in_epoch % cfg.checkpoint_every.max(1) == 0 || stop || deadline {
                state.epoch_seconds = seconds_before + started.elapsed().as_secs_f64();
                checkpoint(&run, &model, ema.as_ref(), &optim, &state)?;
            }
            if stop {
                bar.abandon_with_message("stopped early (--stop-after-steps)");
                return Ok(());
            }
            if deadline {
                let notes = format!(
                    "brainseg train, seed {}, run {}: stopped at --max-minutes in epoch {} step {}, not validated",
                    cfg.seed, run.root.display(), state.epoch + 1, state.step_in_epoch
                );
                export(&run, "last.bsm", exported(&model, ema.as_ref()), &cfg, norm, Provenance { notes, ..Provenance::default() })?;
                bar.abandon_with_message("stopped at --max-minutes; --resume continues");
                eprintln!("stopped at the --max-minutes deadline: checkpoint and {} written", run.path("last.bsm").display());
                return Ok(());
            }
        }
        bar.finish();
        let seconds = seconds_before + started.elapsed().as_secs_f64();
        let train_loss = state.epoch_loss_sum / steps as f64;
        let eval_model = exported(&model, ema.as_ref());
        let summary = validate(&eval_model, &cfg.model, &val, norm, cfg.batch_size, &device)?;
        // With an average, the latest weights too, so a run shows what the average bought.
        let latest_model = ema.is_some().then(|| exported(&model, None));
        if let Some(latest_model) = &latest_model {
            let latest = validate(latest_model, &cfg.model, &val, norm, cfg.batch_size, &device)?;
            eprintln!("epoch {}: latest (not averaged) weights: validation Dice {:.4}", state.epoch + 1, latest.dice);
        }
        if opts.keep_epochs {
            // For `brainseg average`: the weights of late epochs can average into a better model
            // (for the shipped model's last cycle the mean was level with the best: MODEL.md).
            let name = format!("epoch-{:02}", state.epoch + 1);
            std::fs::create_dir_all(run.path("epochs")).context("cannot create the run's epochs folder")?;
            let provenance = || Provenance {
                epochs: state.epoch + 1,
                train_patients: split.train.len(),
                notes: format!("brainseg train, seed {}, run {}: epoch {}", cfg.seed, run.root.display(), state.epoch + 1),
                ..Provenance::default()
            };
            export(&run, &format!("epochs/{name}.bsm"), eval_model.clone(), &cfg, norm, provenance())?;
            if let Some(latest_model) = latest_model {
                export(&run, &format!("epochs/{name}-latest.bsm"), latest_model, &cfg, norm, provenance())?;
            }
        }
        let lr = learning_rate(&cfg, state.global_step.saturating_sub(1), total_steps);
        eprintln!(
            "epoch {}: train loss {train_loss:.4} | validation Dice {:.4} IoU {:.4} precision {:.4} recall {:.4} | {seconds:.0} s",
            state.epoch + 1, summary.dice, summary.iou, summary.precision, summary.recall
        );
        let row = format!(
            "{},{train_loss:.5},{:.5},{:.5},{:.5},{:.5},{:.5},{:.5},{lr:.3e},{seconds:.1},{:.3}",
            state.epoch + 1, summary.dice, summary.iou, summary.precision, summary.recall,
            summary.patient_dice_mean, summary.slice_specificity, images_done as f64 / started.elapsed().as_secs_f64()
        );
        run.append_metrics(CSV_HEADER, state.epoch + 1, &row)?;
        if val.is_empty() || state.best_dice.is_none_or(|b| summary.dice > b) {
            state.best_dice = Some(summary.dice);
            state.best_epoch = Some(state.epoch + 1);
            let provenance = Provenance {
                epochs: state.epoch + 1,
                train_patients: split.train.len(),
                validation_dice: (!val.is_empty()).then_some(summary.dice),
                notes: format!("brainseg train, seed {}, run {}", cfg.seed, run.root.display()),
            };
            export(&run, "model.bsm", eval_model, &cfg, norm, provenance)?;
            eprintln!("  new best: wrote {}", run.path("model.bsm").display());
        }
        state.epoch += 1;
        state.step_in_epoch = 0;
        state.epoch_loss_sum = 0.0;
        state.epoch_seconds = 0.0;
        checkpoint(&run, &model, ema.as_ref(), &optim, &state)?;
    }
    eprintln!(
        "done: best validation Dice {:.4} at epoch {}; model in {}",
        state.best_dice.unwrap_or(0.0),
        state.best_epoch.unwrap_or(0),
        run.path("model.bsm").display()
    );
    Ok(())
}

/// Writes `model` as a model file `name` in the run folder.
fn export(run: &RunDir, name: &str, model: UNet, cfg: &TrainConfig, norm: Normalization, provenance: Provenance) -> Result<()> {
    let mut meta = ModelMeta::new(cfg.model.clone(), norm);
    meta.provenance = provenance;
    write_atomic(&run.path(name), &model_file::encode(model, meta, if cfg.half { WeightStorage::F16 } else { WeightStorage::F32 })?)
}

/// The weights a run validates and exports: the moving average where there is one.
fn exported(model: &UNet, ema: Option<&Ema>) -> UNet {
    ema.map_or_else(|| model.valid(), |e| e.model.clone()).with_conv_impl(ConvImpl::Auto)
}

fn checkpoint(run: &RunDir, model: &UNet, ema: Option<&Ema>, optim: &ModuleOptimizer, state: &TrainState) -> Result<()> {
    let bytes = |m: UNet| m.into_record().into_bytes().map_err(|e| anyhow::anyhow!("{e}"));
    let m = bytes(model.clone())?;
    let e = ema.map(|e| bytes(e.model.clone())).transpose()?;
    let o = optim.into_bytes().map_err(|e| anyhow::anyhow!("{e}"))?;
    run.save_checkpoint(&m, e.as_deref(), &o, state)
}

/// The moving average saved with the checkpoint, if the run has one (a run that turns the
/// average on at `--resume` starts it from the checkpoint's weights).
fn resumed_ema(run: &RunDir, model: &UNet) -> Result<Option<UNet>> {
    let Some(bytes) = run.load_ema()? else { return Ok(None) };
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes)).map_err(|e| anyhow::anyhow!("checkpoint EMA: {e}"))?;
    Ok(Some(model.valid().try_load_record(record).map_err(|e| anyhow::anyhow!("checkpoint EMA: {e}"))?))
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
