//! Scans from a drop (DICOM series, NIfTI volumes) and folders of numbered image slices: read in
//! the page, stacked into studies, and queued as ordinary slices; each study keeps its geometry
//! for millilitres and the NIfTI export, and its slices are post-processed as one volume.

use std::sync::Arc;

use brainseg_study::{Loader, Volume, numbered};
use image::RgbImage;
use leptos::prelude::*;

use crate::browser;
use crate::files::Picked;
use crate::pipeline::{Input, RuntimeStore, decode_file, enqueue};
use crate::state::{AppState, StudyEntry};

/// Reads the files, one at a time so their bytes can go, then queues every study's slices.
pub async fn load(state: AppState, rt: RuntimeStore, picked: Vec<Picked>) {
    let total = picked.len();
    state.reading_scans.set(Some(format!("Reading {total} scan file(s)…")));
    browser::yield_now().await;
    let mut loader = Loader::default();
    for (i, p) in picked.into_iter().enumerate() {
        match p.file {
            Err(e) => loader.problem(&p.path, e),
            Ok(file) => match browser::read_blob(&file).await {
                Ok(bytes) => loader.add(&p.path, &bytes),
                Err(e) => loader.problem(&p.path, format!("cannot read the file: {e}")),
            },
        }
        if i % 16 == 15 {
            state.reading_scans.set(Some(format!("Reading scan files… {}/{total}", i + 1)));
            browser::yield_now().await;
        }
    }
    let loaded = loader.finish();
    let problems = loaded.problems.into_iter().map(|p| (p.file, Input::Unreadable(p.reason))).collect();
    enqueue(state, rt, problems);
    for study in loaded.studies {
        let (w, h) = (study.width() as u32, study.height() as u32);
        // `rgb_slice` always holds width x height x 3 bytes; the fallback is never drawn.
        let volume: Arc<Vec<RgbImage>> = Arc::new(
            (0..study.slices())
                .map(|k| RgbImage::from_raw(w, h, study.rgb_slice(k)).unwrap_or_else(|| RgbImage::new(w, h)))
                .collect(),
        );
        let slices = (0..study.slices())
            .map(|k| (format!("{}/slice {:03}", study.label, k + 1), Input::InVolume(volume.clone(), k)))
            .collect();
        let slice_ids = enqueue(state, rt, slices);
        let id = state.studies.with_untracked(Vec::len);
        let entry = StudyEntry::new(id, study.label.clone(), study.mode.to_string(), study.notes.clone(), slice_ids, study.flair.geometry());
        state.studies.update(|s| s.push(entry));
        browser::yield_now().await;
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

/// Reads and decodes a numbered volume's slices and queues them as one study; slices that
/// cannot be read are listed as such, and the rest are still one volume.
pub async fn load_numbered(state: AppState, rt: RuntimeStore, pick: NumberedPick) {
    let mut decoded = Vec::new();
    let mut failed = Vec::new();
    let mut notes = pick.notes;
    for p in pick.slices {
        let result = match p.file {
            Err(e) => Err(e),
            Ok(file) => decode_file(&file).await,
        };
        match result {
            Ok((image, conversions)) => {
                notes.extend(conversions.iter().map(|c| format!("{}: {c}", p.path)));
                decoded.push((p.path, image));
            }
            Err(e) => failed.push((p.path, Input::Unreadable(e))),
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
