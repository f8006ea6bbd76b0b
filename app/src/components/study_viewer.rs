//! The study viewer (`data-testid="study-viewer"`): the study the reader opened from its panel,
//! in linked axial, coronal and sagittal planes and a 3D view with its mask, the slices that
//! hold tumor, and the tools that correct the mask. Drawing is `crate::study_view`'s (NiiVue);
//! the corrections are the study's own (`StudyEntry::edit`), so its figures and downloads follow.

use std::rc::Rc;

use brainseg_core::postprocess::PostProcess;
use brainseg_pipeline::EditedMask;
use leptos::ev::KeyboardEvent;
use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::viewer_tools::ViewerTools;
use crate::session::{RuntimeStore, measure_edits, use_runtime};
use crate::state::{StudyEntry, use_state};
use crate::study_view::{Layout, Tool, View};

type ViewStore = StoredValue<Option<Rc<View>>, LocalStorage>;

/// The study's current mask, flat in display order, as the viewer's drawing takes it.
fn flat_mask(study: &StudyEntry, post: &PostProcess) -> Option<Vec<u8>> {
    let masks = untrack(|| study.masks(post))?;
    Some(masks.slices().iter().flat_map(|m| m.as_raw().iter().copied()).collect())
}

#[component]
pub fn StudyViewer() -> impl IntoView {
    let state = use_state();
    move || {
        let id = state.viewing.get()?;
        let study = state.studies.with_untracked(|s| s.iter().find(|st| st.id == id).cloned())?;
        Some(view! { <ViewerPanel study/> })
    }
}

