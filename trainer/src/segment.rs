//! `brainseg segment`: masks (and overlays) for image files and folders; scans found among the
//! inputs go to [`crate::studies`].

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use brainseg_core::Segmenter;
use brainseg_core::image_input::decode_slice;
use brainseg_core::postprocess::{coverage_percent, overlay};
use brainseg_pipeline::intake::HEAD_LEN;
use brainseg_pipeline::{FileKind, StudyInput, StudyKind};
use brainseg_study::numbered;
use image::{GrayImage, RgbImage};

use crate::dataset::is_mask_file;
pub use crate::studies::StudyFiles;

/// An input image and where its outputs go, relative to the output folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub input: PathBuf,
    pub relative: PathBuf,
}

/// What the inputs hold: image slices, and scans (DICOM, NIfTI) grouped by input.
#[derive(Debug, Default)]
pub struct Inputs {
    pub images: Vec<Job>,
    pub studies: Vec<StudyFiles>,
}

/// What a file is by the pipeline's rule (the page's too): its name and first bytes.
fn classify(path: &Path) -> Option<FileKind> {
    let name = path.to_string_lossy().replace('\\', "/");
    let mut head = [0u8; HEAD_LEN];
    let n = fs::File::open(path).and_then(|mut f| f.read(&mut head)).unwrap_or(0);
    brainseg_pipeline::classify(&name, &head[..n])
}

/// Expands files and folders (recursively). In folders, `*_mask.*` files and files that are
/// neither images nor scans are skipped; a file named explicitly is always tried, so a wrong
/// format gets an error. Scans named directly form one group; each folder of scans is another.
pub fn collect_jobs(inputs: &[PathBuf]) -> Result<Inputs> {
    let mut found = Inputs::default();
    let mut named_scans = StudyFiles { name: "files".into(), files: Vec::new() };
    for input in inputs {
        if input.is_dir() {
            let name = input.canonicalize().ok().and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
            let mut scans = StudyFiles { name: name.unwrap_or_else(|| "input".into()), files: Vec::new() };
            let mut stack = vec![input.clone()];
            while let Some(dir) = stack.pop() {
                let mut entries: Vec<PathBuf> = fs::read_dir(&dir)
                    .with_context(|| format!("cannot read the folder {}", dir.display()))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .collect();
                entries.sort();
                for path in entries {
                    let relative = path.strip_prefix(input).unwrap_or(&path).to_path_buf();
                    if path.is_dir() {
                        stack.push(path);
                        continue;
                    }
                    match classify(&path) {
                        Some(FileKind::Image) => found.images.push(Job { input: path, relative }),
                        Some(FileKind::Scan) => scans.files.push((path, relative.to_string_lossy().replace('\\', "/"))),
                        None => {}
                    }
                }
            }
            if !scans.files.is_empty() {
                found.studies.push(scans);
            }
        } else if classify(input) == Some(FileKind::Scan) {
            let name = input.file_name().map_or_else(|| input.display().to_string(), |n| n.to_string_lossy().into_owned());
            named_scans.files.push((input.clone(), name));
        } else if !is_mask_file(input) {
            let name = input.file_name().map(PathBuf::from).unwrap_or_else(|| input.clone());
            found.images.push(Job { input: input.clone(), relative: name });
        }
    }
    if !named_scans.files.is_empty() {
        found.studies.push(named_scans);
    }
    Ok(found)
}

/// `<out>/<relative folder>/<stem><suffix>.png`
pub fn output_path(out: &Path, job: &Job, suffix: &str) -> PathBuf {
    let stem = job.relative.file_stem().and_then(|s| s.to_str()).unwrap_or("slice");
    let parent = job.relative.parent().unwrap_or(Path::new(""));
    out.join(parent).join(format!("{stem}{suffix}.png"))
}

