//! Small wrappers over browser APIs that the rest of the page awaits or calls. Those that the
//! segmentation workers use too work in a window and in a worker alike.

use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, Response};

fn window() -> web_sys::Window {
    web_sys::window().expect("the page runs in a browser window")
}

/// Whether this code runs in the page's window (not in one of its workers).
pub fn in_window() -> bool {
    web_sys::window().is_some()
}

/// `globalThis[key]`: the same call in a window and in a worker.
fn global_get(key: &str) -> JsValue {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// The window's or the worker's `navigator`.
fn navigator() -> JsValue {
    global_get("navigator")
}

/// A JS exception as one line of text for the user.
pub fn describe(err: &JsValue) -> String {
    err.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| err.as_string())
        .unwrap_or_else(|| format!("{err:?}"))
}

/// 128 random bits (a DICOM SEG's new UIDs): four draws of 32 bits.
pub fn random_bits() -> u128 {
    (0..4).fold(0u128, |acc, _| acc << 32 | u128::from((js_sys::Math::random() * 4_294_967_296.0) as u32))
}

/// The wall clock, seconds since 1970 UTC.
pub fn unix_seconds() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// Milliseconds since the page (or worker) started, sub-millisecond where the browser allows.
pub fn now_ms() -> f64 {
    global_get("performance").dyn_into::<web_sys::Performance>().map_or(0.0, |p| p.now())
}

/// The bytes behind `url`, fetched from the page's own origin.
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let global = js_sys::global();
    let request = match global.dyn_ref::<web_sys::WorkerGlobalScope>() {
        Some(worker) => worker.fetch_with_str(url),
        None => window().fetch_with_str(url),
    };
    let response = JsFuture::from(request).await.map_err(|e| describe(&e))?;
    let response: Response = response.unchecked_into();
    if !response.ok() {
        return Err(format!("HTTP {} {}", response.status(), response.status_text()));
    }
    let body = response.array_buffer().map_err(|e| describe(&e))?;
    let buffer = JsFuture::from(body).await.map_err(|e| describe(&e))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// Resolves on a later task, so the page can draw (and take input) between steps of a long
/// piece of main-thread work.
pub async fn next_task() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
    });
    let _ = JsFuture::from(promise).await;
}

/// The contents of a dropped or picked file (read locally; nothing is uploaded).
pub async fn read_blob(blob: &Blob) -> Result<Vec<u8>, String> {
    let buffer = JsFuture::from(blob.array_buffer()).await.map_err(|e| describe(&e))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// Whether the browser exposes WebGPU at all (`navigator.gpu`).
pub fn has_webgpu() -> bool {
    js_sys::Reflect::get(&navigator(), &JsValue::from_str("gpu")).is_ok_and(|gpu| !gpu.is_undefined())
}

/// The browser's WebGPU adapter as `requestAdapter()` describes it, without opening a device.
pub struct AdapterInfo {
    /// "vendor architecture description", e.g. "google swiftshader" (wgpu passes on only the
    /// description, which browsers often leave empty).
    pub label: String,
    /// A software renderer: the browser says it is its fallback adapter, or its name says so.
    pub software: bool,
}

pub async fn webgpu_adapter() -> Option<AdapterInfo> {
    use js_sys::Reflect;
    let gpu = Reflect::get(&navigator(), &"gpu".into()).ok().filter(|g| !g.is_undefined())?;
    let request: js_sys::Function = Reflect::get(&gpu, &"requestAdapter".into()).ok()?.dyn_into().ok()?;
    let adapter = JsFuture::from(request.call0(&gpu).ok()?.dyn_into::<Promise>().ok()?).await.ok()?;
    let info = Reflect::get(&adapter, &"info".into()).ok().filter(|i| i.is_object())?;
    let field = |key: &str| Reflect::get(&info, &key.into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
    let parts: Vec<String> =
        ["vendor", "architecture", "description"].map(field).into_iter().filter(|s| !s.is_empty()).collect();
    let label = parts.join(" ");
    let fallback = [&info, &adapter].iter().any(|o| Reflect::get(o, &"isFallbackAdapter".into()).is_ok_and(|v| v.is_truthy()));
    let lower = label.to_lowercase();
    let named_software = ["swiftshader", "llvmpipe", "softpipe", "software", "basic render"].iter().any(|n| lower.contains(n));
    Some(AdapterInfo { label, software: fallback || named_software })
}

/// Registers the offline cache (`sw.js`). Failure only costs offline use, so it is logged, not shown.
pub fn register_service_worker() {
    let Ok(container) = js_sys::Reflect::get(&window().navigator(), &JsValue::from_str("serviceWorker")) else {
        return;
    };
    if container.is_undefined() {
        return;
    }
    let container: web_sys::ServiceWorkerContainer = container.unchecked_into();
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = JsFuture::from(container.register("sw.js")).await {
            web_sys::console::warn_1(&format!("offline cache unavailable: {}", describe(&e)).into());
        }
    });
}

/// Offers `bytes` to the user as a download named `name`.
pub fn save_file(name: &str, bytes: &[u8], mime: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(|e| describe(&e))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| describe(&e))?;
    let document = window().document().ok_or("no document")?;
    let link: web_sys::HtmlAnchorElement =
        document.create_element("a").map_err(|e| describe(&e))?.unchecked_into();
    link.set_href(&url);
    link.set_download(name);
    link.click();
    // Revoking at once can cancel the download in some browsers; a minute later is safe.
    let revoke = Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 60_000);
    Ok(())
}

/// `navigator.hardwareConcurrency`: logical cores (at least 1).
pub fn cores() -> usize {
    (window().navigator().hardware_concurrency() as usize).max(1)
}

/// `navigator.deviceMemory` in GiB where the browser tells (Chromium: a rough figure, at most 8).
pub fn device_memory_gib() -> Option<f64> {
    js_sys::Reflect::get(&window().navigator(), &"deviceMemory".into()).ok().and_then(|v| v.as_f64())
}

/// The value of `name` in the page's query string (`?device=cpu`).
pub fn query_param(name: &str) -> Option<String> {
    let search = window().location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search).ok()?.get(name)
}

/// Bytes of this instance's WebAssembly memory (it only grows).
pub fn wasm_memory_bytes() -> f64 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .ok()
        .and_then(|m| m.buffer().dyn_into::<js_sys::ArrayBuffer>().ok())
        .map_or(0.0, |b| f64::from(b.byte_length()))
}
