//! The selected slice with its tumor overlay, its figures and its downloads.

use std::sync::Arc;

use brainseg_core::postprocess::{PostProcess, coverage_percent, overlay};
use image::{GrayImage, RgbImage};
use leptos::html::Canvas;
use leptos::prelude::*;
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

use crate::downloads;
use crate::state::{Segmented, SliceStatus, use_state};

/// What the viewer shows: the selected slice, the live settings, its study's mask if made.
#[derive(Clone)]
struct Source {
    name: String,
    slice: Arc<Segmented>,
    post: PostProcess,
    study_mask: Option<Arc<GrayImage>>,
}

impl PartialEq for Source {
    fn eq(&self, other: &Self) -> bool {
        // Study masks are compared by content: the study's worker result is made once per
        // setting, and a 256x256 comparison costs far less than redrawing.
        self.name == other.name && Arc::ptr_eq(&self.slice, &other.slice) && self.post == other.post && self.study_mask == other.study_mask
    }
}

/// The selected slice's mask at the live threshold.
#[derive(Clone)]
struct Shown {
    name: String,
    slice: Arc<Segmented>,
    mask: Arc<GrayImage>,
    coverage: f64,
}

fn draw(canvas: &HtmlCanvasElement, image: &RgbImage) -> Result<(), wasm_bindgen::JsValue> {
    let (w, h) = image.dimensions();
    let rgba: Vec<u8> = image.pixels().flat_map(|p| [p.0[0], p.0[1], p.0[2], 255]).collect();
    let data = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&rgba), w, h)?;
    canvas.set_width(w);
    canvas.set_height(h);
    let ctx: CanvasRenderingContext2d = canvas.get_context("2d")?.ok_or("no 2d context")?.unchecked_into();
    ctx.put_image_data(&data, 0.0, 0.0)
}

/// Runs a download and shows why it failed, if it did.
fn report(result: Result<(), String>) {
    if let Err(e) = result {
        let _ = web_sys::window().map(|w| w.alert_with_message(&format!("Download failed: {e}")));
    }
}

#[component]
pub fn Viewer() -> impl IntoView {
    let state = use_state();
    let canvas = NodeRef::<Canvas>::new();
    // What the picture depends on, compared by identity: other slices finishing change the
    // slice list, and must not make the shown mask again.
    let source = Memo::new(move |_| {
        let entry = state.selected_entry()?;
        let slice = entry.segmented()?.clone();
        let post = state.post();
        // A slice of a complete study shows the study's mask (3D step included) once a worker
        // has made it; until then, and while the slider moves, the slice's own.
        let study_mask = state.study_of(entry.id).and_then(|st| st.slice_mask(entry.id, &post)).map(Arc::new);
        Some(Source { name: entry.name, slice, post, study_mask })
    });
    // Re-thresholding reuses the stored probabilities: the network does not run again.
    let shown = Memo::new_with_compare(
        move |_| {
            let Source { name, slice, post, study_mask } = source.get()?;
            let mask = study_mask.unwrap_or_else(|| Arc::new(slice.mask(&post)));
            Some(Shown { name, coverage: coverage_percent(&mask), slice, mask })
        },
        |_, _| true,
    );
    Effect::new(move |_| {
        let opacity = state.opacity.get();
        let (Some(el), Some(s)) = (canvas.get(), shown.get()) else { return };
        if let Err(e) = draw(&el, &overlay(&s.slice.image, &s.mask, opacity)) {
            web_sys::console::error_1(&e);
        }
    });
    let save_mask = move |_| {
        if let Some(s) = shown.get_untracked() {
            report(downloads::save_mask(&s.name, &s.mask));
        }
    };
    let save_overlay = move |_| {
        if let Some(s) = shown.get_untracked() {
            let image = overlay(&s.slice.image, &s.mask, state.opacity.get_untracked());
            report(downloads::save_overlay(&s.name, &image));
        }
    };
    let message = move || match state.selected_entry().map(|e| e.status) {
        None => Some("Drop slices above, or try the example.".to_string()),
        Some(SliceStatus::Waiting) => Some("Segmenting…".to_string()),
        Some(SliceStatus::Failed(e)) => Some(format!("This file cannot be used: {e}")),
        Some(SliceStatus::Cancelled) => Some("Cancelled before it was segmented.".to_string()),
        Some(SliceStatus::Done(_)) => None,
    };

    view! {
        <section class="viewer" aria-label="Selected slice">
            <p class="message" class:error=move || matches!(state.selected_entry().map(|e| e.status), Some(SliceStatus::Failed(_)))>
                {message}
            </p>
            <canvas node_ref=canvas class:hidden=move || shown.with(Option::is_none) data-testid="overlay"></canvas>
            {move || shown.get().map(|s| view! {
                <dl class="figures">
                    <dt>"Slice"</dt><dd>{s.name.clone()}</dd>
                    <dt>"Size"</dt><dd>{format!("{} × {} px", s.slice.image.width(), s.slice.image.height())}</dd>
                    <dt>"Tumor coverage"</dt><dd data-testid="coverage">{format!("{:.2}%", s.coverage)}</dd>
                    <dt>"Inference time"</dt><dd data-testid="millis">{format!("{:.0} ms", s.slice.millis)}</dd>
                </dl>
                <ul class="notes">
                    {s.slice.notes.iter().map(|n| view! { <li>"Note: "{n.clone()}</li> }).collect_view()}
                </ul>
                <div class="buttons">
                    <button type="button" on:click=save_mask data-testid="save-mask">"Download mask (PNG)"</button>
                    <button type="button" on:click=save_overlay data-testid="save-overlay">"Download overlay (PNG)"</button>
                </div>
            })}
        </section>
    }
}
