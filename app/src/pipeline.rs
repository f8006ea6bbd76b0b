//! From dropped files to predictions: every slice becomes a job of the worker pool
//! ([`crate::worker`]), which reads, decodes and segments it off the main thread; what comes
//! back (the image, its probabilities and its mask) becomes a [`Segmented`] here. A complete
//! study's masks (the 3D step) are made in a worker too; the main thread only draws.

use std::sync::Arc;

use brainseg_core::Prediction;
use brainseg_core::model_file::ModelMeta;
use brainseg_core::postprocess::{PostProcess, coverage_percent};
use image::{GrayImage, RgbImage};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;

use crate::browser;
use crate::files::Picked;
use crate::state::{AppState, EngineStatus, Segmented, SliceEntry, SliceStatus};
use crate::worker::{JobError, Pool, Reply, Request, Scans, StudyProbabilities, page_wasm, start};

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

/// The page's non-`Send` half: the worker pool and the model's header.
#[derive(Default)]
pub struct Runtime {
    pool: Option<Pool>,
    meta: Option<Arc<ModelMeta>>,
    next_id: usize,
}

pub type RuntimeStore = StoredValue<Runtime, LocalStorage>;

pub fn use_runtime() -> RuntimeStore {
    expect_context::<RuntimeStore>()
}

/// Starts the workers in the background; slices dropped meanwhile wait in the pool's queue.
pub fn start_engine(state: AppState, rt: RuntimeStore) {
    let Some((module, js)) = page_wasm() else {
        state.engine.set(EngineStatus::Failed("the page's WebAssembly module was not handed over (boot.js)".into()));
        return;
    };
    let test_hooks = browser::query_param("test-hooks").is_some();
    let pool = Pool::new(module, js, test_hooks);
    pool.on_change(move |n| state.workers.set(n));
    if test_hooks {
        expose_test_hooks(&pool);
    }
    rt.update_value(|r| r.pool = Some(pool.clone()));
    spawn_local(async move {
        match start(state, pool).await {
            Ok(meta) => {
                state.use_model_defaults(meta.postprocess);
                state.model_sha256.set(meta.weights_sha256.clone());
                rt.update_value(|r| r.meta = Some(Arc::new(meta)));
            }
            Err(e) => state.engine.set(EngineStatus::Failed(e)),
        }
        // Caching for offline use starts after the model download, not competing with it.
        browser::register_service_worker();
    });
}

/// `globalThis.brainsegTest.killWorker()` (only with `?test-hooks`): the end-to-end test stops a
/// busy worker as a crash would.
fn expose_test_hooks(pool: &Pool) {
    let pool = pool.clone();
    let kill = Closure::<dyn Fn() -> bool>::new(move || pool.kill_busy_worker());
    let hooks = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&hooks, &"killWorker".into(), kill.as_ref());
    let _ = js_sys::Reflect::set(&js_sys::global(), &"brainsegTest".into(), &hooks);
    kill.forget();
}

fn pool(rt: RuntimeStore) -> Option<Pool> {
    rt.with_value(|r| r.pool.clone())
}

/// Adds slices to the list and the pool's queue, and shows the first of them; returns their ids.
pub fn enqueue(state: AppState, rt: RuntimeStore, items: Vec<(String, Input)>) -> Vec<usize> {
    if items.is_empty() {
        return Vec::new();
    }
    let mut entries = Vec::with_capacity(items.len());
    let mut jobs = Vec::with_capacity(items.len());
    rt.update_value(|r| {
        for (name, input) in items {
            let id = r.next_id;
            r.next_id += 1;
            entries.push(SliceEntry { id, name, status: SliceStatus::Waiting });
            jobs.push((id, input));
        }
    });
    let ids = entries.iter().map(|e| e.id).collect();
    state.selected.set(entries.first().map(|e| e.id));
    state.slices.update(|s| s.extend(entries));
    // Each slice's mask is made in its worker under the settings of now; a threshold moved
    // meanwhile is applied here later, from the probabilities.
    let post = untrack(|| state.set_post());
    for (id, input) in jobs {
        spawn_local(async move {
            let status = segment(rt, id, input, post).await;
            state.set_status(id, status);
        });
    }
    ids
}

