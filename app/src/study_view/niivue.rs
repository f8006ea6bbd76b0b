//! The calls into NiiVue (`window.niivue`, its self-contained UMD bundle) the study viewer
//! makes. The bundle is fetched from the page's own origin the first time a study is viewed
//! ([`load`]); nothing here runs in the workers.

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::browser::describe;

/// Copied into `dist/` by trunk (index.html), cached by the service worker (app/sw.js).
pub const SCRIPT: &str = "niivue.umd.js";

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = niivue)]
    pub type Niivue;

    #[wasm_bindgen(constructor, js_namespace = niivue)]
    pub fn new(options: &JsValue) -> Niivue;

    #[wasm_bindgen(method, js_name = attachToCanvas)]
    pub fn attach_to_canvas(this: &Niivue, canvas: &web_sys::HtmlCanvasElement) -> Promise;

    #[wasm_bindgen(method, js_name = addVolume)]
    pub fn add_volume(this: &Niivue, image: &JsValue);

    #[wasm_bindgen(method, js_name = setSliceType)]
    pub fn set_slice_type(this: &Niivue, kind: f64);

    #[wasm_bindgen(method, js_name = setMouseEventConfig)]
    pub fn set_mouse_event_config(this: &Niivue, config: &JsValue);

    #[wasm_bindgen(method, js_name = setDrawingEnabled)]
    pub fn set_drawing_enabled(this: &Niivue, on: bool);

    #[wasm_bindgen(method, js_name = setPenValue)]
    pub fn set_pen_value(this: &Niivue, value: f64, filled: bool);

    #[wasm_bindgen(method, js_name = setDrawOpacity)]
    pub fn set_draw_opacity(this: &Niivue, opacity: f64);

    #[wasm_bindgen(method, js_name = createEmptyDrawing)]
    pub fn create_empty_drawing(this: &Niivue);

    #[wasm_bindgen(method, js_name = loadDrawing)]
    pub fn load_drawing(this: &Niivue, image: &JsValue) -> bool;

    #[wasm_bindgen(method, js_name = saveImage)]
    pub fn save_image(this: &Niivue, options: &JsValue) -> Promise;

    #[wasm_bindgen(method, js_name = updateGLVolume)]
    pub fn update_gl_volume(this: &Niivue);

    #[wasm_bindgen(method, js_name = drawScene)]
    pub fn draw_scene(this: &Niivue);

    #[wasm_bindgen(method, js_name = moveCrosshairInVox)]
    pub fn move_crosshair_in_vox(this: &Niivue, dx: f64, dy: f64, dz: f64);

    #[wasm_bindgen(method, js_name = frac2mm)]
    pub fn frac2mm(this: &Niivue, frac: &JsValue) -> JsValue;

    #[wasm_bindgen(method, js_name = mm2frac)]
    pub fn mm2frac(this: &Niivue, mm: &JsValue) -> JsValue;

    #[wasm_bindgen(method, js_name = createOnLocationChange)]
    pub fn create_on_location_change(this: &Niivue);

    #[wasm_bindgen(method, js_name = setPan2Dxyzmm)]
    pub fn set_pan_2d_xyzmm(this: &Niivue, xyzmm: &JsValue);

    #[wasm_bindgen(method, js_name = clearMeasurements)]
    pub fn clear_measurements(this: &Niivue);

    #[wasm_bindgen(method, js_name = setRenderAzimuthElevation)]
    pub fn set_render_azimuth_elevation(this: &Niivue, azimuth: f64, elevation: f64);

    #[wasm_bindgen(js_namespace = ["niivue", "NVImage"], js_name = new)]
    fn nvimage_new(buffer: &JsValue, name: &str, colormap: &str, opacity: f64) -> Promise;
}

/// `window.niivue`, once its script has run: fetched from the page's origin on first use.
pub async fn load() -> Result<(), String> {
    let global = js_sys::global();
    if Reflect::get(&global, &"niivue".into()).is_ok_and(|n| n.is_object()) {
        return Ok(());
    }
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let script = document.create_element("script").map_err(|e| describe(&e))?;
    script.set_attribute("src", SCRIPT).map_err(|e| describe(&e))?;
    let loaded = Promise::new(&mut |resolve, reject| {
        let _ = Reflect::set(&script, &"onload".into(), &resolve);
        let _ = Reflect::set(&script, &"onerror".into(), &reject);
    });
    document.head().ok_or("no <head>")?.append_child(&script).map_err(|e| describe(&e))?;
    JsFuture::from(loaded).await.map_err(|_| format!("the viewer ({SCRIPT}) could not be loaded"))?;
    Ok(())
}

/// `niivue.<group>.<name>` (the bundle's enums: `SLICE_TYPE.MULTIPLANAR`, `DRAG_MODE.pan`, ...).
pub fn constant(group: &str, name: &str) -> f64 {
    let g = Reflect::get(&js_sys::global(), &"niivue".into()).and_then(|n| Reflect::get(&n, &group.into()));
    g.and_then(|g| Reflect::get(&g, &name.into())).ok().and_then(|v| v.as_f64()).unwrap_or(0.0)
}

/// An image made from a NIfTI file in memory (`name` ends in `.nii`).
pub async fn image(nifti: &[u8], name: &str, colormap: &str, opacity: f64) -> Result<JsValue, String> {
    let buffer = Uint8Array::from(nifti).buffer();
    JsFuture::from(nvimage_new(&buffer, name, colormap, opacity)).await.map_err(|e| describe(&e))
}

/// The WebGL renderer's name behind the viewer (`UNMASKED_RENDERER_WEBGL`), where the browser
/// tells it.
pub fn renderer(nv: &Niivue) -> Option<String> {
    let gl = get(nv, &["gl"]);
    let call = |target: &JsValue, name: &str, arg: &JsValue| -> Option<JsValue> {
        let f: Function = get(target, &[name]).dyn_into().ok()?;
        f.call1(target, arg).ok()
    };
    let info = call(&gl, "getExtension", &"WEBGL_debug_renderer_info".into()).filter(|e| e.is_object())?;
    let which = get(&info, &["UNMASKED_RENDERER_WEBGL"]);
    call(&gl, "getParameter", &which)?.as_string()
}

/// A plain object from `(key, value)` pairs.
pub fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&o, &(*k).into(), v);
    }
    o.into()
}

pub fn set(target: &JsValue, path: &[&str], value: &JsValue) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut o = target.clone();
    for p in parents {
        o = Reflect::get(&o, &(*p).into()).unwrap_or(JsValue::UNDEFINED);
    }
    let _ = Reflect::set(&o, &(*last).into(), value);
}

pub fn get(target: &JsValue, path: &[&str]) -> JsValue {
    path.iter().fold(target.clone(), |o, p| Reflect::get(&o, &(*p).into()).unwrap_or(JsValue::UNDEFINED))
}

/// The numbers of a JS array (or typed array) value.
pub fn numbers(value: &JsValue) -> Vec<f64> {
    Array::from(value).iter().filter_map(|v| v.as_f64()).collect()
}

pub fn array(values: &[f64]) -> JsValue {
    values.iter().map(|&v| JsValue::from(v)).collect::<Array>().into()
}

/// Calls `f` whenever NiiVue calls the callback property `name` (`onLocationChange`, ...).
pub fn on(nv: &Niivue, name: &str, f: Closure<dyn FnMut(JsValue)>) -> Closure<dyn FnMut(JsValue)> {
    let _ = Reflect::set(nv, &name.into(), f.as_ref().unchecked_ref::<Function>());
    f
}
