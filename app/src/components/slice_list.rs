//! The strip of every dropped slice, with its state; click one to show it.

use leptos::prelude::*;

use crate::state::{SliceEntry, SliceStatus, use_state};

/// One row: name, then waiting / coverage / the reason it failed.
#[component]
fn SliceRow(entry: SliceEntry) -> impl IntoView {
    let state = use_state();
    let id = entry.id;
    let detail = match &entry.status {
        SliceStatus::Waiting => view! { <span class="pending">"segmenting…"</span> }.into_any(),
        SliceStatus::Failed(e) => view! { <span class="error">{e.clone()}</span> }.into_any(),
        SliceStatus::Cancelled => view! { <span class="pending">"cancelled"</span> }.into_any(),
        SliceStatus::Done(s) => {
            let millis = s.millis;
            let coverage = move || {
                state.summary.with(|sum| sum.coverage_of(id)).map_or(String::new(), |c| format!("{c:.2}% tumor"))
            };
            view! { <span class="coverage">{coverage}</span> <span class="ms">{format!("{millis:.0} ms")}</span> }
                .into_any()
        }
    };
    let failed = matches!(entry.status, SliceStatus::Failed(_));
    view! {
        <li
            class:selected=move || state.selected.get() == Some(id)
            class:failed=failed
            data-testid="slice"
        >
            <button type="button" on:click=move |_| state.selected.set(Some(id))>
                <span class="name">{entry.name.clone()}</span>
                {detail}
            </button>
        </li>
    }
}

#[component]
pub fn SliceList() -> impl IntoView {
    let state = use_state();
    let step = move |delta: isize| {
        let ids: Vec<usize> = state.slices.with(|s| s.iter().map(|e| e.id).collect());
        let at = state.selected.get().and_then(|id| ids.iter().position(|&i| i == id)).unwrap_or(0);
        let next = (at as isize + delta).clamp(0, ids.len() as isize - 1);
        state.selected.set(ids.get(next as usize).copied());
    };
    view! {
        <nav class="slice-list" aria-label="Slices">
            <Show when=move || state.slices.with(|s| s.len() > 1)>
                <div class="stepper">
                    <button type="button" on:click=move |_| step(-1)>"◀ previous"</button>
                    <button type="button" on:click=move |_| step(1)>"next ▶"</button>
                </div>
            </Show>
            <ol>
                <For each=move || state.slices.get() key=|e| e.version() let:entry>
                    <SliceRow entry/>
                </For>
            </ol>
        </nav>
    }
}
