//! The study viewer's toolbar: what the left button does (navigate, brush, eraser, fill, "not
//! tumor"), the brush size, undo and redo, how the mask is drawn, the layout, zoom and the
//! intensity window.

use leptos::prelude::*;

use crate::state::StudyEntry;
use crate::study_view::{Layout, Tool};

const TOOLS: [(Tool, &str, &str); 5] = [
    (Tool::Navigate, "Navigate", "Click: move the crosshair. Right-drag: window/level. Middle-drag: pan. Wheel or arrow keys: slices."),
    (Tool::Brush, "Brush", "Paint tumor"),
    (Tool::Eraser, "Eraser", "Erase tumor"),
    (Tool::Fill, "Fill", "Draw a closed outline: it is filled as tumor"),
    (Tool::NotTumor, "Not tumor", "Click a region: its whole connected 3D component is removed"),
];

const LAYOUTS: [(Layout, &str); 5] =
    [(Layout::Planes, "3 planes + 3D"), (Layout::Axial, "Axial"), (Layout::Coronal, "Coronal"), (Layout::Sagittal, "Sagittal"), (Layout::Render, "3D")];

#[component]
pub fn ViewerTools(
    tool: RwSignal<Tool>,
    pen: RwSignal<u32>,
    outline: RwSignal<bool>,
    opacity: RwSignal<f32>,
    layout: RwSignal<Layout>,
    study: StudyEntry,
    on_history: impl Fn(bool) + Copy + Send + Sync + 'static,
    on_zoom: impl Fn(f64) + Copy + Send + Sync + 'static,
    on_window: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let edits = study.edit_state.clone();
    let (can_undo, can_redo) = (edits.clone(), edits);
    // `Not tumor` -> `not-tumor`, `3 planes + 3D` -> `3-planes-3d`: test ids.
    let slug = |name: &str| name.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join("-");
    view! {
        <div class="viewer-tools" role="toolbar" aria-label="Viewer tools">
            <span class="group">
                {TOOLS.iter().map(|&(t, name, hint)| view! {
                    <button type="button" class:active=move || tool.get() == t title=hint
                        data-testid=format!("tool-{}", slug(name)) on:click=move |_| tool.set(t)>{name}</button>
                }).collect_view()}
                <label title="Brush size in voxels">
                    "Size "
                    <input type="range" min="1" max="12" prop:value=move || pen.get().to_string()
                        on:input=move |ev| pen.set(event_target_value(&ev).parse().unwrap_or(3))/>
                </label>
                <button type="button" data-testid="undo" title="Undo (Ctrl+Z)" disabled=move || !can_undo.with(|e| e.can_undo)
                    on:click=move |_| on_history(true)>"Undo"</button>
                <button type="button" data-testid="redo" title="Redo (Ctrl+Y)" disabled=move || !can_redo.with(|e| e.can_redo)
                    on:click=move |_| on_history(false)>"Redo"</button>
            </span>
            <span class="group">
                <label>
                    <input type="checkbox" data-testid="mask-outline" prop:checked=move || outline.get()
                        on:change=move |ev| outline.set(event_target_checked(&ev))/>
                    " Outline"
                </label>
                <label>
                    "Opacity "
                    <input type="range" min="0.1" max="1" step="0.05" prop:value=move || opacity.get().to_string()
                        on:input=move |ev| opacity.set(event_target_value(&ev).parse().unwrap_or(0.5))/>
                </label>
            </span>
            <span class="group">
                {LAYOUTS.iter().map(|&(l, name)| view! {
                    <button type="button" class:active=move || layout.get() == l data-testid=format!("layout-{}", slug(name))
                        on:click=move |_| layout.set(l)>{name}</button>
                }).collect_view()}
                <button type="button" title="Zoom in" on:click=move |_| on_zoom(1.25)>"+"</button>
                <button type="button" title="Zoom out" on:click=move |_| on_zoom(0.8)>"−"</button>
                <button type="button" title="Reset zoom and pan" on:click=move |_| on_zoom(1.0)>"Fit"</button>
                <button type="button" title="Reset window/level" on:click=move |_| on_window()>"W/L"</button>
            </span>
        </div>
    }
}