/// Segments every job; returns how many failed. Each failure prints one line and is skipped.
/// Numbered slices of one folder (see [`brainseg_study::numbered`]) are segmented as one volume,
/// with the model's 3D step; the other images one by one.
pub fn run(seg: &Segmenter, jobs: &[Job], out: &Path, write_overlay: bool, batch: usize) -> Result<usize> {
    let names: Vec<String> = jobs.iter().map(|j| j.input.to_string_lossy().replace('\\', "/")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let grouping = numbered::group(&names);
    let mut failed = 0;
    let mut singles = grouping.singles.clone();
    for volume in &grouping.volumes {
        for note in volume.notes(&names) {
            eprintln!("note: {}: {note}", volume.key);
        }
        // A duplicate is still the user's file: segmented on its own, not dropped.
        singles.extend(&volume.duplicates);
        let members: Vec<&Job> = volume.slices.iter().map(|&(_, i)| &jobs[i]).collect();
        let (ready, bad) = decode(&members);
        failed += bad;
        let named: Vec<(String, RgbImage)> = ready.iter().map(|(job, image)| (job.input.display().to_string(), image.clone())).collect();
        let study = StudyInput::from_images(&volume.key, StudyKind::Numbered, named, Vec::new());
        let (_, result) = brainseg_pipeline::segment_study(seg, &study, batch, &seg.meta().postprocess, |_| {})?;
        for ((job, image), mask) in ready.iter().zip(&result.masks) {
            failed += usize::from(!save(out, job, image, mask, write_overlay));
        }
        if let Some(summary) = &result.summary {
            println!("{}\t{} numbered slices as one volume\t{}", volume.key, result.masks.len(), summary.text());
        }
    }
    singles.sort_unstable();
    for chunk in singles.chunks(batch.max(1)) {
        let members: Vec<&Job> = chunk.iter().map(|&i| &jobs[i]).collect();
        let (ready, bad) = decode(&members);
        failed += bad;
        let images: Vec<_> = ready.iter().map(|(_, i)| i).collect();
        let predictions = seg.segment(&images)?;
        for ((job, image), pred) in ready.iter().zip(predictions) {
            failed += usize::from(!save(out, job, image, &pred.mask, write_overlay));
        }
    }
    Ok(failed)
}

/// Reads and decodes the jobs' images; each failure prints one line. Returns the images read
/// and how many failed.
fn decode<'a>(jobs: &[&'a Job]) -> (Vec<(&'a Job, RgbImage)>, usize) {
    let mut ready = Vec::new();
    let mut failed = 0;
    for &job in jobs {
        let decoded = fs::read(&job.input)
            .map_err(|e| e.to_string())
            .and_then(|b| decode_slice(&b).map_err(|e| e.to_string()));
        match decoded {
            Ok(slice) => {
                for c in &slice.conversions {
                    eprintln!("note: {}: {c}", job.input.display());
                }
                ready.push((job, slice.image));
            }
            Err(e) => {
                eprintln!("error: {}: {e}", job.input.display());
                failed += 1;
            }
        }
    }
    (ready, failed)
}

/// Writes a job's mask (and overlay) and prints its coverage line, or its error line; returns
/// whether it was written.
fn save(out: &Path, job: &Job, image: &RgbImage, mask: &GrayImage, write_overlay: bool) -> bool {
    match write(out, job, image, mask, write_overlay) {
        Ok(()) => {
            println!("{}\t{:.2}% tumor", job.input.display(), coverage_percent(mask));
            true
        }
        Err(e) => {
            eprintln!("error: {}: {e:#}", job.input.display());
            false
        }
    }
}

fn write(out: &Path, job: &Job, image: &RgbImage, mask: &GrayImage, write_overlay: bool) -> Result<()> {
    let mask_path = output_path(out, job, "_pred");
    if let Some(dir) = mask_path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    mask.save(&mask_path).with_context(|| format!("cannot write {}", mask_path.display()))?;
    if write_overlay {
        let p = output_path(out, job, "_overlay");
        overlay(image, mask, 0.5).save(&p).with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(())
}
