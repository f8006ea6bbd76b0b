//! The run folder: everything a training run writes, and what `--resume` reads back.
//!
//! ```text
//! <run>/config.json     TrainConfig (model config, recipe, normalisation)
//! <run>/split.json      patient-level train/validation split
//! <run>/metrics.csv     one row per epoch
//! <run>/checkpoint/     model.bpk, optim.bpk, state.json, ema.bpk with --ema-decay (written atomically)
//! <run>/model.bsm       best-by-validation-Dice model file
//! <run>/last.bsm        the weights where `--max-minutes` stopped (not validated)
//! <run>/epochs/         with `--keep-epochs`: epoch-NN.bsm per epoch (and epoch-NN-latest.bsm
//!                       beside the moving average's)
//! ```

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Where training stands; enough to continue with no lost work.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Epoch in progress (0-based).
    pub epoch: usize,
    /// Optimiser steps done within `epoch`.
    pub step_in_epoch: usize,
    /// Optimiser steps done in total.
    pub global_step: usize,
    pub best_dice: Option<f64>,
    pub best_epoch: Option<usize>,
    /// Sum of the losses of this epoch's steps so far (for the epoch mean).
    pub epoch_loss_sum: f64,
    pub epoch_seconds: f64,
}

pub struct RunDir {
    pub root: PathBuf,
}

/// Writes `bytes` to `path` through a temporary file, so a kill never leaves half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot move {} into place", path.display()))
}

impl RunDir {
    pub fn new(root: &Path) -> Result<Self> {
        fs::create_dir_all(root.join("checkpoint"))
            .with_context(|| format!("cannot create the run folder {}", root.display()))?;
        Ok(Self { root: root.to_path_buf() })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    pub fn has_checkpoint(&self) -> bool {
        self.path("checkpoint/state.json").exists()
    }

    pub fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<()> {
        write_atomic(&self.path(name), &serde_json::to_vec_pretty(value)?)
    }

    pub fn read_json<T: for<'de> Deserialize<'de>>(&self, name: &str) -> Result<T> {
        let path = self.path(name);
        let text = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_slice(&text).with_context(|| format!("{} is damaged", path.display()))
    }

    /// Saves model, moving-average and optimiser records, then the state that points at them
    /// (last, so a checkpoint is only visible once complete).
    pub fn save_checkpoint(&self, model: &[u8], ema: Option<&[u8]>, optim: &[u8], state: &TrainState) -> Result<()> {
        write_atomic(&self.path("checkpoint/model.bpk"), model)?;
        if let Some(ema) = ema {
            write_atomic(&self.path("checkpoint/ema.bpk"), ema)?;
        }
        write_atomic(&self.path("checkpoint/optim.bpk"), optim)?;
        self.write_json("checkpoint/state.json", state)
    }

    pub fn load_checkpoint(&self) -> Result<(Vec<u8>, Vec<u8>, TrainState)> {
        let read = |n: &str| {
            let p = self.path(n);
            fs::read(&p).with_context(|| format!("cannot read {}", p.display()))
        };
        Ok((read("checkpoint/model.bpk")?, read("checkpoint/optim.bpk")?, self.read_json("checkpoint/state.json")?))
    }

    /// The checkpoint's moving average of the weights, if it has one.
    pub fn load_ema(&self) -> Result<Option<Vec<u8>>> {
        let p = self.path("checkpoint/ema.bpk");
        if !self.has_checkpoint() || !p.exists() {
            return Ok(None);
        }
        fs::read(&p).map(Some).with_context(|| format!("cannot read {}", p.display()))
    }

    /// Appends a row to `metrics.csv`, writing the header first if the file is new. Rows of
    /// epochs at or after `epoch` (left by a killed run) are dropped first.
    pub fn append_metrics(&self, header: &str, epoch: usize, row: &str) -> Result<()> {
        let path = self.path("metrics.csv");
        let old = fs::read_to_string(&path).unwrap_or_default();
        let mut lines: Vec<&str> = old.lines().collect();
        if lines.is_empty() {
            lines.push(header);
        }
        lines.retain(|l| {
            l.split(',').next().and_then(|e| e.parse::<usize>().ok()).is_none_or(|e| e < epoch)
        });
        let mut out = fs::File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
        for l in lines {
            writeln!(out, "{l}")?;
        }
        writeln!(out, "{row}")?;
        Ok(())
    }
}
