//! What runs inside a segmentation worker: `app/worker.js` calls these two exports, and the
//! worker keeps one [`Engine`] for its life. Each request is one step of the per-study pipeline
//! (`brainseg_pipeline`): read files into studies, infer one slice, assemble a study, export it.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use brainseg_core::postprocess::mask_from_probabilities;
use brainseg_pipeline::intake::HEAD_LEN;
use brainseg_pipeline::{Reader, classify, exports};
use brainseg_study::dicom::seg::SegInfo;
use brainseg_study::numbered;
use image::RgbImage;
use js_sys::{Array, Object};
use wasm_bindgen::prelude::*;

use super::protocol::{
    Assemble, AssembleReply, Export, ExportFormat, ExportReply, Infer, InferReply, Measure, MeasureReply, Read, ReadReply, ReadStudy, Request,
};
use super::wire::{Bytes, Floats, JsPixels, Pixels, get_f64, pack, set, unpack};
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
        let msg = Object::new();
        CURRENT_FILE.with(|f| {
            if let Ok(f) = f.try_borrow() {
                if !f.is_empty() {
                    text = format!("{text}, while reading {f}");
                    set(&msg, "file", f.clone());
                }
            }
        });
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

/// Runs one request; answers `[message, buffers to transfer]`, the message carrying the reply
/// of the request's own type (or why it failed).
#[wasm_bindgen]
pub async fn worker_job(msg: JsValue) -> Array {
    let id = get_f64(&msg, "id").unwrap_or(-1.0);
    let packed = match unpack::<Request>(&msg) {
        Err(e) => pack(&Err::<(), _>(e)),
        Ok(Request::Read(r)) => pack(&read(r).await),
        Ok(Request::Infer(r)) => pack(&infer(r).await),
        Ok(Request::Assemble(r)) => pack(&assemble(r)),
        Ok(Request::Measure(r)) => pack(&measure(r)),
        Ok(Request::Export(r)) => pack(&export(r)),
    };
    let (reply, transfer) = packed.unwrap_or_else(|e| {
        let reply = Object::new();
        set(&reply, "error", e);
        (reply, Array::new())
    });
    set(&reply, "type", "done");
    set(&reply, "id", id);
    Array::of2(&reply, &transfer)
}

fn engine() -> Result<Rc<Engine>, String> {
    ENGINE.with(|e| e.borrow().clone()).ok_or_else(|| "this worker has no model".to_string())
}

/// Reads the files one at a time (each file's bytes go before the next is read) into studies.
/// A file found in a folder whose name says neither image nor scan is only opened at its head.
async fn read(job: Read) -> Result<ReadReply, String> {
    let mut reader = Reader::default();
    for f in job.files {
        reading(&f.path);
        if !f.named && !numbered::is_image_name(&f.path) {
            let head = f.file.0.slice_with_i32_and_i32(0, HEAD_LEN as i32).map_err(|e| browser::describe(&e));
            let head = match head {
                Ok(blob) => browser::read_blob(&blob).await,
                Err(e) => Err(e),
            };
            if head.is_ok_and(|h| classify(&f.path, &h).is_none()) {
                continue;
            }
        }
        match browser::read_blob(&f.file.0).await {
            Ok(bytes) => {
                if TEST_HOOKS.get() && bytes.starts_with(PANIC_MAGIC) {
                    panic!("test hook: a decoder panic");
                }
                reader.add(&f.path, &bytes, f.named);
            }
            Err(e) => reader.problem(&f.path, format!("cannot read the file: {e}")),
        }
    }
    reading("");
    let intake = reader.finish();
    let studies = intake
        .studies
        .into_iter()
        .map(|s| ReadStudy { slices: s.slices.iter().map(JsPixels::rgb).collect(), header: s.header })
        .collect();
    Ok(ReadReply { studies, problems: intake.problems.into_iter().map(|p| (p.file, p.reason)).collect() })
}

async fn infer(job: Infer) -> Result<InferReply, String> {
    let engine = engine()?;
    let start = browser::now_ms();
    let size = engine.meta().config.input_size as u32;
    let images = job.stack.images();
    let refs: Vec<&RgbImage> = images.iter().collect();
    let probabilities = engine.probabilities(&refs, job.z).await.map_err(|e| format!("the model failed on this slice: {e}"))?;
    let (w, h) = images.get(job.z).map_or((size, size), RgbImage::dimensions);
    let mask = mask_from_probabilities(&probabilities, size, w, h, &job.post);
    Ok(InferReply { probabilities: Floats(probabilities), mask: Pixels::gray(&mask), millis: browser::now_ms() - start })
}

fn assemble(job: Assemble) -> Result<AssembleReply, String> {
    let size = engine()?.meta().config.input_size as u32;
    let probabilities: Vec<Vec<f32>> = job.probabilities.into_iter().map(|f| f.0).collect();
    let result = brainseg_pipeline::assemble(&job.header, &probabilities, size, &job.post).map_err(|e| e.to_string())?;
    Ok(AssembleReply { masks: result.masks.iter().map(Pixels::gray).collect(), summary: result.summary })
}

fn measure(job: Measure) -> Result<MeasureReply, String> {
    let masks = Pixels::into_grays(job.masks)?;
    Ok(MeasureReply { summary: brainseg_pipeline::measure(&job.header, &masks) })
}

fn export(job: Export) -> Result<ExportReply, String> {
    let masks = Pixels::into_grays(job.masks)?;
    let bytes = match job.format {
        ExportFormat::Nifti => exports::nifti(&job.header, &masks).map_err(|e| e.to_string())?,
        ExportFormat::Seg { model_sha256, uid_seed, unix_seconds, edited } => {
            let uid_seed = uid_seed.parse().map_err(|_| "a DICOM SEG's UID seed is not a number")?;
            let info = SegInfo { model_sha256: &model_sha256, software_version: env!("CARGO_PKG_VERSION"), uid_seed, unix_seconds, edited };
            exports::dicom_seg(&job.header, &masks, &info)
                .map_err(|e| e.to_string())?
                .ok_or("no tumor found: a DICOM SEG needs at least one frame")?
        }
        ExportFormat::Pngs => {
            let named = masks.into_iter().enumerate().map(|(k, m)| (format!("slice_{:03}.png", k + 1), m)).collect::<Vec<_>>();
            crate::downloads::zip_masks(&named)?
        }
    };
    Ok(ExportReply { bytes: Bytes(bytes) })
}