#[component]
fn ViewerPanel(study: StudyEntry) -> impl IntoView {
    let (state, rt) = (use_state(), use_runtime());
    let canvas = NodeRef::<Canvas>::new();
    let view: ViewStore = StoredValue::new_local(None);
    // Set once the view is open, so the effects below apply the toolbar's settings to it (each
    // reads it first, so that it runs again then).
    let ready = RwSignal::new(false);
    let status = RwSignal::new(Some("Opening the viewer…".to_string()));
    let at = RwSignal::new(None::<[usize; 3]>);
    let note = RwSignal::new(None::<&'static str>);
    let (tool, pen, outline, opacity, layout) =
        (RwSignal::new(Tool::Navigate), RwSignal::new(3u32), RwSignal::new(false), RwSignal::new(0.5), RwSignal::new(Layout::Planes));
    // The (settings, edit version) of the mask the drawing shows.
    let shown = StoredValue::new((untrack(|| state.set_post()), 0u64));
    let entry = StoredValue::new(study.clone());
    let slices = study.header.slices();

    // A stroke changed the drawing: it becomes the study's corrected mask.
    let stroke = move || {
        let Some(v) = view.get_value() else { return };
        spawn_local(async move {
            let post = untrack(|| state.set_post());
            match v.read_mask().await {
                Ok(mask) => committed(rt, entry.get_value(), shown, post, true, |e| e.replace(&mask)),
                Err(e) => status.set(Some(format!("Could not read the edit: {e}"))),
            }
        });
    };
    let open = move |element: web_sys::HtmlCanvasElement| {
        spawn_local(async move {
            let study = entry.get_value();
            let post = untrack(|| state.set_post());
            let done = state.slices.with_untracked(|s| study.done_slices(s));
            let (Some(done), Some(mask)) = (done, flat_mask(&study, &post)) else {
                return status.set(Some("The study is not segmented yet.".into()));
            };
            let images: Vec<&image::RgbImage> = done.iter().map(|s| &s.image).collect();
            let moved = move |v: [usize; 3]| {
                at.set(Some(v));
                if let Some(view) = view.get_value() {
                    view.set_at(v);
                }
            };
            match View::open(&element, &study.header, &images, &mask, moved, stroke).await {
                Ok(v) => {
                    let v = Rc::new(v);
                    if !v.render_in_planes {
                        note.set(Some("Software graphics: the 3D view of a study this large has its own layout (3D), so scrolling the planes stays fast."));
                    }
                    shown.set_value((post, study.edit_state.with_untracked(|e| e.version)));
                    // Opens on the slice with the most tumor.
                    let largest = untrack(|| study.figures(&post)).and_then(Result::ok).flatten().and_then(|f| f.largest_slice);
                    v.go_to([v.grid.dims[0] / 2, v.grid.dims[1] / 2, largest.map_or(0, |k| k - 1)]);
                    view.set_value(Some(v));
                    ready.set(true);
                    status.set(None);
                }
                Err(e) => status.set(Some(format!("The viewer cannot show this study: {e}"))),
            }
        });
    };
    canvas.on_load(open);

    // The mask changed elsewhere (threshold, undo, "back to the model's mask"): redraw it.
    Effect::new(move |_| {
        let post = state.set_post();
        let study = entry.get_value();
        let version = study.edit_state.with(|e| e.version);
        let masks_ready = study.has_masks(&post);
        let is_ready = ready.get();
        let Some(v) = view.get_value().filter(|_| is_ready) else { return };
        if !masks_ready || shown.get_value() == (post, version) {
            return;
        }
        shown.set_value((post, version));
        if let Some(mask) = flat_mask(&study, &post) {
            spawn_local(async move {
                if let Err(e) = v.load_mask(&mask).await {
                    status.set(Some(e));
                }
            });
        }
    });
    // RANO's diameters follow the figures.
    Effect::new(move |_| {
        let post = state.set_post();
        let figures = entry.with_value(|st| st.figures(&post)).and_then(Result::ok).flatten();
        let is_ready = ready.get();
        if let Some(v) = view.get_value().filter(|_| is_ready) {
            v.show_diameters(figures.as_ref().and_then(|f| f.bidimensional.as_ref()));
        }
    });
    Effect::new(move |_| {
        let (t, p) = (tool.get(), pen.get());
        let is_ready = ready.get();
        if let Some(v) = view.get_value().filter(|_| is_ready) {
            v.set_tool(t, p);
        }
    });
    Effect::new(move |_| {
        let (o, a, l) = (outline.get(), opacity.get(), layout.get());
        let is_ready = ready.get();
        if let Some(v) = view.get_value().filter(|_| is_ready) {
            v.set_mask_style(o, f64::from(a));
            v.set_layout(l);
        }
    });

    // "Not tumor": the click moved the crosshair onto the component to remove.
    let on_click = move |_| {
        if tool.get_untracked() != Tool::NotTumor {
            return;
        }
        let Some(v) = view.get_value() else { return };
        let [x, y, z] = v.at();
        let post = untrack(|| state.set_post());
        committed(rt, entry.get_value(), shown, post, false, move |e| e.remove_component(x, y, z));
    };
    let history = move |undo: bool| {
        let post = untrack(|| state.set_post());
        committed(rt, entry.get_value(), shown, post, false, move |e| usize::from(if undo { e.undo() } else { e.redo() }));
    };
    let on_key = move |ev: KeyboardEvent| {
        let Some(v) = view.get_value() else { return };
        match (ev.key().as_str(), ev.ctrl_key() || ev.meta_key()) {
            ("ArrowUp" | "PageUp", false) => v.scroll(1),
            ("ArrowDown" | "PageDown", false) => v.scroll(-1),
            ("z", true) if !ev.shift_key() => history(true),
            ("y", true) | ("Z", true) => history(false),
            _ => return,
        }
        ev.prevent_default();
    };
    let tumor_slices = Memo::new(move |_| {
        let post = state.set_post();
        entry.with_value(|st| st.masks(&post)).map(|m| m.slices().iter().map(|s| s.as_raw().iter().any(|&v| v != 0)).collect::<Vec<bool>>())
    });
    let go = move |k: usize| {
        if let Some(v) = view.get_value() {
            v.go_to_slice(k);
        }
    };
    let label = study.header.label.clone();
    view! {
        <section class="study-viewer" data-testid="study-viewer" aria-label=format!("Viewer: {label}") tabindex="0" on:keydown=on_key>
            <header>
                <h2>{label.clone()}</h2>
                <span data-testid="viewer-slice">
                    {move || at.get().map_or(String::new(), |[_, _, k]| format!("Slice {} of {slices}", k + 1))}
                </span>
                <button type="button" class="link" data-testid="close-viewer" on:click=move |_| state.viewing.set(None)>"close"</button>
            </header>
            <ViewerTools tool pen outline opacity layout study=study.clone() on_history=history on_zoom=move |f| { if let Some(v) = view.get_value() { v.zoom(f) } } on_window=move || { if let Some(v) = view.get_value() { v.reset_window() } }/>
            {move || status.get().map(|s| view! { <p class="pending" data-testid="viewer-status">{s}</p> })}
            {move || note.get().map(|n| view! { <p class="hint">{n}</p> })}
            <div class="canvas-box" on:click=on_click>
                <canvas node_ref=canvas data-testid="viewer-canvas"></canvas>
            </div>
            <div class="tumor-strip" data-testid="tumor-strip" aria-label="Slices (red: tumor)">
                {move || tumor_slices.get().unwrap_or_default().into_iter().enumerate().map(|(k, tumor)| view! {
                    <button type="button" class="cell" class:tumor=tumor class:current=move || at.get().is_some_and(|v| v[2] == k)
                        title=format!("Slice {}", k + 1) on:click=move |_| go(k)></button>
                }).collect_view()}
            </div>
        </section>
    }
}

/// Applies an edit to the study's mask and has its figures measured in a worker. `drawn`: the
/// viewer shows the result already (a stroke); otherwise its effect redraws the mask.
fn committed(
    rt: RuntimeStore,
    study: StudyEntry,
    shown: StoredValue<(PostProcess, u64)>,
    post: PostProcess,
    drawn: bool,
    f: impl FnOnce(&mut EditedMask) -> usize,
) {
    let Some(changed) = study.edit(&post, f) else { return };
    if changed == 0 {
        return;
    }
    if drawn {
        shown.set_value((post, study.edit_state.with_untracked(|e| e.version)));
    }
    measure_edits(rt, study, post);
}
