//! What runs inside a segmentation worker: `app/worker.js` calls these two exports, and the
//! worker keeps one [`Engine`] for its life.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use brainseg_core::image_input::decode_slice;
use brainseg_core::postprocess::{mask_from_probabilities, volume_masks};
use image::RgbImage;
use js_sys::{Array, Object};
use wasm_bindgen::prelude::*;

use brainseg_study::Loader;

use super::protocol::{Job, Reply, ScanStudy, Scans, get_f64, set};
use crate::browser;
use crate::inference::{DeviceRequest, Engine};

/// With test hooks on (`?test-hooks` on the page), a file starting with these bytes makes the
/// decoder panic: how the end-to-end test checks that a crashing decoder costs only its file.
const PANIC_MAGIC: &[u8] = b"BRAINSEG-TEST-PANIC";

thread_local! {
    static ENGINE: RefCell<Option<Rc<Engine>>> = const { RefCell::new(None) };
    static TEST_HOOKS: Cell<bool> = const { Cell::new(false) };
    /// The file being read, named in a panic's message.
    static CURRENT_FILE: RefCell<String> = const { RefCell::new(String::new()) };
}

fn reading(path: &str) {
    CURRENT_FILE.with(|f| path.clone_into(&mut f.borrow_mut()));
}

/// Posts a panic's message to the page before the trap ends this worker, so the page can say
/// what went wrong with the file.
fn report_panics() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let payload = info.payload();
        let text = payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned());
        let mut text = text.unwrap_or_else(|| "a panic".into());
        CURRENT_FILE.with(|f| {
            if let Ok(f) = f.try_borrow() {
                if !f.is_empty() {
                    text = format!("{text}, while reading {f}");
                }
            }
        });
        let msg = Object::new();
        set(&msg, "type", "panic");
        set(&msg, "message", text);
        if let Ok(scope) = js_sys::global().dyn_into::<web_sys::DedicatedWorkerGlobalScope>() {
            let _ = scope.post_message(&msg);
        }
    }));
}

/// Opens `device`, loads the model and warms it up (`timed`: see [`Engine::load`]); answers a `ready` message (backend, warm
/// slice time, memory, the model's header as JSON) or a `failed` one with the reason.
#[wasm_bindgen]
pub async fn worker_start(device: String, timed: bool, test_hooks: bool) -> JsValue {
    report_panics();
    TEST_HOOKS.set(test_hooks);
    let msg = Object::new();
    match Engine::load(DeviceRequest::from_name(&device).unwrap_or(DeviceRequest::Cpu), timed).await {
        Ok((engine, warm_ms)) => {
            set(&msg, "type", "ready");
            set(&msg, "backend", engine.backend.to_string());
            set(&msg, "warmMs", warm_ms);
            set(&msg, "memoryBytes", browser::wasm_memory_bytes());
            set(&msg, "meta", serde_json::to_string(engine.meta()).unwrap_or_default());
            ENGINE.with(|e| *e.borrow_mut() = Some(Rc::new(engine)));
        }
        Err(reason) => {
            set(&msg, "type", "failed");
            set(&msg, "reason", reason);
        }
    }
    msg.into()
}

/// Runs one job; answers `[message, buffers to transfer]`.
#[wasm_bindgen]
pub async fn worker_job(msg: JsValue) -> Array {
    let id = get_f64(&msg, "id").unwrap_or(-1.0);
    let (reply, transfer) = Reply::encode(run(&msg).await, id);
    Array::of2(&reply, &transfer)
}

async fn run(msg: &JsValue) -> Result<Reply, String> {
    let engine = ENGINE.with(|e| e.borrow().clone()).ok_or("this worker has no model")?;
    let start = browser::now_ms();
    let size = engine.meta().config.input_size as u32;
    let mut reply = match Job::decode(msg)? {
        Job::Scans(files) => Reply { scans: Some(read_scans(files).await), ..Reply::default() },
        Job::Decode(file) => {
            let (image, notes) = read_image(&file).await?;
            Reply { image: Some(image), notes, ..Reply::default() }
        }
        Job::Segment(file, post) => {
            let (image, notes) = read_image(&file).await?;
            let probs = engine.probabilities(&[&image], 0).await.map_err(model_failed)?;
            let mask = mask_from_probabilities(&probs, size, image.width(), image.height(), &post);
            Reply { image: Some(image), notes, probabilities: Some(probs), mask: Some(mask), ..Reply::default() }
        }
        Job::Stack { images, z, post } => {
            let refs: Vec<&RgbImage> = images.iter().collect();
            let probs = engine.probabilities(&refs, z).await.map_err(model_failed)?;
            let (w, h) = images.get(z).map_or((size, size), |i| i.dimensions());
            let mask = mask_from_probabilities(&probs, size, w, h, &post);
            Reply { probabilities: Some(probs), mask: Some(mask), ..Reply::default() }
        }
        Job::StudyMasks(study) => {
            let masks = volume_masks(&study.probabilities, study.size, &study.dims, &study.post);
            Reply { masks: Some(masks), ..Reply::default() }
        }
    };
    reply.millis = browser::now_ms() - start;
    Ok(reply)
}

fn model_failed(e: String) -> String {
    format!("the model failed on this slice: {e}")
}

async fn read_image(file: &web_sys::File) -> Result<(RgbImage, Vec<String>), String> {
    reading(&file.name());
    let bytes = browser::read_blob(file).await.map_err(|e| format!("cannot read the file: {e}"))?;
    if TEST_HOOKS.get() && bytes.starts_with(PANIC_MAGIC) {
        panic!("test hook: a decoder panic");
    }
    let slice = decode_slice(&bytes).map_err(|e| e.to_string());
    reading("");
    let slice = slice?;
    Ok((slice.image, slice.conversions.iter().map(ToString::to_string).collect()))
}

/// Reads scan files one at a time (so each file's bytes can go before the next is read) into
/// studies.
async fn read_scans(files: Vec<(String, web_sys::File)>) -> Scans {
    let mut loader = Loader::default();
    for (path, file) in files {
        reading(&path);
        match browser::read_blob(&file).await {
            Ok(bytes) => loader.add(&path, &bytes),
            Err(e) => loader.problem(&path, format!("cannot read the file: {e}")),
        }
    }
    reading("");
    let loaded = loader.finish();
    let studies = loaded
        .studies
        .into_iter()
        .map(|study| {
            let (w, h) = (study.width() as u32, study.height() as u32);
            // `rgb_slice` always holds width x height x 3 bytes; the fallback is never used.
            let slices =
                (0..study.slices()).map(|k| RgbImage::from_raw(w, h, study.rgb_slice(k)).unwrap_or_else(|| RgbImage::new(w, h))).collect();
            ScanStudy { label: study.label.clone(), mode: study.mode.to_string(), notes: study.notes.clone(), geometry: study.flair.geometry(), slices }
        })
        .collect();
    Scans { studies, problems: loaded.problems.into_iter().map(|p| (p.file, p.reason)).collect() }
}
