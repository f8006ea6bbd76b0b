//! `brainseg evaluate` and `brainseg tune`: scoring a model file on a data folder.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use brainseg_core::metrics::{Evaluation, PatientScore, Summary};
use brainseg_core::model_file::{self, WeightStorage};
use brainseg_core::Segmenter;
use brainseg_core::postprocess::{PostProcess, resize_probabilities};
use burn::prelude::*;
use indicatif::ProgressBar;

use crate::cli::{EvaluateArgs, PostArgs};
use crate::crossval::{Folds, print_folds};
use crate::dataset::Sample;
use crate::model_source::model_bytes;
use crate::run_dir::write_atomic;
use crate::validate::{Tuned, VOLUME_RULES, grid, mean_into, predict, score, segmenter};

/// Puts the FLAIR channel into all three, as a lone FLAIR series is fed to the model.
pub fn flair_everywhere(image: &mut image::RgbImage) {
    for p in image.pixels_mut() {
        p.0 = [p.0[1]; 3];
    }
}

/// `evaluate --json`: the summary's fields, then each patient's when asked for, then each
/// fold's when cross-validating.
#[derive(serde::Serialize)]
pub struct EvaluateReport {
    #[serde(flatten)]
    pub summary: Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_patient: Option<Vec<PatientScore>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folds: Option<Vec<Summary>>,
}

