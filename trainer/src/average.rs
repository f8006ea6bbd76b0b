//! `brainseg average`: one model whose weights are the mean of several model files of the same
//! architecture, typically the per-epoch snapshots of one run late in its schedule (stochastic
//! weight averaging, Izmailov et al. 2018; "model soups", Wortsman et al. 2022). Such snapshots
//! sit in one basin of the loss, so their mean is a network in its own right, sometimes better
//! than any of them, at the cost of one model (for the shipped model's last cycle it was level
//! with the best: MODEL.md, cycle 8). Models from different runs or initialisations do not
//! average into anything useful; nothing here can tell, so `evaluate` the result.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use brainseg_core::model_file::{self, ModelMeta, WeightStorage, float_params, refill_all};
use brainseg_core::UNet;
use burn::prelude::*;

use crate::model_source::model_bytes;
use crate::run_dir::write_atomic;

/// The mean of the weights in `paths`, with the first file's header (post-processing included:
/// re-`tune` the result).
pub fn average(paths: &[PathBuf], device: &Device) -> Result<(UNet, ModelMeta)> {
    let [first, rest @ ..] = paths else { bail!("no model files to average") };
    if rest.is_empty() {
        bail!("averaging needs at least two model files");
    }
    let (net, meta) = read(first, device)?;
    let mut sums = float_params(&net);
    for path in rest {
        let (other, other_meta) = read(path, device)?;
        if other_meta.config != meta.config || other_meta.normalization != meta.normalization {
            bail!(
                "{} has another architecture or input normalisation than {}: only models of one run average",
                path.display(),
                first.display()
            );
        }
        // Same architecture, so the same parameters in the same order and shapes.
        for ((_, sum), (_, values)) in sums.iter_mut().zip(float_params(&other)) {
            sum.iter_mut().zip(values).for_each(|(s, v)| *s += v);
        }
    }
    let n = paths.len() as f32;
    sums.iter_mut().for_each(|(_, values)| values.iter_mut().for_each(|v| *v /= n));
    let net = refill_all(net, sums, |shape, values, dims| {
        if dims == shape { Ok(values) } else { Err(format!("a {shape:?} tensor for a {dims:?} parameter")) }
    })
    .map_err(|e| anyhow::anyhow!("cannot average the models: {e}"))?;
    Ok((net, meta))
}

/// Writes the mean of `paths` to `output`, stored as the first file's weights are.
pub fn write(paths: &[PathBuf], output: &Path, device: &Device) -> Result<()> {
    let (net, mut meta) = average(paths, device)?;
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    meta.provenance.validation_dice = None;
    meta.provenance.notes = format!("brainseg average of {} models: {}", paths.len(), names.join(", "));
    let storage = WeightStorage::from_name(&meta.weights_dtype).unwrap_or(WeightStorage::F16);
    write_atomic(output, &model_file::encode(net, meta, storage)?)?;
    println!("wrote {} (the mean of {} models; tune it before use)", output.display(), paths.len());
    Ok(())
}

fn read(path: &Path, device: &Device) -> Result<(UNet, ModelMeta)> {
    let bytes = model_bytes(Some(path))?;
    model_file::decode(&bytes, device).with_context(|| format!("{}: cannot load the model", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use brainseg_core::preprocess::Normalization;
    use brainseg_core::UNetConfig;

    fn tiny() -> UNetConfig {
        UNetConfig::new().with_base_channels(4).with_depth(2).with_norm_groups(2).with_input_size(16)
    }

    fn write(name: &str, net: UNet, config: UNetConfig) -> PathBuf {
        let path = std::env::temp_dir().join(format!("brainseg-average-{}-{name}", std::process::id()));
        let meta = ModelMeta::new(config, Normalization::default());
        std::fs::write(&path, model_file::encode(net, meta, WeightStorage::F32).unwrap()).unwrap();
        path
    }

    #[test]
    fn the_average_of_two_models_is_their_mean_weight_by_weight() {
        let device = Device::flex();
        device.seed(5);
        let (a, b) = (tiny().init(&device), tiny().init(&device));
        let (pa, pb) = (float_params(&a), float_params(&b));
        let paths = [write("mean-a.bsm", a, tiny()), write("mean-b.bsm", b, tiny())];
        let (mean, meta) = average(&paths, &device).unwrap();
        assert_eq!(meta.config, tiny());
        for (((shape, m), (_, x)), (_, y)) in float_params(&mean).into_iter().zip(pa).zip(pb) {
            for i in 0..m.len() {
                assert!((m[i] - (x[i] + y[i]) / 2.0).abs() < 1e-6, "{shape:?} [{i}]");
            }
        }
        paths.iter().for_each(|p| drop(std::fs::remove_file(p)));
    }

    #[test]
    fn models_of_other_architectures_or_a_single_file_are_refused() {
        let device = Device::flex();
        let wide = UNetConfig { base_channels: 8, ..tiny() };
        let a = write("refused-a.bsm", tiny().init(&device), tiny());
        let b = write("refused-b.bsm", wide.clone().init(&device), wide);
        let e = average(&[a.clone(), b.clone()], &device).unwrap_err();
        assert!(e.to_string().contains("another architecture"), "{e}");
        let e = average(&[a.clone()], &device).unwrap_err();
        assert!(e.to_string().contains("at least two"), "{e}");
        [a, b].iter().for_each(|p| drop(std::fs::remove_file(p)));
    }
}
