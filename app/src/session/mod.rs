//! The page's per-study flow, in one place: files go to a worker that reads them into studies
//! (`brainseg_pipeline::Reader`: scans by content, numbered images as volumes, any other image a
//! one-slice study); every slice is a job of the worker pool; a complete study is assembled in a
//! worker (`brainseg_pipeline::assemble`: the 3D step and the figures) and exported there too.
//! The page keeps each study's slices and results for display; it reads no file and makes no
//! mask itself.
//!
//! - `intake.rs`: dropped files to studies and their slices' jobs.
//! - `study.rs`: assembling a complete study, and its exports.

mod intake;
mod study;

use std::sync::Arc;

use brainseg_core::model_file::ModelMeta;
use futures::channel::oneshot;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;

pub use intake::{add_files, add_image};
pub use study::{export, measure_edits, watch};

use crate::browser;
use crate::state::{AppState, EngineStatus};
use crate::worker::{Ask, JobError, Pool, page_wasm, start};

/// The page's non-`Send` half: the worker pool and the model's header.
#[derive(Default)]
pub struct Runtime {
    pool: Option<Pool>,
    meta: Option<Arc<ModelMeta>>,
    /// Told the model's header once the engine is ready (dropped if it fails).
    waiting_for_meta: Vec<oneshot::Sender<Arc<ModelMeta>>>,
    next_id: usize,
    /// The page's reactive owner: studies registered from async tasks get their effects here.
    owner: Option<Owner>,
}

pub type RuntimeStore = StoredValue<Runtime, LocalStorage>;

pub fn use_runtime() -> RuntimeStore {
    expect_context::<RuntimeStore>()
}

/// Starts the workers in the background; files dropped meanwhile wait in the pool's queue.
pub fn start_engine(state: AppState, rt: RuntimeStore) {
    rt.update_value(|r| r.owner = Owner::current());
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
                let meta = Arc::new(meta);
                let waiting = rt.try_update_value(|r| {
                    r.meta = Some(meta.clone());
                    std::mem::take(&mut r.waiting_for_meta)
                });
                for tx in waiting.unwrap_or_default() {
                    let _ = tx.send(meta.clone());
                }
            }
            Err(e) => {
                rt.update_value(|r| r.waiting_for_meta.clear());
                state.engine.set(EngineStatus::Failed(e));
            }
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

fn pool(rt: RuntimeStore) -> Result<Pool, String> {
    rt.with_value(|r| r.pool.clone()).ok_or_else(|| "the page has no workers".to_string())
}

/// [`Pool::ask`] on the page's pool (`first`: ahead of the waiting slices).
async fn ask<A: Ask>(rt: RuntimeStore, tag: usize, request: A, first: bool) -> Result<A::Reply, JobError> {
    pool(rt).map_err(JobError::NoWorkers)?.ask(tag, request, first).await
}

/// The model's header, once a worker has loaded it.
async fn meta(rt: RuntimeStore) -> Result<Arc<ModelMeta>, String> {
    let (tx, rx) = oneshot::channel();
    let ready = rt.try_update_value(|r| match &r.meta {
        Some(meta) => Some(meta.clone()),
        None => {
            r.waiting_for_meta.push(tx);
            None
        }
    });
    match ready.flatten() {
        Some(meta) => Ok(meta),
        None => rx.await.map_err(|_| "the model could not be loaded".to_string()),
    }
}

fn next_id(rt: RuntimeStore) -> usize {
    rt.try_update_value(|r| {
        r.next_id += 1;
        r.next_id - 1
    })
    .unwrap_or(usize::MAX)
}

/// Drops the slices of `ids` that still wait for a worker.
pub fn cancel(rt: RuntimeStore, ids: &[usize]) {
    if let Ok(pool) = pool(rt) {
        pool.cancel(|tag| ids.contains(&tag));
    }
}
