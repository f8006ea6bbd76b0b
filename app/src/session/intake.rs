//! Dropped files to studies: a worker reads them ([`Read`]), every study's slices become rows of
//! the slice list and jobs of the pool ([`Infer`]), and a study of several slices gets its entry
//! (assembled by [`super::watch`] once complete).

use std::collections::BTreeMap;
use std::sync::Arc;

use brainseg_core::Prediction;
use brainseg_core::postprocess::{PostProcess, coverage_percent};
use brainseg_pipeline::{StudyInput, StudyKind};
use brainseg_study::numbered;
use image::RgbImage;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{RuntimeStore, ask, meta, next_id, watch};
use crate::files::Picked;
use crate::state::{AppState, Segmented, SliceEntry, SliceStatus, StudyEntry};
use crate::browser;
use crate::worker::{FileRef, Infer, JobError, JsPixels, Read, ReadFile, ReadReply, ReadStudy, Stack};

/// Reads dropped files into studies in the workers and queues their slices. Image files of one
/// folder are read together (a numbered volume never spans folders), so several folders are
/// read by several workers at once; all other files are read together, where their content
/// tells scans from the rest (a study's series may sit in different folders).
pub fn add_files(state: AppState, rt: RuntimeStore, picked: Vec<Picked>) {
    let mut reads: BTreeMap<String, Vec<ReadFile>> = BTreeMap::new();
    let mut unreadable = Vec::new();
    for p in picked {
        match p.file {
            Ok(file) => {
                let group = match numbered::is_image_name(&p.path) {
                    true => p.path.rsplit_once('/').map_or("", |(folder, _)| folder).to_string(),
                    false => "\0scans".to_string(),
                };
                reads.entry(group).or_default().push(ReadFile { path: p.path, file: FileRef(file), named: p.named });
            }
            Err(e) => unreadable.push((p.path, e)),
        }
    }
    failed_rows(state, rt, unreadable);
    for files in reads.into_values() {
        spawn_local(read(state, rt, files));
    }
}

/// An image made in the page (the example) as a study of one slice.
pub fn add_image(state: AppState, rt: RuntimeStore, name: String, image: RgbImage) {
    let study = StudyInput::from_images(&name, StudyKind::Single, vec![(name.clone(), image)], Vec::new());
    register(state, rt, study.header, study.slices);
}

/// Rows for files that could not be used, and why.
fn failed_rows(state: AppState, rt: RuntimeStore, failed: Vec<(String, String)>) {
    let rows: Vec<SliceEntry> =
        failed.into_iter().map(|(name, why)| SliceEntry { id: next_id(rt), name, status: SliceStatus::Failed(why) }).collect();
    state.slices.update(|s| s.extend(rows));
}

/// One read job. A worker that panics on a file (its panic hook names it) loses only that file:
/// the others are read again without it.
async fn read(state: AppState, rt: RuntimeStore, mut files: Vec<ReadFile>) {
    let count = files.len();
    state.reading.update(|n| *n += count);
    let mut crashed = Vec::new();
    let reply = loop {
        match ask(rt, usize::MAX, Read { files: files.clone() }, false).await {
            Err(JobError::Crashed { why, file: Some(file) }) if files.iter().any(|f| f.path == file) => {
                crashed.push((file.clone(), JobError::Crashed { why, file: None }.to_string()));
                files.retain(|f| f.path != file);
                if files.is_empty() {
                    break Ok(ReadReply::default());
                }
            }
            other => break other,
        }
    };
    state.reading.update(|n| *n -= count);
    failed_rows(state, rt, crashed);
    match reply {
        Ok(reply) => {
            failed_rows(state, rt, reply.problems);
            for ReadStudy { header, slices } in reply.studies {
                match into_images(slices).await {
                    Ok(slices) => register(state, rt, header, slices),
                    Err(e) => failed_rows(state, rt, vec![(header.label.clone(), e)]),
                }
            }
        }
        Err(e) => failed_rows(state, rt, files.into_iter().map(|f| (f.path, e.to_string())).collect()),
    }
}

