//! What the page knows, shared by its components through context.
//!
//! Only `Send` data lives here (images, predictions, text); browser handles and the model stay
//! in [`crate::session`]'s local storage.

mod study;

use std::sync::{Arc, Mutex};

use brainseg_core::Prediction;
use brainseg_core::postprocess::{PostProcess, VolumeRule, coverage_percent, mask_from_probabilities};
use image::{GrayImage, RgbImage};
use leptos::prelude::*;

pub use self::study::StudyEntry;

/// A slice the network has segmented.
#[derive(Debug)]
pub struct Segmented {
    pub image: RgbImage,
    /// As the network produced it; other thresholds re-use its probabilities.
    pub prediction: Prediction,
    /// Conversions made to read the file (16-bit, gray, alpha), shown as notes.
    pub notes: Vec<String>,
    /// Network time including pre- and post-processing, in milliseconds.
    pub millis: f64,
    /// The threshold and smallest region `prediction.mask` was made with (in the worker).
    made_with: (f32, usize),
    /// The last coverage asked for: every slice's figure is asked again whenever another slice
    /// finishes, and recomputing all of them would make a large folder quadratic.
    coverage_cache: Mutex<Option<(PostProcess, f64)>>,
}

impl Segmented {
    /// `prediction`'s mask and coverage were made under `post` (its per-slice part).
    pub fn new(image: RgbImage, prediction: Prediction, post: &PostProcess, notes: Vec<String>, millis: f64) -> Self {
        let made_with = (post.threshold, post.min_component_area);
        Self { image, prediction, notes, millis, made_with, coverage_cache: Mutex::new(None) }
    }

    fn made_with(&self, post: &PostProcess) -> bool {
        (post.threshold, post.min_component_area) == self.made_with
    }

    /// Tumor coverage in percent under `post`.
    pub fn coverage(&self, post: &PostProcess) -> f64 {
        if self.made_with(post) {
            return self.prediction.coverage_percent;
        }
        let mut cache = self.coverage_cache.lock().unwrap_or_else(|e| e.into_inner());
        match *cache {
            Some((p, c)) if p == *post => c,
            _ => {
                let c = coverage_percent(&self.mask(post));
                *cache = Some((*post, c));
                c
            }
        }
    }

    /// The mask at the input's size under `post`, without re-running the network (the slice
    /// alone: a study's 3D step is [`StudyEntry::slice_mask`]).
    pub fn mask(&self, post: &PostProcess) -> GrayImage {
        if self.made_with(post) {
            return self.prediction.mask.clone();
        }
        let p = &self.prediction;
        let (w, h) = self.image.dimensions();
        mask_from_probabilities(&p.probabilities, p.size, w, h, post)
    }
}

#[derive(Debug, Clone)]
pub enum SliceStatus {
    Waiting,
    Failed(String),
    /// Taken out of the queue by the user before a worker got to it.
    Cancelled,
    Done(Arc<Segmented>),
}

/// One dropped file (or example) and how far it got.
#[derive(Debug, Clone)]
pub struct SliceEntry {
    pub id: usize,
    /// File name, with its folder path when it came from a dropped folder.
    pub name: String,
    pub status: SliceStatus,
}

impl SliceEntry {
    pub fn segmented(&self) -> Option<&Arc<Segmented>> {
        match &self.status {
            SliceStatus::Done(s) => Some(s),
            _ => None,
        }
    }

    /// Stable key for lists: changes when the row must be drawn anew.
    pub fn version(&self) -> (usize, u8) {
        let tag = match self.status {
            SliceStatus::Waiting => 0,
            SliceStatus::Failed(_) => 1,
            SliceStatus::Done(_) => 2,
            SliceStatus::Cancelled => 3,
        };
        (self.id, tag)
    }
}

/// Loading progress of the model, then the backend that runs it.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineStatus {
    Loading(String),
    Ready {
        backend: String,
        gpu: bool,
        /// Why this device (empty when WebGPU won).
        why: String,
        planned_workers: usize,
        /// WebAssembly memory of the first worker once warm, in MB.
        per_worker_mb: f64,
    },
    Failed(String),
}

/// Coverage of every segmented slice at the committed threshold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SetSummary {
    pub per_slice: Vec<(usize, f64)>,
    /// Tumor pixels over all pixels of all segmented slices, in percent.
    pub total_percent: Option<f64>,
    pub failed: usize,
    pub waiting: usize,
    pub cancelled: usize,
    pub mean_millis: Option<f64>,
}

impl SetSummary {
    pub fn coverage_of(&self, id: usize) -> Option<f64> {
        self.per_slice.iter().find(|(i, _)| *i == id).map(|(_, c)| *c)
    }
}