/// `brainseg evaluate`: one model, or the folds of a cross-validation pooled.
pub fn run(args: &EvaluateArgs, device: &Device) -> Result<ExitCode> {
    // A bad override is refused before the slices are loaded.
    args.post.apply(PostProcess::default())?;
    let mut folds = Folds::load(&args.data, &args.split, &args.model)?;
    if folds.samples.is_empty() {
        bail!("no slices could be loaded from {}", args.data.display());
    }
    if args.flair_only {
        folds.samples.iter_mut().for_each(|s| flair_everywhere(&mut s.image));
    }
    let mut scores = Evaluation::new();
    let mut per_fold = Vec::new();
    for fold in &folds.folds {
        let e = evaluate(fold.model.as_deref(), &folds.samples[fold.range.clone()], &args.post, args.batch_size, device)?;
        scores.merge(&e);
        per_fold.push(e.summary());
    }
    let summary = scores.summary();
    let patients = args.per_patient.then(|| scores.patients());
    let per_fold = folds.is_cross_validation().then_some(per_fold);
    if args.json {
        let report = EvaluateReport { summary, per_patient: patients, folds: per_fold };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_summary(&summary);
        if let Some(p) = &patients {
            print_patients(p);
        }
        if let Some(f) = &per_fold {
            println!();
            print_folds(&folds.folds, f);
        }
    }
    if folds.failed > 0 {
        eprintln!("{} file(s) could not be read and were left out", folds.failed);
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Scores the model (with its own post-processing, but for `overrides`, and TTA) on `samples`.
pub fn evaluate(model: Option<&Path>, samples: &[Sample], overrides: &PostArgs, batch: usize, device: &Device) -> Result<Evaluation> {
    let seg = Segmenter::from_bytes(&model_bytes(model)?, device)?;
    let post = overrides.apply(seg.meta().postprocess)?;
    let bar = ProgressBar::new(samples.len() as u64);
    let probs = predict(&seg, samples, batch, Some(&bar))?;
    bar.finish_and_clear();
    Ok(score(samples, &probs, &post))
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

fn print_tuned(r: &Tuned) {
    let s = &r.summary;
    println!(
        "{:<4} {:<10} {:<9} {:.4}  {:.4}    {:.4}  {:.4}       {:.4}      {}",
        r.flip_tta, r.post.threshold, r.post.min_component_area, s.dice, s.precision, s.recall,
        s.patient_dice_mean, s.slice_specificity, r.post.volume
    );
}

/// Chooses flip TTA, threshold, minimum region size and 3D step on the folds' slices (each fold predicted
/// by its own model) and writes them into a copy of `apply_to` (default: the first fold's model)
/// at `out`. The weights are stored as `storage` says, or as that model's were. With `ensemble`
/// (one split only), the grid is scored on the mean probabilities of the split's model and
/// these, and nothing is written: a model file holds one network.
#[allow(clippy::too_many_arguments)]
pub fn tune_into(
    folds: &Folds,
    ensemble: &[PathBuf],
    apply_to: Option<&Path>,
    out: Option<&PathBuf>,
    batch: usize,
    allow_tta: bool,
    storage: Option<WeightStorage>,
    device: &Device,
) -> Result<()> {
    if !ensemble.is_empty() && folds.is_cross_validation() {
        bail!("--ensemble-with measures an ensemble on one --split, not on folds");
    }
    let load = |p: Option<&Path>| Ok(model_file::decode(&model_bytes(p)?, device)?);
    let nets = folds.folds.iter().map(|f| load(f.model.as_deref())).collect::<Result<Vec<_>>>()?;
    let members = ensemble.iter().map(|p| load(Some(p))).collect::<Result<Vec<_>>>()?;
    let passes: &[bool] = if allow_tta { &[false, true] } else { &[false] };
    let bar = ProgressBar::new((passes.len() * folds.samples.len() * (1 + members.len())) as u64);
    let mut predicted = Vec::new();
    for &flip_tta in passes {
        let mut probs = Vec::with_capacity(folds.samples.len());
        for ((net, meta), fold) in nets.iter().zip(&folds.folds) {
            let seg = segmenter(net, &meta.config, meta.normalization, flip_tta, device);
            probs.extend(predict(&seg, &folds.samples[fold.range.clone()], batch, Some(&bar))?);
        }
        // Members may run at other input sizes (a multi-scale ensemble): their maps are
        // resized onto the first model's grid, where the post-processing grid is scored.
        let size = nets[0].1.config.input_size as u32;
        let more = members
            .iter()
            .map(|(net, meta)| {
                let probs = predict(&segmenter(net, &meta.config, meta.normalization, flip_tta, device), &folds.samples, batch, Some(&bar))?;
                let from = meta.config.input_size as u32;
                Ok(probs.into_iter().map(|p| resize_probabilities(p, from, size, size)).collect())
            })
            .collect::<Result<Vec<_>>>()?;
        mean_into(&mut probs, &more)?;
        predicted.push((flip_tta, probs));
    }
    bar.finish_and_clear();
    let results = grid(&folds.samples, &predicted);
    let header = "tta  threshold  min_area  dice    precision recall  patient_dice slice_spec  3D step";
    println!("{header}");
    results.iter().take(10).for_each(print_tuned);
    // What the 3D step buys: the best setting under each rule.
    println!("\nbest Dice under each 3D step:\n{header}");
    for rule in VOLUME_RULES {
        if let Some(r) = results.iter().filter(|r| r.post.volume == rule).max_by(|a, b| a.summary.dice.total_cmp(&b.summary.dice)) {
            print_tuned(r);
        }
    }
    let best = results.first().ok_or_else(|| anyhow::anyhow!("no validation slices"))?;
    if folds.is_cross_validation() {
        // How much the chosen setting's score moves from one fold's patients to the next.
        let probs = &predicted.iter().find(|(t, _)| *t == best.flip_tta).expect("the choice's pass").1;
        let summaries: Vec<Summary> =
            folds.folds.iter().map(|f| score(&folds.samples[f.range.clone()], &probs[f.range.clone()], &best.post).summary()).collect();
        println!("\nthe choice, fold by fold:");
        print_folds(&folds.folds, &summaries);
    }
    let Some(out) = out else {
        println!("\nan ensemble of {} models, measured only: no file written (a model file holds one network)", 1 + members.len());
        return Ok(());
    };
    let (net, mut meta) = match apply_to {
        Some(path) => load(Some(path))?,
        None => nets.into_iter().next().expect("at least one fold"),
    };
    meta.flip_tta = best.flip_tta;
    meta.postprocess = best.post;
    let storage = storage.or_else(|| WeightStorage::from_name(&meta.weights_dtype)).unwrap_or(WeightStorage::F16);
    write_atomic(out, &model_file::encode(net, meta, storage)?)?;
    println!(
        "wrote {} (flip TTA {}, threshold {}, min region {} px, 3D step: {})",
        out.display(), best.flip_tta, best.post.threshold, best.post.min_component_area, best.post.volume
    );
    Ok(())
}
