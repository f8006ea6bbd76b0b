//! A study of several slices on the page: its header, which slice entries are its slices, its
//! assembled result, and a reader's corrections to its mask.

use std::sync::{Arc, Mutex};

use brainseg_core::postprocess::PostProcess;
use brainseg_pipeline::{EditedMask, StudyHeader, StudyResult};
use brainseg_study::Summary;
use image::GrayImage;
use leptos::prelude::*;

use super::{Segmented, SliceEntry, SliceStatus};

/// A DICOM series, NIfTI volume or folder of numbered slices: its slices are ordinary entries of
/// the slice list; once all are segmented a worker assembles the study (3D step, figures).
#[derive(Debug, Clone)]
pub struct StudyEntry {
    pub id: usize,
    /// Label, channels, notes, geometry and slice sizes (no pixels): what assembling and
    /// exporting need.
    pub header: Arc<StudyHeader>,
    /// The slice entries, in slice order.
    pub slice_ids: Vec<usize>,
    /// The assembled study (every slice's mask, 3D step included, and the figures) under the
    /// post-processing it was made with, or why it could not be made.
    result: ArcRwSignal<Option<(PostProcess, Result<Arc<StudyResult>, String>)>>,
    /// When its slices were queued (page clock, ms): for the time left.
    pub queued_at_ms: f64,
    /// A reader's corrections and their history, from the first edit on.
    edits: Arc<Mutex<Option<EditedMask>>>,
    /// What the corrections have made of the mask (tracked).
    pub edit_state: ArcRwSignal<EditState>,
}

/// A study's masks, one 8-bit image per slice (255 = tumor): the model's, as its assembled
/// result holds them, or the reader's corrected ones.
#[derive(Debug, Clone)]
pub enum Masks {
    Model(Arc<StudyResult>),
    Edited(Arc<Vec<GrayImage>>),
}

impl Masks {
    pub fn slices(&self) -> &[GrayImage] {
        match self {
            Masks::Model(result) => &result.masks,
            Masks::Edited(masks) => masks,
        }
    }
}

/// Where a study's corrections stand.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EditState {
    /// Bumped by every edit, undo, redo and discard.
    pub version: u64,
    /// The reader's mask is the study's mask (figures, downloads): an edit is in effect.
    pub edited: bool,
    pub can_undo: bool,
    pub can_redo: bool,
    /// The edited mask's figures once a worker has measured them (`Some(None)`: no common grid).
    pub summary: Option<Option<Summary>>,
}

impl StudyEntry {
    pub fn new(id: usize, header: StudyHeader, slice_ids: Vec<usize>) -> Self {
        let queued_at_ms = crate::browser::now_ms();
        Self {
            id,
            header: Arc::new(header),
            slice_ids,
            result: ArcRwSignal::new(None),
            queued_at_ms,
            edits: Arc::new(Mutex::new(None)),
            edit_state: ArcRwSignal::new(EditState::default()),
        }
    }

    /// Runs `f` on the study's editable mask (started from the model's masks under `post` on
    /// first use) and publishes the new state; `None` before the study is assembled.
    pub fn edit<R>(&self, post: &PostProcess, f: impl FnOnce(&mut EditedMask) -> R) -> Option<R> {
        let mut edits = self.edits.lock().unwrap_or_else(|e| e.into_inner());
        if edits.is_none() {
            let result = untrack(|| self.ready(post))?;
            let [w, h, d] = self.header.geometry.dims;
            let flat: Vec<u8> = result.masks.iter().flat_map(|m| m.as_raw().iter().copied()).collect();
            if flat.len() != w * h * d {
                return None;
            }
            *edits = Some(EditedMask::new([w, h, d], &flat));
        }
        let mask = edits.as_mut()?;
        let out = f(mask);
        let (edited, can_undo, can_redo) = (mask.is_edited(), mask.can_undo(), mask.can_redo());
        drop(edits);
        self.edit_state.update(|s| *s = EditState { version: s.version + 1, edited, can_undo, can_redo, summary: None });
        Some(out)
    }

    /// Back to the model's mask: the corrections and their history are dropped.
    pub fn discard_edits(&self) {
        *self.edits.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.edit_state.update(|s| *s = EditState { version: s.version + 1, ..EditState::default() });
    }

