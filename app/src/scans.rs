//! Scans from a drop (DICOM series, NIfTI volumes) and folders of numbered image slices: read in
//! the workers, stacked into studies, and queued as ordinary slices; each study keeps its geometry
//! for millilitres and the NIfTI export, and its slices are post-processed as one volume.

use std::sync::Arc;

use brainseg_study::{Volume, numbered};
use image::RgbImage;
use leptos::prelude::*;

use crate::files::Picked;
use crate::pipeline::{Input, RuntimeStore, decode_file, enqueue, read_scans};
use crate::state::{AppState, StudyEntry};

/// Reads the files into studies in a worker, then queues every study's slices.
pub async fn load(state: AppState, rt: RuntimeStore, picked: Vec<Picked>) {
    state.reading_scans.set(Some(format!("Reading {} scan file(s)…", picked.len())));
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for p in picked {
        match p.file {
            Ok(file) => files.push((p.path, file)),
            Err(e) => problems.push((p.path, Input::Unreadable(e))),
        }
    }
    enqueue(state, rt, problems);
    let scans = match read_scans(rt, files).await {
        Ok(scans) => scans,
        Err(e) => {
            state.reading_scans.set(None);
            enqueue(state, rt, vec![("scan files".to_string(), Input::Unreadable(e))]);
            return;
        }
    };
    enqueue(state, rt, scans.problems.into_iter().map(|(file, reason)| (file, Input::Unreadable(reason))).collect());
    for study in scans.studies {
        let volume = Arc::new(study.slices);
        let slices = (0..volume.len())
            .map(|k| (format!("{}/slice {:03}", study.label, k + 1), Input::InVolume(volume.clone(), k)))
            .collect();
        let slice_ids = enqueue(state, rt, slices);
        let id = state.studies.with_untracked(Vec::len);
        let entry = StudyEntry::new(id, study.label, study.mode, study.notes, slice_ids, study.geometry);
        state.studies.update(|s| s.push(entry));
    }
    state.reading_scans.set(None);
}

/// Numbered image slices of one folder (see [`numbered::group`]), to be read as one study.
pub struct NumberedPick {
    pub key: String,
    /// In slice-number order.
    pub slices: Vec<Picked>,
    pub notes: Vec<String>,
}

/// Splits picked files into those segmented alone and numbered volumes, by the CLI's rule.
pub fn numbered_volumes(picked: Vec<Picked>) -> (Vec<Picked>, Vec<NumberedPick>) {
    let names: Vec<String> = picked.iter().map(|p| p.path.clone()).collect();
    // Only images can be slices of a volume; anything else keeps its own row (and its error).
    let images: Vec<usize> = (0..names.len()).filter(|&i| crate::files::is_image(&names[i])).collect();
    let image_names: Vec<&str> = images.iter().map(|&i| names[i].as_str()).collect();
    let grouping = numbered::group(&image_names);
    let mut slots: Vec<Option<Picked>> = picked.into_iter().map(Some).collect();
    let mut volumes = Vec::new();
    for v in &grouping.volumes {
        let notes = v.notes(&image_names);
        let slices = v.slices.iter().filter_map(|&(_, j)| slots[images[j]].take()).collect();
        volumes.push(NumberedPick { key: v.key.clone(), slices, notes });
    }
    (slots.into_iter().flatten().collect(), volumes)
}

/// Reads and decodes a numbered volume's slices (in the workers, all at once) and queues them as
/// one study; slices that cannot be read are listed as such, and the rest are still one volume.
pub async fn load_numbered(state: AppState, rt: RuntimeStore, pick: NumberedPick) {
    let mut decoded = Vec::new();
    let mut failed = Vec::new();
    let mut notes = pick.notes;
    let reads = pick.slices.into_iter().map(|p| async move {
        let result = match p.file {
            Err(e) => Err(e),
            Ok(file) => decode_file(rt, file).await,
        };
        (p.path, result)
    });
    for (path, result) in futures::future::join_all(reads).await {
        match result {
            Ok((image, conversions)) => {
                notes.extend(conversions.iter().map(|c| format!("{path}: {c}")));
                decoded.push((path, image));
            }
            Err(e) => failed.push((path, Input::Unreadable(e))),
        }
    }
    enqueue(state, rt, failed);
    let Some((w, h)) = decoded.first().map(|(_, i)| i.dimensions()) else { return };
    if decoded.iter().any(|(_, i)| i.dimensions() != (w, h)) {
        // One volume has one size; slices of mixed sizes are segmented alone.
        enqueue(state, rt, decoded.into_iter().map(|(name, image)| (name, Input::Image(image))).collect());
        return;
    }
    let (names, images): (Vec<String>, Vec<RgbImage>) = decoded.into_iter().unzip();
    let n = images.len();
    let volume = Arc::new(images);
    let slices = names.into_iter().enumerate().map(|(k, name)| (name, Input::InVolume(volume.clone(), k))).collect();
    let slice_ids = enqueue(state, rt, slices);
    let geometry = Volume::of_images(&pick.key, w as usize, h as usize, n);
    let mode = "as in the files (pre-contrast, FLAIR, post-contrast)".to_string();
    let id = state.studies.with_untracked(Vec::len);
    state.studies.update(|s| s.push(StudyEntry::new(id, pick.key, mode, notes, slice_ids, geometry)));
}
