//! What a run writes: the checkpoint `--resume` continues from (weights, moving average,
//! optimiser, position), and model files (`model.bsm`, `last.bsm`, `epochs/`).

use anyhow::Result;
use brainseg_core::UNet;
use brainseg_core::conv::ConvImpl;
use brainseg_core::model_file::{self, ModelMeta, Provenance, WeightStorage};
use brainseg_core::preprocess::Normalization;
use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;

use super::TrainConfig;
use super::setup::Session;
use crate::ema::Ema;
use crate::run_dir::{RunDir, write_atomic};

/// Writes `model` as a model file `name` in the run folder.
pub fn export(run: &RunDir, name: &str, model: UNet, cfg: &TrainConfig, norm: Normalization, provenance: Provenance) -> Result<()> {
    let mut meta = ModelMeta::new(cfg.model.clone(), norm);
    meta.provenance = provenance;
    write_atomic(&run.path(name), &model_file::encode(model, meta, if cfg.half { WeightStorage::F16 } else { WeightStorage::F32 })?)
}

/// The weights a run validates and exports: the moving average where there is one.
pub fn exported(model: &UNet, ema: Option<&Ema>) -> UNet {
    ema.map_or_else(|| model.valid(), |e| e.model.clone()).with_conv_impl(ConvImpl::Auto)
}

/// The checkpoint of the run as it stands.
pub fn save(t: &Session, model: &UNet) -> Result<()> {
    let bytes = |m: UNet| m.into_record().into_bytes().map_err(|e| anyhow::anyhow!("{e}"));
    let m = bytes(model.clone())?;
    let e = t.ema.as_ref().map(|e| bytes(e.model.clone())).transpose()?;
    let o = t.optim.into_bytes().map_err(|e| anyhow::anyhow!("{e}"))?;
    t.run.save_checkpoint(&m, e.as_deref(), &o, &t.state)
}

/// `--max-minutes` has passed (the checkpoint is written): the current weights as `last.bsm`,
/// not validated.
pub fn at_deadline(t: &Session, model: &UNet) -> Result<()> {
    let notes = format!(
        "brainseg train, seed {}, run {}: stopped at --max-minutes in epoch {} step {}, not validated",
        t.cfg.seed,
        t.run.root.display(),
        t.state.epoch + 1,
        t.state.step_in_epoch
    );
    export(&t.run, "last.bsm", exported(model, t.ema.as_ref()), &t.cfg, t.norm, Provenance { notes, ..Provenance::default() })
}

/// The moving average saved with the checkpoint, if the run has one (a run that turns the
/// average on at `--resume` starts it from the checkpoint's weights).
pub fn resumed_ema(run: &RunDir, model: &UNet) -> Result<Option<UNet>> {
    let Some(bytes) = run.load_ema()? else { return Ok(None) };
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes)).map_err(|e| anyhow::anyhow!("checkpoint EMA: {e}"))?;
    Ok(Some(model.valid().try_load_record(record).map_err(|e| anyhow::anyhow!("checkpoint EMA: {e}"))?))
}
