//! An epoch's end: validation (of the moving average where there is one, and of the latest
//! weights beside it), the metrics row, `epochs/` with `--keep-epochs`, and `model.bsm` when
//! validation improved.

use anyhow::{Context, Result};
use brainseg_core::UNet;
use brainseg_core::model_file::Provenance;

use super::RunOptions;
use super::checkpoint::{export, exported};
use super::setup::Session;
use crate::validate::validate;

const CSV_HEADER: &str = "epoch,train_loss,val_dice,val_iou,val_precision,val_recall,\
val_patient_dice_mean,val_slice_specificity,learning_rate,epoch_seconds,train_images_per_second";

/// How the epoch went, for its metrics row.
pub struct Pace {
    pub seconds: f64,
    pub images_per_second: f64,
    /// Optimiser steps in the epoch.
    pub steps: usize,
    /// The learning rate of its last step.
    pub lr: f64,
}

/// Validates the epoch's weights, records them, and moves the run to the next epoch.
pub fn end(t: &mut Session, model: &UNet, opts: &RunOptions, pace: Pace) -> Result<()> {
    let epoch = t.state.epoch + 1;
    let train_loss = t.state.epoch_loss_sum / pace.steps as f64;
    let eval_model = exported(model, t.ema.as_ref());
    let summary = validate(&eval_model, &t.cfg.model, &t.val, t.norm, t.cfg.batch_size, &t.device)?;
    // With an average, the latest weights too, so a run shows what the average bought.
    let latest_model = t.ema.is_some().then(|| exported(model, None));
    if let Some(latest_model) = &latest_model {
        let latest = validate(latest_model, &t.cfg.model, &t.val, t.norm, t.cfg.batch_size, &t.device)?;
        eprintln!("epoch {epoch}: latest (not averaged) weights: validation Dice {:.4}", latest.dice);
    }
    if opts.keep_epochs {
        // For `brainseg average`: the weights of late epochs can average into a better model
        // (for the shipped model's last cycle the mean was level with the best: MODEL.md).
        let name = format!("epoch-{epoch:02}");
        std::fs::create_dir_all(t.run.path("epochs")).context("cannot create the run's epochs folder")?;
        let provenance = || Provenance {
            epochs: epoch,
            train_patients: t.split.train.len(),
            notes: format!("brainseg train, seed {}, run {}: epoch {epoch}", t.cfg.seed, t.run.root.display()),
            ..Provenance::default()
        };
        export(&t.run, &format!("epochs/{name}.bsm"), eval_model.clone(), &t.cfg, t.norm, provenance())?;
        if let Some(latest_model) = latest_model {
            export(&t.run, &format!("epochs/{name}-latest.bsm"), latest_model, &t.cfg, t.norm, provenance())?;
        }
    }
    let seconds = pace.seconds;
    eprintln!(
        "epoch {epoch}: train loss {train_loss:.4} | validation Dice {:.4} IoU {:.4} precision {:.4} recall {:.4} | {seconds:.0} s",
        summary.dice, summary.iou, summary.precision, summary.recall
    );
    let row = format!(
        "{epoch},{train_loss:.5},{:.5},{:.5},{:.5},{:.5},{:.5},{:.5},{:.3e},{seconds:.1},{:.3}",
        summary.dice,
        summary.iou,
        summary.precision,
        summary.recall,
        summary.patient_dice_mean,
        summary.slice_specificity,
        pace.lr,
        pace.images_per_second
    );
    t.run.append_metrics(CSV_HEADER, epoch, &row)?;
    if t.val.is_empty() || t.state.best_dice.is_none_or(|b| summary.dice > b) {
        t.state.best_dice = Some(summary.dice);
        t.state.best_epoch = Some(epoch);
        let provenance = Provenance {
            epochs: epoch,
            train_patients: t.split.train.len(),
            validation_dice: (!t.val.is_empty()).then_some(summary.dice),
            notes: format!("brainseg train, seed {}, run {}", t.cfg.seed, t.run.root.display()),
        };
        export(&t.run, "model.bsm", eval_model, &t.cfg, t.norm, provenance)?;
        eprintln!("  new best: wrote {}", t.run.path("model.bsm").display());
    }
    t.state.epoch += 1;
    t.state.step_in_epoch = 0;
    t.state.epoch_loss_sum = 0.0;
    t.state.epoch_seconds = 0.0;
    Ok(())
}
