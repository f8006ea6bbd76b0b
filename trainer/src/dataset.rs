//! The Kaggle LGG layout on disk: `<root>/<CASE>/<CASE>_<n>.<ext>` + `<CASE>_<n>_mask.<ext>`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use brainseg_core::image_input::{decode_mask, decode_slice};
use brainseg_core::preprocess::{fit_to_input, stack_indices};
use brainseg_study::numbered::{is_image_name, is_mask_name, mask_base, slice_number};
use image::imageops::{FilterType, resize};
use image::{GrayImage, RgbImage};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

/// One slice's files.
#[derive(Debug, Clone)]
pub struct SliceFiles {
    pub index: usize,
    pub image: PathBuf,
    pub mask: PathBuf,
}

/// One patient's slices, ordered by slice index.
#[derive(Debug, Clone)]
pub struct Patient {
    pub id: String,
    pub slices: Vec<SliceFiles>,
}

/// Whether a path is an image slice by its extension (the rule of `brainseg_study::numbered`).
pub fn has_image_extension(path: &Path) -> bool {
    is_image_name(&path.to_string_lossy())
}

/// `X_mask.png` -> true (any case, as on the page).
pub fn is_mask_file(path: &Path) -> bool {
    is_mask_name(&path.to_string_lossy())
}

/// Finds every patient folder under `root`. Unpaired files are returned as problems (one line
/// each) rather than failing the whole scan.
pub fn scan(root: &Path) -> Result<(Vec<Patient>, Vec<String>)> {
    let mut patients = Vec::new();
    let mut problems = Vec::new();
    let mut dirs: Vec<PathBuf> = fs::read_dir(root)
        .with_context(|| format!("cannot read the data folder {}", root.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let id = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let (mut images, mut masks) = (BTreeMap::new(), BTreeMap::new());
        for entry in fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))? {
            let path = entry?.path();
            if !path.is_file() || !has_image_extension(&path) {
                continue;
            }
            let name = path.to_string_lossy().into_owned();
            match mask_base(&name) {
                Some(base) => masks.insert(base.to_string(), path),
                None => images.insert(path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string(), path),
            };
        }
        let mut slices = Vec::new();
        for (stem, image) in images {
            match (masks.remove(&stem), slice_number(&stem)) {
                (Some(mask), Some((_, index))) => slices.push(SliceFiles { index, image, mask }),
                (None, _) => problems.push(format!("{}: image without a mask", image.display())),
                (_, None) => problems.push(format!("{}: no slice number in the name", image.display())),
            }
        }
        for (_, mask) in masks {
            problems.push(format!("{}: mask without an image", mask.display()));
        }
        if !slices.is_empty() {
            slices.sort_by_key(|s| s.index);
            patients.push(Patient { id, slices });
        }
    }
    if patients.is_empty() {
        let found: String = problems.iter().map(|p| format!("\n  {p}")).collect();
        bail!(
            "no patient folders with image/mask pairs under {} (expected <CASE>/<CASE>_<n>.<ext> \
             and <CASE>_<n>_mask.<ext>){found}",
            root.display()
        );
    }
    Ok((patients, problems))
}

/// A slice in memory at the model's input size.
#[derive(Clone)]
pub struct Sample {
    pub patient: String,
    /// The slice number in its file name: neighbouring slices differ by one.
    pub index: usize,
    pub image: RgbImage,
    pub mask: GrayImage,
    pub has_tumor: bool,
}

/// Reads and decodes every slice of `patients`, resized to `size` (training) or kept at their
/// own resolution (`None`: evaluation scores masks at the size the expert drew them). Unreadable
/// files are returned as problems; the rest load.
pub fn load(patients: &[Patient], size: Option<u32>) -> (Vec<Sample>, Vec<String>) {
    let files: Vec<(&str, &SliceFiles)> =
        patients.iter().flat_map(|p| p.slices.iter().map(move |s| (p.id.as_str(), s))).collect();
    let load_one = |(patient, f): &(&str, &SliceFiles)| -> Result<Sample, String> {
        let read = |p: &Path| fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
        let image = decode_slice(&read(&f.image)?)
            .map_err(|e| format!("{}: {e}", f.image.display()))?
            .image;
        let mask = decode_mask(&read(&f.mask)?).map_err(|e| format!("{}: {e}", f.mask.display()))?;
        if mask.dimensions() != image.dimensions() {
            return Err(format!(
                "{}: mask is {:?} but its image is {:?}",
                f.mask.display(),
                mask.dimensions(),
                image.dimensions()
            ));
        }
        let (image, mask) = match size {
            Some(size) if image.dimensions() != (size, size) => (
                fit_to_input(&image, size).into_owned(),
                resize(&mask, size, size, FilterType::Nearest),
            ),
            _ => (image, mask),
        };
        let has_tumor = mask.as_raw().iter().any(|&v| v != 0);
        Ok(Sample { patient: patient.to_string(), index: f.index, image, mask, has_tumor })
    };
    // Decoding is independent per file: use every core.
    let results = crate::parallel::map_indexed(&files, |_, f| load_one(f));
    let mut samples = Vec::new();
    let mut problems = Vec::new();
    for r in results {
        match r {
            Ok(s) => samples.push(s),
            Err(e) => problems.push(e),
        }
    }
    (samples, problems)
}

