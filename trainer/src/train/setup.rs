//! A run's start: its folder (new, or resumed with its saved recipe), the patients split and
//! loaded, the normalisation, the starting weights (random, another model file's, or the
//! checkpoint's), the optimiser and the moving average.

use anyhow::{Context, Result, bail};
use brainseg_core::model_file;
use brainseg_core::preprocess::Normalization;
use brainseg_core::{UNet, UNetConfig};
use burn::module::Module;
use burn::optim::{AdamWConfig, ModuleOptimizer};
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;

use super::checkpoint::resumed_ema;
use super::{RunOptions, TrainConfig};
use crate::dataset::{self, Sample, Split};
use crate::ema::Ema;
use crate::run_dir::{RunDir, TrainState};
use crate::widen;

/// Everything a run holds between steps, but the weights being trained (which each optimiser
/// step takes and gives back).
pub struct Session {
    pub run: RunDir,
    pub cfg: TrainConfig,
    pub split: Split,
    pub train: Vec<Sample>,
    pub val: Vec<Sample>,
    pub norm: Normalization,
    /// Where validation runs; training runs on its autodiff twin.
    pub device: Device,
    pub train_device: Device,
    pub optim: ModuleOptimizer,
    pub state: TrainState,
    pub ema: Option<Ema>,
}

/// Opens (or resumes) the run and returns it with the weights to train.
pub fn start(mut cfg: TrainConfig, opts: &RunOptions) -> Result<(Session, UNet)> {
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
    let start = if opts.resume { None } else { initial_weights(&mut cfg, &train_device)? };
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
    let mut optim = AdamWConfig::new().with_weight_decay(cfg.weight_decay).with_epsilon(1e-8).init();
    let mut state = TrainState::default();
    if opts.resume && run.has_checkpoint() {
        let (m, o, s) = run.load_checkpoint()?;
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(m)).map_err(|e| anyhow::anyhow!("checkpoint model: {e}"))?;
        model = model.try_load_record(record).map_err(|e| anyhow::anyhow!("checkpoint model: {e}"))?;
        optim = optim.from_bytes(Bytes::from_bytes_vec(o)).map_err(|e| anyhow::anyhow!("checkpoint optimiser: {e}"))?;
        state = s;
        eprintln!("resuming at epoch {} step {}", state.epoch + 1, state.step_in_epoch);
    }
    let ema = match cfg.ema_decay {
        Some(decay) => Some(Ema::new(resumed_ema(&run, &model)?.unwrap_or_else(|| model.valid()), decay, state.global_step)),
        None => None,
    };
    eprintln!("model: {} parameters", model.num_params());
    let session = Session { run, cfg, split, train, val, norm, device, train_device, optim, state, ema };
    Ok((session, model))
}

/// `--init-from`'s weights (and normalisation), widened or given neighbouring slices where the
/// recipe asks for it; `None` without `--init-from` (random weights).
fn initial_weights(cfg: &mut TrainConfig, train_device: &Device) -> Result<Option<UNet>> {
    let Some(path) = cfg.init_from.clone() else { return Ok(None) };
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let (net, meta) = model_file::decode(&bytes, train_device).with_context(|| format!("{}: cannot load the model", path.display()))?;
    // The U-Net is fully convolutional: the same weights run at any input size, so a model
    // trained on small slices can be fine-tuned at full resolution.
    let same_size = UNetConfig { input_size: cfg.model.input_size, ..meta.config.clone() };
    cfg.normalization = Some(meta.normalization);
    if same_size == cfg.model {
        Ok(Some(net))
    } else if widen::is_adding_context(&same_size, &cfg.model) {
        eprintln!("adding {} neighbouring slice(s) on each side to {}'s input, at zero weight", cfg.model.context(), path.display());
        Ok(Some(widen::add_context(&net, &cfg.model, train_device)?))
    } else if widen::is_doubling(&same_size, &cfg.model) {
        eprintln!("widening {} from base width {} to {}", path.display(), same_size.base_channels, cfg.model.base_channels);
        Ok(Some(widen::widen(&net, &cfg.model, train_device, cfg.seed)?))
    } else {
        bail!("{} was trained with another architecture ({:?})", path.display(), meta.config)
    }
}
