//! `brainseg segment` on scans: DICOM series and NIfTI volumes in; a NIfTI mask with the input's
//! geometry, a DICOM SEG of DICOM series, per-slice PNG masks and a one-line (or JSON) summary
//! per study out.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use brainseg_core::Segmenter;
use brainseg_core::postprocess::overlay;
use brainseg_pipeline::{self as pipeline, StudyHeader, StudyInput, exports};
use brainseg_study::dicom::seg::{self, SegInfo};
use brainseg_study::measure::Summary;
use brainseg_study::{Loader, Study, file_stem};
use image::GrayImage;
use serde::Serialize;

/// The scan files found under one command-line input (a folder, or all files named directly).
#[derive(Debug, Clone, PartialEq)]
pub struct StudyFiles {
    /// Names the output folder: the input folder's name, or `files`.
    pub name: String,
    /// Each file and its name relative to the input (folders group NIfTI files into studies).
    pub files: Vec<(PathBuf, String)>,
}

#[derive(Serialize)]
struct Report<'a> {
    input: &'a str,
    study: &'a str,
    mode: String,
    summary: &'a Summary,
    notes: &'a [String],
    mask_nifti: String,
    mask_pngs: String,
    /// The DICOM SEG, where one was written.
    seg_dicom: Option<String>,
}

/// What `segment` wrote for one study.
struct Written {
    summary: Summary,
    seg: Option<PathBuf>,
    /// Why no SEG was written for a DICOM series.
    seg_note: Option<String>,
}

/// Segments every study of every group; returns how many files or studies failed.
pub fn run(seg: &Segmenter, groups: &[StudyFiles], out: &Path, write_overlay: bool, batch: usize, json: bool) -> Result<usize> {
    let mut failed = 0;
    for group in groups {
        let mut loader = Loader::default();
        for (path, name) in &group.files {
            match fs::read(path) {
                Ok(bytes) => loader.add(name, &bytes),
                Err(e) => loader.problem(name, format!("cannot read: {e}")),
            }
        }
        let loaded = loader.finish();
        for p in &loaded.problems {
            eprintln!("error: {}: {p}", group.name);
        }
        failed += loaded.problems.len();
        if loaded.studies.is_empty() {
            eprintln!("error: {}: no DICOM image series or NIfTI volume could be read", group.name);
            failed += 1;
        }
        let mut used = Vec::new();
        for study in &loaded.studies {
            let dir = unique(out.join(file_stem(&group.name)).join(file_stem(&study.label)), &mut used);
            match segment_study(seg, study, &dir, write_overlay, batch) {
                Ok(written) => print(group, study, &written, &dir, json)?,
                Err(e) => {
                    eprintln!("error: {}: {}: {e:#}", group.name, study.label);
                    failed += 1;
                }
            }
        }
    }
    Ok(failed)
}

fn segment_study(seg: &Segmenter, study: &Study, dir: &Path, write_overlay: bool, batch: usize) -> Result<Written> {
    let slices_dir = dir.join("slices");
    fs::create_dir_all(&slices_dir).with_context(|| format!("cannot create {}", slices_dir.display()))?;
    let input = StudyInput::from_scan(study);
    let (_, result) = pipeline::segment_study(seg, &input, batch, &seg.meta().postprocess, |_| {})?;
    for (k, (image, mask)) in input.slices.iter().zip(&result.masks).enumerate() {
        let path = slices_dir.join(format!("slice_{:03}_pred.png", k + 1));
        mask.save(&path).with_context(|| format!("cannot write {}", path.display()))?;
        if write_overlay {
            let path = slices_dir.join(format!("slice_{:03}_overlay.png", k + 1));
            overlay(image, mask, 0.5).save(&path).with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    let summary = result.summary.clone().context("a scan's slices share one size")?;
    let path = dir.join("mask.nii.gz");
    fs::write(&path, exports::nifti(&input.header, &result.masks)?).with_context(|| format!("cannot write {}", path.display()))?;
    let (seg, seg_note) = write_seg(seg, &input.header, &result.masks, dir)?;
    Ok(Written { summary, seg, seg_note })
}

/// `seg.dcm` for a DICOM series (the same mask as `mask.nii.gz`); NIfTI inputs get none.
fn write_seg(seg: &Segmenter, header: &StudyHeader, masks: &[GrayImage], dir: &Path) -> Result<(Option<PathBuf>, Option<String>)> {
    if !header.is_dicom() {
        return Ok((None, None));
    }
    let info = SegInfo {
        model_sha256: &seg.meta().weights_sha256,
        software_version: env!("CARGO_PKG_VERSION"),
        uid_seed: random_bits(),
        unix_seconds: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64),
        edited: false,
    };
    match exports::dicom_seg(header, masks, &info) {
        Ok(Some(bytes)) => {
            let path = dir.join(seg::FILE_NAME);
            fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
            Ok((Some(path), None))
        }
        Ok(None) => Ok((None, Some(format!("no tumor found: no {} (a DICOM SEG needs at least one frame)", seg::FILE_NAME)))),
        Err(e) => Ok((None, Some(e.to_string()))),
    }
}

/// 128 random bits for a run's UIDs: the standard library's randomly keyed hasher, over the
/// time and process, twice.
fn random_bits() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let half = || {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(nanos);
        h.write_u32(std::process::id());
        h.finish()
    };
    u128::from(half()) << 64 | u128::from(half())
}

fn print(group: &StudyFiles, study: &Study, written: &Written, dir: &Path, json: bool) -> Result<()> {
    let notes: Vec<String> = study.notes.iter().chain(&written.seg_note).cloned().collect();
    if json {
        let report = Report {
            input: &group.name,
            study: &study.label,
            mode: format!("{:?}", study.mode),
            summary: &written.summary,
            notes: &notes,
            mask_nifti: dir.join("mask.nii.gz").display().to_string(),
            mask_pngs: dir.join("slices").display().to_string(),
            seg_dicom: written.seg.as_ref().map(|p| p.display().to_string()),
        };
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    for note in &notes {
        eprintln!("note: {}: {}: {note}", group.name, study.label);
    }
    println!("{}\t{}\t{}\t{}", group.name, study.label, study.mode, written.summary.text());
    Ok(())
}

/// `dir`, or `dir_2`, `dir_3`, ... when an earlier study of the same input already took it.
fn unique(dir: PathBuf, used: &mut Vec<PathBuf>) -> PathBuf {
    let mut candidate = dir.clone();
    let mut n = 2;
    while used.contains(&candidate) {
        candidate = PathBuf::from(format!("{}_{n}", dir.display()));
        n += 1;
    }
    used.push(candidate.clone());
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut used = Vec::new();
        let a = unique(PathBuf::from("o/x"), &mut used);
        let b = unique(PathBuf::from("o/x"), &mut used);
        assert_ne!(a, b);
    }
}