/// The ranges of `samples` that hold one patient each: [`load`] keeps every patient's slices
/// together and in slice order, so each range is that patient's volume.
pub fn patient_runs(samples: &[Sample]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut start = 0;
    while start < samples.len() {
        let end = start + samples[start..].iter().take_while(|s| s.patient == samples[start].patient).count();
        runs.push(start..end);
        start = end;
    }
    runs
}

/// For every sample, the samples that make its input with `context` neighbouring slices on each
/// side (see [`brainseg_core::preprocess::stack_indices`], the rule of every other caller).
pub fn context_table(samples: &[Sample], context: usize) -> Vec<Vec<usize>> {
    let mut table = Vec::with_capacity(samples.len());
    for run in patient_runs(samples) {
        for z in 0..run.len() {
            table.push(stack_indices(run.len(), z, context).into_iter().map(|k| run.start + k).collect());
        }
    }
    table
}

/// A patient-level split, written to the run folder so evaluation can reuse it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Split {
    pub seed: u64,
    pub validation_fraction: f64,
    /// Set when the validation patients are one fold of a k-fold cross-validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fold: Option<Fold>,
    pub train: Vec<String>,
    pub validation: Vec<String>,
}

/// Fold `index` (from 0) of `count`: patient-level k-fold cross-validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fold {
    pub index: usize,
    pub count: usize,
}

fn shuffled_ids(patients: &[Patient], seed: u64) -> Vec<String> {
    let mut ids: Vec<String> = patients.iter().map(|p| p.id.clone()).collect();
    ids.sort();
    ids.shuffle(&mut SmallRng::seed_from_u64(seed));
    ids
}

impl Split {
    /// Shuffles patient ids with `seed` and holds out `fraction` of them (at least one, when
    /// there are two or more patients).
    pub fn new(patients: &[Patient], fraction: f64, seed: u64) -> Self {
        let mut ids = shuffled_ids(patients, seed);
        let n_val = ((ids.len() as f64 * fraction).round() as usize)
            .clamp(usize::from(ids.len() > 1 && fraction > 0.0), ids.len().saturating_sub(1));
        let validation = ids.split_off(ids.len() - n_val);
        Self::from_parts(seed, fraction, None, ids, validation)
    }

    /// The same seeded order cut into `fold.count` nearly equal blocks, taken from the end, so
    /// that fold 0 of 5 is the validation set of `new(.., 0.2, seed)` when the patient count
    /// divided by 5 leaves a remainder of 0, 3 or 4 (88 patients: folds of 18, 18, 18, 17, 17).
    /// `validation_fraction` records the fold's actual share.
    pub fn fold(patients: &[Patient], fold: Fold, seed: u64) -> Self {
        let ids = shuffled_ids(patients, seed);
        let (n, k) = (ids.len(), fold.count.max(1));
        let size = |i: usize| n / k + usize::from(i < n % k);
        let end = n - (0..fold.index).map(size).sum::<usize>();
        let start = end - size(fold.index);
        let validation = ids[start..end].to_vec();
        let train = ids[..start].iter().chain(&ids[end..]).cloned().collect();
        Self::from_parts(seed, validation.len() as f64 / n.max(1) as f64, Some(fold), train, validation)
    }

    fn from_parts(seed: u64, validation_fraction: f64, fold: Option<Fold>, mut train: Vec<String>, mut validation: Vec<String>) -> Self {
        train.sort();
        validation.sort();
        Self { seed, validation_fraction, fold, train, validation }
    }

    pub fn read(path: &Path) -> Result<Self> {
        let text = fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not a split file", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patients(n: usize) -> Vec<Patient> {
        (0..n).map(|i| Patient { id: format!("P{i:02}"), slices: vec![] }).collect()
    }

    #[test]
    fn split_is_deterministic_disjoint_and_complete() {
        let ps = patients(20);
        let a = Split::new(&ps, 0.2, 7);
        assert_eq!(a, Split::new(&ps, 0.2, 7));
        assert_ne!(a.validation, Split::new(&ps, 0.2, 8).validation);
        assert_eq!((a.train.len(), a.validation.len()), (16, 4));
        assert!(a.validation.iter().all(|v| !a.train.contains(v)));
    }

    #[test]
    fn folds_cover_every_patient_once_and_fold_0_is_the_plain_split() {
        let ps = patients(88);
        let mut seen: Vec<String> = Vec::new();
        for index in 0..5 {
            let f = Split::fold(&ps, Fold { index, count: 5 }, 42);
            assert_eq!(f.train.len() + f.validation.len(), 88);
            assert_eq!(f.validation.len(), if index < 3 { 18 } else { 17 });
            assert!(f.validation.iter().all(|v| !f.train.contains(v)));
            seen.extend(f.validation);
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 88);
        assert_eq!(Split::fold(&ps, Fold { index: 0, count: 5 }, 42).validation, Split::new(&ps, 0.2, 42).validation);
    }

    #[test]
    fn slice_names_parse() {
        assert!(is_mask_file(Path::new("a/X_3_mask.tif")));
        assert!(!is_mask_file(Path::new("a/X_3.tif")));
    }
}
