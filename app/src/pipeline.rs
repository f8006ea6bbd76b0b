//! From dropped files to predictions: the model loads once at start-up, then slices are
//! segmented one at a time, yielding to the browser in between so the page keeps painting.

use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

use brainseg_core::image_input::decode_slice;
use image::RgbImage;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::browser;
use crate::files::Picked;
use crate::inference::Engine;
use crate::state::{AppState, EngineStatus, Segmented, SliceEntry, SliceStatus};

/// What a queued slice is made from.
pub enum Input {
    File(web_sys::File),
    Image(RgbImage),
    /// Slice `z` of a study's slices: a model that reads neighbouring slices gets them.
    InVolume(Arc<Vec<RgbImage>>, usize),
    Unreadable(String),
}

/// A picked file as a queue item named by its path.
pub fn job(picked: Picked) -> (String, Input) {
    let input = match picked.file {
        Ok(file) => Input::File(file),
        Err(e) => Input::Unreadable(e),
    };
    (picked.path, input)
}

/// The page's non-`Send` half: the model and the queue of files waiting for it.
#[derive(Default)]
pub struct Runtime {
    engine: Option<Rc<Engine>>,
    queue: VecDeque<(usize, Input)>,
    running: bool,
    next_id: usize,
}

pub type RuntimeStore = StoredValue<Runtime, LocalStorage>;

pub fn use_runtime() -> RuntimeStore {
    expect_context::<RuntimeStore>()
}

/// Loads the model in the background; slices dropped meanwhile wait in the queue.
pub fn start_engine(state: AppState, rt: RuntimeStore) {
    spawn_local(async move {
        let progress = move |step: String| state.engine.set(EngineStatus::Loading(step));
        match Engine::load(progress).await {
            Ok(engine) => {
                state.use_model_defaults(engine.postprocess());
                state.model_sha256.set(engine.model_sha256());
                let backend = engine.backend.to_string();
                state.engine.set(EngineStatus::Ready { gpu: engine.backend.is_gpu(), backend });
                rt.update_value(|r| r.engine = Some(Rc::new(engine)));
                ensure_running(state, rt);
            }
            Err(e) => state.engine.set(EngineStatus::Failed(e)),
        }
        // Caching for offline use starts after the model download, not competing with it.
        browser::register_service_worker();
    });
}

/// Adds slices to the list and the queue, and shows the first of them; returns their ids.
pub fn enqueue(state: AppState, rt: RuntimeStore, items: Vec<(String, Input)>) -> Vec<usize> {
    if items.is_empty() {
        return Vec::new();
    }
    let mut entries = Vec::with_capacity(items.len());
    rt.update_value(|r| {
        for (name, input) in items {
            let id = r.next_id;
            r.next_id += 1;
            entries.push(SliceEntry { id, name, status: SliceStatus::Waiting });
            r.queue.push_back((id, input));
        }
    });
    let ids = entries.iter().map(|e| e.id).collect();
    state.selected.set(entries.first().map(|e| e.id));
    state.slices.update(|s| s.extend(entries));
    ensure_running(state, rt);
    ids
}

fn ensure_running(state: AppState, rt: RuntimeStore) {
    let start = rt.try_update_value(|r| {
        let start = r.engine.is_some() && !r.running && !r.queue.is_empty();
        r.running |= start;
        start
    });
    if start == Some(true) {
        spawn_local(run(state, rt));
    }
}

async fn run(state: AppState, rt: RuntimeStore) {
    loop {
        let next = rt.try_update_value(|r| match (r.queue.pop_front(), &r.engine) {
            (Some(job), Some(engine)) => Some((job, engine.clone())),
            _ => {
                r.running = false;
                None
            }
        });
        let Some(Some(((id, input), engine))) = next else { return };
        let status = segment(&engine, input).await;
        state.set_status(id, status);
        browser::yield_now().await;
    }
}

/// Reads and decodes a dropped image file: the image and the conversions made to read it.
pub async fn decode_file(file: &web_sys::File) -> Result<(RgbImage, Vec<String>), String> {
    let bytes = browser::read_blob(file).await.map_err(|e| format!("cannot read the file: {e}"))?;
    let slice = decode_slice(&bytes).map_err(|e| e.to_string())?;
    Ok((slice.image, slice.conversions.iter().map(ToString::to_string).collect()))
}

async fn segment(engine: &Engine, input: Input) -> SliceStatus {
    let (image, notes, volume) = match input {
        Input::Unreadable(e) => return SliceStatus::Failed(e),
        Input::InVolume(volume, z) => (volume[z].clone(), Vec::new(), Some((volume, z))),
        Input::Image(image) => (image, Vec::new(), None),
        Input::File(file) => match decode_file(&file).await {
            Ok((image, notes)) => (image, notes, None),
            Err(e) => return SliceStatus::Failed(e),
        },
    };
    let start = browser::now_ms();
    let result = match &volume {
        Some((volume, z)) => engine.segment_in_volume(volume, *z).await,
        None => engine.segment(&image).await,
    };
    match result {
        Ok(prediction) => {
            let millis = browser::now_ms() - start;
            SliceStatus::Done(Arc::new(Segmented::new(image, prediction, notes, millis)))
        }
        Err(e) => SliceStatus::Failed(format!("the model failed on this slice: {e}")),
    }
}
