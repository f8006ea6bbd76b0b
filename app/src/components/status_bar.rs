//! Model loading progress, then which backend runs the network, why, and on how many workers.

use leptos::prelude::*;

use crate::state::{EngineStatus, use_state};

#[component]
pub fn StatusBar() -> impl IntoView {
    let state = use_state();
    move || match state.engine.get() {
        EngineStatus::Loading(step) => view! {
            <div class="status loading" role="status" aria-live="polite">
                <progress></progress>
                <span>{step}</span>
            </div>
        }
        .into_any(),
        EngineStatus::Ready { backend, gpu, why, planned_workers, per_worker_mb } => {
            let workers = move || {
                let ready = state.workers.get();
                let word = if planned_workers == 1 { "worker" } else { "workers" };
                let starting = if ready < planned_workers { format!(" ({ready} ready)") } else { String::new() };
                format!("{planned_workers} {word}{starting}, ~{per_worker_mb:.0} MB each")
            };
            let why = (!why.is_empty()).then(|| view! { " — " <span data-testid="backend-why">{why}</span> });
            view! {
                <div class="status ready" role="status" class:cpu=!gpu>
                    "Model ready. Backend: "
                    <strong data-testid="backend">{backend}</strong>
                    ", "
                    <span data-testid="workers">{workers}</span>
                    {why}
                </div>
            }
            .into_any()
        }
        EngineStatus::Failed(e) => view! {
            <div class="status failed" role="alert">
                <strong>"The model could not be loaded: "</strong>
                {e}
            </div>
        }
        .into_any(),
    }
}
