//! `brainseg evaluate` and `brainseg tune`: scoring a model file on a data folder.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use brainseg_core::metrics::{Evaluation, PatientScore, Summary};
use brainseg_core::model_file::{self, WeightStorage};
use burn::prelude::*;
use indicatif::ProgressBar;

use crate::dataset::{self, Sample, Split};
use crate::model_source::model_bytes;
use crate::run_dir::write_atomic;
use crate::validate::{predict, score, tune};

/// Loads the slices of `data`, restricted to the split's validation patients when given.
pub fn load_samples(data: &Path, split: Option<&Path>) -> Result<(Vec<Sample>, usize)> {
    let (mut patients, problems) = dataset::scan(data)?;
    for p in &problems {
        eprintln!("warning: {p}");
    }
    if let Some(path) = split {
        let split = Split::read(path)?;
        patients.retain(|p| split.validation.contains(&p.id));
        if patients.is_empty() {
            bail!("none of the validation patients of {} are in {}", path.display(), data.display());
        }
    }
    let (samples, problems) = dataset::load(&patients, None);
    for p in &problems {
        eprintln!("error: {p}");
    }
    Ok((samples, problems.len()))
}

/// Puts the FLAIR channel into all three, as a lone FLAIR series is fed to the model.
pub fn flair_everywhere(image: &mut image::RgbImage) {
    for p in image.pixels_mut() {
        p.0 = [p.0[1]; 3];
    }
}

/// `evaluate --json`: the summary's fields, then each patient's when asked for.
#[derive(serde::Serialize)]
pub struct EvaluateReport {
    #[serde(flatten)]
    pub summary: Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_patient: Option<Vec<PatientScore>>,
}

/// Scores the model (with its own post-processing and TTA) on `samples`.
pub fn evaluate(model: Option<&Path>, samples: &[Sample], batch: usize, device: &Device) -> Result<Evaluation> {
    let (net, meta) = model_file::decode(&model_bytes(model)?, device)?;
    let bar = ProgressBar::new(samples.len() as u64);
    let size = meta.config.input_size as u32;
    let probs = predict(&net, samples, size, &meta.normalization, batch, meta.flip_tta, device, Some(&bar))?;
    bar.finish_and_clear();
    Ok(score(samples, &probs, &meta.postprocess))
}

pub fn print_summary(s: &Summary) {
    println!("patients                {}", s.patients);
    println!("slices                  {} ({} with tumor, {} without)", s.slices, s.tumor_slices, s.empty_slices);
    println!("Dice (pixel-summed)     {:.4}", s.dice);
    println!("IoU                     {:.4}", s.iou);
    println!("precision               {:.4}", s.precision);
    println!("recall                  {:.4}", s.recall);
    println!("per-patient Dice mean   {:.4}", s.patient_dice_mean);
    println!("per-patient Dice median {:.4}", s.patient_dice_median);
    println!("slice sensitivity       {:.4} (tumor slices with any tumor predicted)", s.slice_sensitivity);
    println!("slice specificity       {:.4} (tumor-free slices with nothing predicted)", s.slice_specificity);
}

/// One line per patient, worst Dice first: where a model's errors come from.
pub fn print_patients(patients: &[PatientScore]) {
    let mut rows: Vec<&PatientScore> = patients.iter().collect();
    rows.sort_by(|a, b| a.dice.total_cmp(&b.dice));
    println!();
    println!("{:<24} {:>6} {:>6} {:>6} {:>6} {:>9} {:>9} {:>6} {:>6} {:>6}", "patient", "slices", "tumor", "missed", "alarms", "tumor px", "pred. px", "Dice", "prec.", "recall");
    for p in rows {
        println!(
            "{:<24} {:>6} {:>6} {:>6} {:>6} {:>9} {:>9} {:>6.3} {:>6.3} {:>6.3}",
            p.patient, p.slices, p.tumor_slices, p.missed_slices, p.false_alarm_slices, p.tumor_pixels, p.predicted_pixels, p.dice, p.precision, p.recall
        );
    }
}

/// Chooses flip TTA, threshold and minimum region size on `samples` and writes them into a copy
/// of the model file at `out`.
/// The weights are stored as `storage` says, or as the input model's were.
pub fn tune_into(
    model: Option<&Path>,
    out: &PathBuf,
    samples: &[Sample],
    batch: usize,
    allow_tta: bool,
    storage: Option<WeightStorage>,
    device: &Device,
) -> Result<()> {
    let bytes = model_bytes(model)?;
    let (net, mut meta) = model_file::decode(&bytes, device)?;
    let results = tune(&net, samples, meta.config.input_size as u32, &meta.normalization, batch, allow_tta, device)?;
    println!("tta  threshold  min_area  dice    precision recall  patient_dice slice_spec");
    for r in results.iter().take(10) {
        let s = &r.summary;
        println!(
            "{:<4} {:<10} {:<9} {:.4}  {:.4}    {:.4}  {:.4}       {:.4}",
            r.flip_tta, r.post.threshold, r.post.min_component_area, s.dice, s.precision, s.recall,
            s.patient_dice_mean, s.slice_specificity
        );
    }
    let best = results.first().ok_or_else(|| anyhow::anyhow!("no validation slices"))?;
    meta.flip_tta = best.flip_tta;
    meta.postprocess = best.post;
    let storage = storage.or_else(|| WeightStorage::from_name(&meta.weights_dtype)).unwrap_or(WeightStorage::F16);
    write_atomic(out, &model_file::encode(net, meta, storage)?)?;
    println!("wrote {} (flip TTA {}, threshold {}, min region {} px)", out.display(), best.flip_tta, best.post.threshold, best.post.min_component_area);
    Ok(())
}
