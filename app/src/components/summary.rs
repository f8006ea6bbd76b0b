//! Figures for the whole set of slices, and the download of every mask.

use leptos::prelude::*;

use crate::downloads;
use crate::session::{cancel, use_runtime};
use crate::state::{SliceStatus, use_state};

#[component]
pub fn Summary() -> impl IntoView {
    let (state, rt) = (use_state(), use_runtime());
    let summary = state.summary;
    let cancel_all = move |_| {
        let waiting: Vec<usize> =
            state.slices.with_untracked(|s| s.iter().filter(|e| matches!(e.status, SliceStatus::Waiting)).map(|e| e.id).collect());
        cancel(rt, &waiting);
    };
    let save_all = move |_| {
        let post = state.set_post();
        let masks: Vec<_> = state.slices.with_untracked(|s| {
            s.iter().filter_map(|e| e.segmented().map(|seg| (e.name.clone(), seg.mask(&post)))).collect()
        });
        if let Err(e) = downloads::save_all_masks(&masks) {
            let _ = web_sys::window().map(|w| w.alert_with_message(&format!("Download failed: {e}")));
        }
    };
    view! {
        <section class="summary" aria-label="All slices">
            <h2>"All slices"</h2>
            <dl class="figures">
                <dt>"Segmented"</dt>
                <dd data-testid="done-count">{move || summary.with(|s| s.per_slice.len())}</dd>
                <dt>"Waiting"</dt>
                <dd data-testid="waiting-count">{move || summary.with(|s| s.waiting)}</dd>
                <Show when=move || summary.with(|s| s.cancelled > 0)>
                    <dt>"Cancelled"</dt>
                    <dd data-testid="cancelled-count">{move || summary.with(|s| s.cancelled)}</dd>
                </Show>
                <dt>"Unreadable"</dt>
                <dd data-testid="failed-count">{move || summary.with(|s| s.failed)}</dd>
                <dt>"Tumor coverage"</dt>
                <dd data-testid="set-coverage">
                    {move || summary.with(|s| s.total_percent.map_or("–".into(), |c| format!("{c:.2}%")))}
                </dd>
                <dt>"Mean time per slice"</dt>
                <dd>{move || summary.with(|s| s.mean_millis.map_or("–".into(), |m| format!("{m:.0} ms")))}</dd>
            </dl>
            <button
                type="button"
                data-testid="save-all"
                disabled=move || summary.with(|s| s.per_slice.is_empty())
                on:click=save_all
            >
                "Download all masks (zip)"
            </button>
            <Show when=move || summary.with(|s| s.waiting > 0)>
                <button type="button" data-testid="cancel-all" on:click=cancel_all>"Cancel waiting slices"</button>
            </Show>
        </section>
    }
}