    /// The masks the study's figures and downloads follow (tracked): the reader's once edited,
    /// else the model's under `post` (shared with the study's result, not copied).
    pub fn masks(&self, post: &PostProcess) -> Option<Masks> {
        if self.edit_state.with(|s| s.edited) {
            let [w, h, _] = self.header.geometry.dims;
            let edits = self.edits.lock().unwrap_or_else(|e| e.into_inner());
            let slices = edits.as_ref()?.slices().into_iter().map(|s| GrayImage::from_raw(w as u32, h as u32, s));
            return slices.collect::<Option<Vec<_>>>().map(|m| Masks::Edited(Arc::new(m)));
        }
        self.ready(post).map(Masks::Model)
    }

    /// Whether [`StudyEntry::masks`] has masks to give (tracked), without making them.
    pub fn has_masks(&self, post: &PostProcess) -> bool {
        self.edit_state.with(|s| s.edited) || self.ready(post).is_some()
    }

    /// The figures of [`StudyEntry::masks`] (tracked): `None` while they are being made.
    pub fn figures(&self, post: &PostProcess) -> Option<Result<Option<Summary>, String>> {
        let edit = self.edit_state.get();
        if edit.edited {
            return edit.summary.map(Ok);
        }
        self.result(post).map(|r| r.map(|r| r.summary.clone()))
    }

    /// Records the figures a worker measured for edit `version` (dropped if edited since).
    pub fn set_edited_summary(&self, version: u64, summary: Option<Summary>) {
        self.edit_state.update(|s| {
            if s.version == version {
                s.summary = Some(summary);
            }
        });
    }

    fn segmented<'a>(&self, slices: &'a [SliceEntry]) -> Option<Vec<&'a Arc<Segmented>>> {
        self.slice_ids.iter().map(|id| slices.iter().find(|e| e.id == *id).and_then(|e| e.segmented())).collect()
    }

    /// Every slice's probabilities, in slice order, or `None` while any slice is unfinished (the
    /// 3D step needs the whole volume).
    pub fn probabilities(&self, slices: &[SliceEntry]) -> Option<Vec<Vec<f32>>> {
        Some(self.segmented(slices)?.iter().map(|s| s.prediction.probabilities.clone()).collect())
    }

    /// Its segmented slices (the model's input images), in slice order, once all are done.
    pub fn done_slices(&self, slices: &[SliceEntry]) -> Option<Vec<Arc<Segmented>>> {
        Some(self.segmented(slices)?.into_iter().cloned().collect())
    }

    /// The assembled study under `post`, once a worker has made it (tracked): the same masks and
    /// figures as `brainseg segment` gives the study.
    pub fn result(&self, post: &PostProcess) -> Option<Result<Arc<StudyResult>, String>> {
        self.result.with(|r| r.as_ref().filter(|(p, _)| p == post).map(|(_, r)| r.clone()))
    }

    pub fn ready(&self, post: &PostProcess) -> Option<Arc<StudyResult>> {
        self.result(post).and_then(Result::ok)
    }

    pub fn has_result(&self, post: &PostProcess) -> bool {
        untrack(|| self.result(post)).is_some()
    }

    pub fn set_result(&self, post: PostProcess, result: Result<StudyResult, String>) {
        self.result.set(Some((post, result.map(Arc::new))));
    }

    /// The mask of one of its slices as the study's figures see it (tracked): the reader's once
    /// edited, else the model's under `post` with the 3D step, once the study is assembled.
    pub fn slice_mask(&self, id: usize, post: &PostProcess) -> Option<GrayImage> {
        let k = self.slice_ids.iter().position(|&i| i == id)?;
        if self.edit_state.with(|s| s.edited) {
            let [w, h, _] = self.header.geometry.dims;
            let edits = self.edits.lock().unwrap_or_else(|e| e.into_inner());
            let slice = edits.as_ref()?.mask().get(k * w * h..(k + 1) * w * h)?.iter().map(|&v| v * 255).collect();
            return GrayImage::from_raw(w as u32, h as u32, slice);
        }
        self.ready(post).and_then(|r| r.masks.get(k).cloned())
    }

    /// How many of its slices are segmented (or failed, or cancelled).
    pub fn finished(&self, slices: &[SliceEntry]) -> usize {
        slices.iter().filter(|e| self.slice_ids.contains(&e.id) && !matches!(e.status, SliceStatus::Waiting)).count()
    }

    /// Whether any of its slices was cancelled (its volume figures then never come).
    pub fn cancelled(&self, slices: &[SliceEntry]) -> bool {
        slices.iter().any(|e| self.slice_ids.contains(&e.id) && matches!(e.status, SliceStatus::Cancelled))
    }
}
