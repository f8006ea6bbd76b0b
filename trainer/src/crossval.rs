//! Cross-validation: the runs of a patient-level k-fold split (`train --folds K --fold I`) scored
//! as one. Each fold's validation patients are predicted by that fold's model, the one that never
//! trained on them, so every patient is scored out of sample: `tune` chooses post-processing on
//! all folds' patients instead of one split's 18, and `evaluate` and `tune` report the spread
//! across folds. A single `--split` (or none) is the one-fold case of the same code.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use brainseg_core::metrics::Summary;

use crate::dataset::{self, Patient, Sample, Split};

/// The validation slices of one or more folds, each with the model that scores it.
pub struct Folds {
    /// Every fold's slices, fold after fold.
    pub samples: Vec<Sample>,
    /// Each fold's model (`None`: the shipped model), split file and slices in `samples`.
    pub folds: Vec<FoldPart>,
    /// Image files that could not be read.
    pub failed: usize,
}

pub struct FoldPart {
    pub model: Option<PathBuf>,
    pub split: Option<PathBuf>,
    pub range: Range<usize>,
}

impl Folds {
    /// Loads the validation patients of each `splits[i]`, to be scored by `models[i]`. At most
    /// one of each is the plain case (no split: every patient of `data`; no model: the shipped
    /// one); more need as many models as splits, and no patient may be validated by two folds.
    pub fn load(data: &Path, splits: &[PathBuf], models: &[PathBuf]) -> Result<Folds> {
        let pairs: Vec<(Option<PathBuf>, Option<PathBuf>)> = match (splits.len(), models.len()) {
            (s, m) if s <= 1 && m <= 1 => vec![(splits.first().cloned(), models.first().cloned())],
            (s, m) if s == m => splits.iter().cloned().map(Some).zip(models.iter().cloned().map(Some)).collect(),
            (s, m) => bail!(
                "cross-validation pairs each --split with the --model at the same place: got {s} split file(s) and {m} model(s)"
            ),
        };
        // The folder is scanned once (and its problems reported once) for every fold.
        let (patients, problems) = dataset::scan(data)?;
        for p in &problems {
            eprintln!("warning: {p}");
        }
        let mut samples = Vec::new();
        let mut folds = Vec::new();
        let mut failed = 0;
        let mut validated_by: HashMap<String, usize> = HashMap::new();
        for (i, (split, model)) in pairs.into_iter().enumerate() {
            let (fold_samples, fold_failed) = load_validation(data, &patients, split.as_deref())?;
            for s in &fold_samples {
                let first = *validated_by.entry(s.patient.clone()).or_insert(i);
                if first != i {
                    bail!(
                        "patient {} is a validation patient of both {} and {}: give the split.json of each fold of one `train --folds` run",
                        s.patient,
                        show(folds.get(first).and_then(|f: &FoldPart| f.split.as_deref())),
                        show(split.as_deref())
                    );
                }
            }
            let start = samples.len();
            samples.extend(fold_samples);
            folds.push(FoldPart { model, split, range: start..samples.len() });
            failed += fold_failed;
        }
        Ok(Folds { samples, folds, failed })
    }

    pub fn is_cross_validation(&self) -> bool {
        self.folds.len() > 1
    }
}

/// Loads the slices of `patients`, only the split's validation patients when given.
fn load_validation(data: &Path, patients: &[Patient], split: Option<&Path>) -> Result<(Vec<Sample>, usize)> {
    let chosen: Vec<Patient> = match split {
        Some(path) => {
            let split = Split::read(path)?;
            let chosen: Vec<Patient> = patients.iter().filter(|p| split.validation.contains(&p.id)).cloned().collect();
            if chosen.is_empty() {
                bail!("none of the validation patients of {} are in {}", path.display(), data.display());
            }
            chosen
        }
        None => patients.to_vec(),
    };
    let (samples, problems) = dataset::load(&chosen, None);
    for p in &problems {
        eprintln!("error: {p}");
    }
    Ok((samples, problems.len()))
}

fn show(path: Option<&Path>) -> String {
    path.map_or_else(|| "(no split)".to_string(), |p| p.display().to_string())
}

/// Mean and sample standard deviation (0 for fewer than two values).
fn spread(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let mean = values.iter().sum::<f64>() / n;
    let var = if values.len() < 2 { 0.0 } else { values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0) };
    (mean, var.sqrt())
}

/// One row per fold, then the spread of each fold's pixel-summed and per-patient Dice.
pub fn print_folds(folds: &[FoldPart], summaries: &[Summary]) {
    println!("{:<5} {:>8} {:>6} {:>6} {:>6} {:>6} {:>8} {:>6}  split", "fold", "patients", "slices", "Dice", "prec.", "recall", "pat.mean", "spec.");
    for (i, (fold, s)) in folds.iter().zip(summaries).enumerate() {
        println!(
            "{i:<5} {:>8} {:>6} {:>6.3} {:>6.3} {:>6.3} {:>8.3} {:>6.3}  {}",
            s.patients, s.slices, s.dice, s.precision, s.recall, s.patient_dice_mean, s.slice_specificity, show(fold.split.as_deref())
        );
    }
    let (dice, dice_sd) = spread(&summaries.iter().map(|s| s.dice).collect::<Vec<_>>());
    let (patient, patient_sd) = spread(&summaries.iter().map(|s| s.patient_dice_mean).collect::<Vec<_>>());
    println!("across {} folds: Dice {dice:.4} ± {dice_sd:.4}, per-patient mean {patient:.4} ± {patient_sd:.4} (mean ± sd of the folds)", summaries.len());
}

#[cfg(test)]
mod tests {
    use super::spread;

    #[test]
    fn spread_is_mean_and_sample_deviation() {
        let (m, sd) = spread(&[0.7, 0.8, 0.9]);
        assert!((m - 0.8).abs() < 1e-12 && (sd - 0.1).abs() < 1e-12, "{m} {sd}");
        assert_eq!(spread(&[0.5]), (0.5, 0.0));
        assert_eq!(spread(&[]), (0.0, 0.0));
    }
}