/// Drops the slices of `ids` that still wait for a worker.
pub fn cancel(rt: RuntimeStore, ids: &[usize]) {
    if let Some(pool) = pool(rt) {
        pool.cancel(|tag| ids.contains(&tag));
    }
}

/// Reads and decodes an image file in a worker: the image and the conversions made to read it.
pub async fn decode_file(rt: RuntimeStore, file: web_sys::File) -> Result<(RgbImage, Vec<String>), String> {
    let pool = pool(rt).ok_or("the page has no workers")?;
    match pool.run(usize::MAX, Request::Decode(file)).await {
        Ok(Reply { image: Some(image), notes, .. }) => Ok((image, notes)),
        Ok(_) => Err("the worker sent no image".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Reads scan files into studies in a worker.
pub async fn read_scans(rt: RuntimeStore, files: Vec<(String, web_sys::File)>) -> Result<Scans, String> {
    let pool = pool(rt).ok_or("the page has no workers")?;
    match pool.run(usize::MAX, Request::Scans(files)).await {
        Ok(Reply { scans: Some(scans), .. }) => Ok(scans),
        Ok(_) => Err("the worker sent no studies".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// A complete study's masks under `post` (3D step included), made in a worker ahead of the
/// slices waiting.
pub async fn study_masks(rt: RuntimeStore, study: StudyProbabilities) -> Result<Vec<GrayImage>, String> {
    let pool = pool(rt).ok_or("the page has no workers")?;
    let n = study.probabilities.len();
    match pool.run_first(usize::MAX, Request::StudyMasks(Arc::new(study))).await {
        Ok(Reply { masks: Some(masks), .. }) if masks.len() == n => Ok(masks),
        Ok(_) => Err("the worker sent no masks for the study".into()),
        Err(e) => Err(e.to_string()),
    }
}

async fn segment(rt: RuntimeStore, id: usize, input: Input, post: PostProcess) -> SliceStatus {
    let Some(pool) = pool(rt) else { return SliceStatus::Failed("the page has no workers".into()) };
    let (request, image) = match input {
        Input::Unreadable(e) => return SliceStatus::Failed(e),
        Input::File(file) => (Request::Segment(file, post), None),
        Input::Image(image) => {
            let volume = Arc::new(vec![image]);
            let image = volume.first().cloned();
            (Request::InVolume { volume, z: 0, post }, image)
        }
        Input::InVolume(volume, z) => {
            let image = volume.get(z).cloned();
            (Request::InVolume { volume, z, post }, image)
        }
    };
    let reply = match pool.run(id, request).await {
        Ok(reply) => reply,
        Err(JobError::Cancelled) => return SliceStatus::Cancelled,
        Err(e) => return SliceStatus::Failed(e.to_string()),
    };
    let Some(meta) = rt.with_value(|r| r.meta.clone()) else { return SliceStatus::Failed("the model is not loaded".into()) };
    match (reply.image.or(image), reply.probabilities, reply.mask) {
        (Some(image), Some(probabilities), Some(mask)) => {
            let size = meta.config.input_size as u32;
            if probabilities.len() != (size * size) as usize {
                return SliceStatus::Failed(format!("the worker sent {} probabilities for a {size}x{size} model", probabilities.len()));
            }
            if mask.dimensions() != image.dimensions() {
                return SliceStatus::Failed(format!("the worker sent a {:?} mask for a {:?} image", mask.dimensions(), image.dimensions()));
            }
            let coverage_percent = coverage_percent(&mask);
            let prediction = Prediction { probabilities, size, mask, coverage_percent };
            SliceStatus::Done(Arc::new(Segmented::new(image, prediction, &post, reply.notes, reply.millis)))
        }
        _ => SliceStatus::Failed("the worker sent an incomplete reply".into()),
    }
}
