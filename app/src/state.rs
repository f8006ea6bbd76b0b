//! What the page knows, shared by its components through context.
//!
//! Only `Send` data lives here (images, predictions, text); browser handles and the model stay
//! in [`crate::pipeline`]'s local storage.

use std::sync::{Arc, Mutex};

use brainseg_core::Prediction;
use brainseg_core::postprocess::{PostProcess, coverage_percent, mask_from_probabilities};
use image::{GrayImage, RgbImage};
use leptos::prelude::*;

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
    /// The last coverage asked for: every slice's figure is asked again whenever another slice
    /// finishes, and recomputing all of them would make a large folder quadratic.
    coverage_cache: Mutex<Option<(PostProcess, f64)>>,
}

impl Segmented {
    pub fn new(image: RgbImage, prediction: Prediction, notes: Vec<String>, millis: f64) -> Self {
        Self { image, prediction, notes, millis, coverage_cache: Mutex::new(None) }
    }

    /// Tumor coverage in percent under `post`.
    pub fn coverage(&self, post: &PostProcess) -> f64 {
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

    /// The mask at the input's size under `post`, without re-running the network.
    pub fn mask(&self, post: &PostProcess) -> GrayImage {
        let p = &self.prediction;
        let (w, h) = self.image.dimensions();
        mask_from_probabilities(&p.probabilities, p.size, w, h, post)
    }
}

#[derive(Debug, Clone)]
pub enum SliceStatus {
    Waiting,
    Failed(String),
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
        };
        (self.id, tag)
    }
}

/// A DICOM series or NIfTI volume: its slices are ordinary entries of the slice list.
#[derive(Debug, Clone)]
pub struct StudyEntry {
    pub id: usize,
    pub label: String,
    /// Which channels were filled from which series, in words.
    pub mode: String,
    pub notes: Vec<String>,
    /// The slice entries, in slice order.
    pub slice_ids: Vec<usize>,
    /// Spacing, orientation and origin (no voxels): for millilitres and the NIfTI export.
    pub geometry: Arc<brainseg_study::Volume>,
}

impl StudyEntry {
    /// Every slice's mask under `post`, in slice order, or `None` while any is unfinished.
    pub fn masks(&self, slices: &[SliceEntry], post: &PostProcess) -> Option<Vec<GrayImage>> {
        let mine: Option<Vec<&Arc<Segmented>>> = self
            .slice_ids
            .iter()
            .map(|id| slices.iter().find(|e| e.id == *id).and_then(|e| e.segmented()))
            .collect();
        // Masks are made only once all are done: a study grows one slice at a time.
        Some(mine?.into_iter().map(|s| s.mask(post)).collect())
    }

    /// How many of its slices are segmented (or failed).
    pub fn finished(&self, slices: &[SliceEntry]) -> usize {
        slices.iter().filter(|e| self.slice_ids.contains(&e.id) && !matches!(e.status, SliceStatus::Waiting)).count()
    }
}

/// Loading progress of the model, then the backend that runs it.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineStatus {
    Loading(String),
    Ready { backend: String, gpu: bool },
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
    /// Set while scan files are being read and stacked.
    pub reading_scans: RwSignal<Option<String>>,
    /// The id of the slice in the viewer.
    pub selected: RwSignal<Option<usize>>,
    pub opacity: RwSignal<f32>,
    /// Follows the slider while it moves; drives the slice in the viewer.
    pub threshold: RwSignal<f32>,
    /// Set when the slider is released; drives every slice's coverage (costlier).
    pub set_threshold: RwSignal<f32>,
    /// From the model file; not a user setting.
    pub min_component_area: RwSignal<usize>,
    pub engine: RwSignal<EngineStatus>,
    pub summary: Memo<SetSummary>,
}

impl AppState {
    pub fn new() -> Self {
        let slices = RwSignal::new(Vec::<SliceEntry>::new());
        let set_threshold = RwSignal::new(0.5);
        let min_component_area = RwSignal::new(0);
        let summary = Memo::new(move |_| {
            let post = PostProcess { threshold: set_threshold.get(), min_component_area: min_component_area.get() };
            slices.with(|s| summarize(s, &post))
        });
        Self {
            slices,
            studies: RwSignal::new(Vec::new()),
            reading_scans: RwSignal::new(None),
            selected: RwSignal::new(None),
            opacity: RwSignal::new(0.5),
            threshold: RwSignal::new(0.5),
            set_threshold,
            min_component_area,
            engine: RwSignal::new(EngineStatus::Loading("Starting…".into())),
            summary,
        }
    }

    /// The post-processing of the slice in the viewer (tracked).
    pub fn post(&self) -> PostProcess {
        PostProcess { threshold: self.threshold.get(), min_component_area: self.min_component_area.get() }
    }

    /// The post-processing for the whole set and downloads of all masks (tracked).
    pub fn set_post(&self) -> PostProcess {
        PostProcess { threshold: self.set_threshold.get(), min_component_area: self.min_component_area.get() }
    }

    /// Adopts the model's own post-processing as the sliders' starting point.
    pub fn use_model_defaults(&self, post: PostProcess) {
        self.threshold.set(post.threshold);
        self.set_threshold.set(post.threshold);
        self.min_component_area.set(post.min_component_area);
    }

    pub fn entry(&self, id: usize) -> Option<SliceEntry> {
        self.slices.with(|s| s.iter().find(|e| e.id == id).cloned())
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
