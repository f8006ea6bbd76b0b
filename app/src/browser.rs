//! Small wrappers over browser APIs that the rest of the page awaits or calls.

use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, Response};

fn window() -> web_sys::Window {
    web_sys::window().expect("the page runs in a browser window")
}

/// A JS exception as one line of text for the user.
pub fn describe(err: &JsValue) -> String {
    err.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| err.as_string())
        .unwrap_or_else(|| format!("{err:?}"))
}

/// Lets the browser paint and handle input before the next slice: without it a long queue
/// would freeze the page until the last slice is done.
pub async fn yield_now() {
    let tick = Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback(&resolve);
    });
    let _ = JsFuture::from(tick).await;
}

/// Milliseconds since the page started (sub-millisecond resolution where the browser allows).
/// 128 random bits (a DICOM SEG's new UIDs): four draws of 32 bits.
pub fn random_bits() -> u128 {
    (0..4).fold(0u128, |acc, _| acc << 32 | u128::from((js_sys::Math::random() * 4_294_967_296.0) as u32))
}

/// The wall clock, seconds since 1970 UTC.
pub fn unix_seconds() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

pub fn now_ms() -> f64 {
    window().performance().map_or(0.0, |p| p.now())
}

/// The bytes behind `url`, fetched from the page's own origin.
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let response = JsFuture::from(window().fetch_with_str(url)).await.map_err(|e| describe(&e))?;
    let response: Response = response.unchecked_into();
    if !response.ok() {
        return Err(format!("HTTP {} {}", response.status(), response.status_text()));
    }
    let body = response.array_buffer().map_err(|e| describe(&e))?;
    let buffer = JsFuture::from(body).await.map_err(|e| describe(&e))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// The contents of a dropped or picked file (read locally; nothing is uploaded).
pub async fn read_blob(blob: &Blob) -> Result<Vec<u8>, String> {
    let buffer = JsFuture::from(blob.array_buffer()).await.map_err(|e| describe(&e))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// Whether the browser exposes WebGPU at all (`navigator.gpu`).
pub fn has_webgpu() -> bool {
    js_sys::Reflect::get(&window().navigator(), &JsValue::from_str("gpu")).is_ok_and(|gpu| !gpu.is_undefined())
}

/// "vendor architecture description" of the browser's WebGPU adapter, e.g. "google swiftshader".
/// wgpu passes on only the description, which browsers often leave empty.
pub async fn webgpu_adapter_label() -> Option<String> {
    use js_sys::Reflect;
    let gpu = Reflect::get(&window().navigator(), &"gpu".into()).ok()?;
    let request: js_sys::Function = Reflect::get(&gpu, &"requestAdapter".into()).ok()?.dyn_into().ok()?;
    let adapter = JsFuture::from(request.call0(&gpu).ok()?.dyn_into::<Promise>().ok()?).await.ok()?;
    let info = Reflect::get(&adapter, &"info".into()).ok().filter(|i| i.is_object())?;
    let field = |key: &str| Reflect::get(&info, &key.into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
    let parts: Vec<String> =
        ["vendor", "architecture", "description"].map(field).into_iter().filter(|s| !s.is_empty()).collect();
    (!parts.is_empty()).then(|| parts.join(" "))
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