fn summarize(slices: &[SliceEntry], post: &PostProcess) -> SetSummary {
    let mut summary = SetSummary::default();
    let (mut tumor, mut pixels, mut millis) = (0.0, 0.0, 0.0);
    for entry in slices {
        match &entry.status {
            SliceStatus::Waiting => summary.waiting += 1,
            SliceStatus::Failed(_) => summary.failed += 1,
            SliceStatus::Cancelled => summary.cancelled += 1,
            SliceStatus::Done(s) => {
                let coverage = s.coverage(post);
                let n = f64::from(s.image.width()) * f64::from(s.image.height());
                tumor += coverage * n / 100.0;
                pixels += n;
                millis += s.millis;
                summary.per_slice.push((entry.id, coverage));
            }
        }
    }
    let done = summary.per_slice.len();
    if done > 0 {
        summary.total_percent = Some(100.0 * tumor / pixels);
        summary.mean_millis = Some(millis / done as f64);
    }
    summary
}

#[derive(Clone, Copy)]
pub struct AppState {
    pub slices: RwSignal<Vec<SliceEntry>>,
    pub studies: RwSignal<Vec<StudyEntry>>,
    /// Files being read into studies by the workers, not yet listed.
    pub reading: RwSignal<usize>,
    /// The id of the slice in the viewer.
    pub selected: RwSignal<Option<usize>>,
    /// The study in the study viewer (its id), once the reader opens one.
    pub viewing: RwSignal<Option<usize>>,
    pub opacity: RwSignal<f32>,
    /// Follows the slider while it moves; drives the slice in the viewer.
    pub threshold: RwSignal<f32>,
    /// Set when the slider is released; drives every slice's coverage (costlier).
    pub set_threshold: RwSignal<f32>,
    /// From the model file; not a user setting.
    pub min_component_area: RwSignal<usize>,
    /// The model file's 3D step, applied to complete studies.
    pub volume_rule: RwSignal<VolumeRule>,
    /// The model file's weights hash: a DICOM SEG's algorithm version.
    pub model_sha256: RwSignal<String>,
    pub engine: RwSignal<EngineStatus>,
    /// Workers with the model loaded, taking slices.
    pub workers: RwSignal<usize>,
    pub summary: Memo<SetSummary>,
}

impl AppState {
    pub fn new() -> Self {
        let slices = RwSignal::new(Vec::<SliceEntry>::new());
        let set_threshold = RwSignal::new(0.5);
        let min_component_area = RwSignal::new(0);
        let summary = Memo::new(move |_| {
            let post = PostProcess::slice(set_threshold.get(), min_component_area.get());
            slices.with(|s| summarize(s, &post))
        });
        Self {
            slices,
            studies: RwSignal::new(Vec::new()),
            reading: RwSignal::new(0),
            selected: RwSignal::new(None),
            viewing: RwSignal::new(None),
            opacity: RwSignal::new(0.5),
            threshold: RwSignal::new(0.5),
            set_threshold,
            min_component_area,
            volume_rule: RwSignal::new(VolumeRule::Off),
            model_sha256: RwSignal::new(String::new()),
            engine: RwSignal::new(EngineStatus::Loading("Starting…".into())),
            workers: RwSignal::new(0),
            summary,
        }
    }

    /// The post-processing of the slice in the viewer (tracked).
    pub fn post(&self) -> PostProcess {
        PostProcess { volume: self.volume_rule.get(), ..PostProcess::slice(self.threshold.get(), self.min_component_area.get()) }
    }

    /// The post-processing for the whole set and downloads of all masks (tracked).
    pub fn set_post(&self) -> PostProcess {
        PostProcess { volume: self.volume_rule.get(), ..PostProcess::slice(self.set_threshold.get(), self.min_component_area.get()) }
    }

    /// Adopts the model's own post-processing as the sliders' starting point.
    pub fn use_model_defaults(&self, post: PostProcess) {
        self.threshold.set(post.threshold);
        self.set_threshold.set(post.threshold);
        self.min_component_area.set(post.min_component_area);
        self.volume_rule.set(post.volume);
    }

    pub fn entry(&self, id: usize) -> Option<SliceEntry> {
        self.slices.with(|s| s.iter().find(|e| e.id == id).cloned())
    }

    /// The study a slice belongs to, if any.
    pub fn study_of(&self, id: usize) -> Option<StudyEntry> {
        self.studies.with(|s| s.iter().find(|st| st.slice_ids.contains(&id)).cloned())
    }

    pub fn selected_entry(&self) -> Option<SliceEntry> {
        self.selected.get().and_then(|id| self.entry(id))
    }

    pub fn set_status(&self, id: usize, status: SliceStatus) {
        self.slices.update(|s| {
            if let Some(e) = s.iter_mut().find(|e| e.id == id) {
                e.status = status;
            }
        });
    }
}

pub fn use_state() -> AppState {
    expect_context::<AppState>()
}
