//! Scans from a drop (DICOM series, NIfTI volumes): read in the page, stacked into studies, and
//! queued as ordinary slices; each study keeps its geometry for millilitres and the NIfTI export.

use std::sync::Arc;

use brainseg_study::Loader;
use image::RgbImage;
use leptos::prelude::*;

use crate::browser;
use crate::files::Picked;
use crate::pipeline::{Input, RuntimeStore, enqueue};
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
        let slices = (0..study.slices())
            .map(|k| {
                let name = format!("{}/slice {:03}", study.label, k + 1);
                match RgbImage::from_raw(w, h, study.rgb_slice(k)) {
                    Some(image) => (name, Input::Image(image)),
                    None => (name, Input::Unreadable("slice of the wrong size".into())),
                }
            })
            .collect();
        let slice_ids = enqueue(state, rt, slices);
        let entry = StudyEntry {
            id: state.studies.with_untracked(Vec::len),
            label: study.label.clone(),
            mode: study.mode.to_string(),
            notes: study.notes.clone(),
            slice_ids,
            geometry: Arc::new(study.flair.geometry()),
        };
        state.studies.update(|s| s.push(entry));
        browser::yield_now().await;
    }
    state.reading_scans.set(None);
}