/// A study's slices copied into the page's memory a few at a time: a 96-slice 512x512 series is
/// 75 MB, which in one go held the main thread for over 100 ms.
async fn into_images(slices: Vec<JsPixels>) -> Result<Vec<RgbImage>, String> {
    const PER_TASK: usize = 8;
    let mut images = Vec::with_capacity(slices.len());
    for (k, pixels) in slices.into_iter().enumerate() {
        if k > 0 && k % PER_TASK == 0 {
            browser::next_task().await;
        }
        images.push(pixels.into_rgb()?);
    }
    Ok(images)
}

/// Lists a study's slices, queues them, and (for more than a lone image) adds its study entry.
fn register(state: AppState, rt: RuntimeStore, header: brainseg_pipeline::StudyHeader, slices: Vec<RgbImage>) {
    let volume = Arc::new(slices);
    let notes = if header.kind == StudyKind::Single { header.notes.clone() } else { Vec::new() };
    let ids: Vec<usize> = header.slice_names.iter().map(|_| next_id(rt)).collect();
    let rows = ids.iter().zip(&header.slice_names).map(|(&id, name)| SliceEntry { id, name: name.clone(), status: SliceStatus::Waiting });
    state.slices.update(|s| s.extend(rows));
    state.selected.set(ids.first().copied());
    // Each slice's mask is made in its worker under the settings of now; a threshold moved
    // meanwhile is applied later, from the probabilities.
    let post = untrack(|| state.set_post());
    for (z, &id) in ids.iter().enumerate() {
        let (volume, notes) = (volume.clone(), notes.clone());
        spawn_local(async move {
            let status = infer(rt, id, volume, z, post, notes).await;
            state.set_status(id, status);
        });
    }
    if header.kind != StudyKind::Single {
        let study = StudyEntry::new(state.studies.with_untracked(Vec::len), header, ids);
        state.studies.update(|s| s.push(study.clone()));
        watch(state, rt, study);
    }
}

/// Slice `z` of `volume` through a worker: its probabilities and its own mask.
async fn infer(rt: RuntimeStore, id: usize, volume: Arc<Vec<RgbImage>>, z: usize, post: PostProcess, notes: Vec<String>) -> SliceStatus {
    let meta = match meta(rt).await {
        Ok(meta) => meta,
        Err(e) => return SliceStatus::Failed(e),
    };
    let Some(image) = volume.get(z).cloned() else { return SliceStatus::Failed("no such slice".into()) };
    // Only the slices its stack needs travel: the model's context on each side, clamped at the
    // volume's ends, which is where its own stacking clamps too.
    let context = meta.config.context();
    let (lo, hi) = (z.saturating_sub(context), (z + context).min(volume.len() - 1));
    let request = Infer { stack: Stack::Shared(volume, lo..hi + 1), z: z - lo, post };
    let reply = match ask(rt, id, request, false).await {
        Ok(reply) => reply,
        Err(JobError::Cancelled) => return SliceStatus::Cancelled,
        Err(e) => return SliceStatus::Failed(e.to_string()),
    };
    let size = meta.config.input_size as u32;
    if reply.probabilities.0.len() != (size * size) as usize {
        return SliceStatus::Failed(format!("the worker sent {} probabilities for a {size}x{size} model", reply.probabilities.0.len()));
    }
    let mask = match reply.mask.into_gray() {
        Ok(mask) if mask.dimensions() == image.dimensions() => mask,
        Ok(mask) => return SliceStatus::Failed(format!("the worker sent a {:?} mask for a {:?} image", mask.dimensions(), image.dimensions())),
        Err(e) => return SliceStatus::Failed(e),
    };
    let coverage_percent = coverage_percent(&mask);
    let prediction = Prediction { probabilities: reply.probabilities.0, size, mask, coverage_percent };
    SliceStatus::Done(Arc::new(Segmented::new(image, prediction, &post, notes, reply.millis)))
}
