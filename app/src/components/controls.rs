//! Opacity and threshold sliders. Neither re-runs the network.

use leptos::prelude::*;

use crate::state::use_state;

/// A labelled 0..1 slider; `on_commit` runs when the user lets go.
#[component]
fn Slider(
    label: &'static str,
    value: RwSignal<f32>,
    #[prop(optional)] on_commit: Option<Callback<f32>>,
    test_id: &'static str,
) -> impl IntoView {
    let parse = |ev| event_target_value(&ev).parse::<f32>().ok();
    view! {
        <label class="slider">
            <span>{label}": "<output>{move || format!("{:.2}", value.get())}</output></span>
            <input
                type="range" min="0.01" max="0.99" step="0.01"
                data-testid=test_id
                prop:value=move || value.get().to_string()
                on:input=move |ev| if let Some(v) = parse(ev) { value.set(v) }
                on:change=move |ev| if let (Some(v), Some(f)) = (parse(ev), on_commit) { f.run(v) }
            />
        </label>
    }
}

#[component]
pub fn Controls() -> impl IntoView {
    let state = use_state();
    let commit = Callback::new(move |v: f32| state.set_threshold.set(v));
    view! {
        <section class="controls" aria-label="Display">
            <Slider label="Overlay opacity" value=state.opacity test_id="opacity"/>
            <Slider label="Tumor threshold" value=state.threshold on_commit=commit test_id="threshold"/>
            <p class="hint">
                "Pixels whose tumor probability reaches the threshold are marked. "
                "Lower finds more, with more false alarms."
            </p>
        </section>
    }
}
