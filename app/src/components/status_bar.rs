//! Model loading progress, then which backend runs the network.

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
        EngineStatus::Ready { backend, gpu } => view! {
            <div class="status ready" role="status" class:cpu=!gpu>
                "Model ready. Backend: "
                <strong data-testid="backend">{backend}</strong>
            </div>
        }
        .into_any(),
        EngineStatus::Failed(e) => view! {
            <div class="status failed" role="alert">
                <strong>"The model could not be loaded: "</strong>
                {e}
            </div>
        }
        .into_any(),
    }
}
