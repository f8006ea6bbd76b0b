//! Where slices come in: drag and drop (files or whole folders), file dialogs, or an example.

use brainseg_core::synthetic::phantom;
use leptos::ev::{DragEvent, Event};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;

use crate::files;
use crate::session::{add_files, add_image, use_runtime};
use crate::state::use_state;

/// Accepted by the file dialog; other files can still be dropped and get a message.
const ACCEPT: &str =
    ".png,.jpg,.jpeg,.tif,.tiff,.webp,image/png,image/jpeg,image/tiff,image/webp,.dcm,application/dicom,.nii,.gz,.zip,application/zip";

#[component]
pub fn DropZone() -> impl IntoView {
    let (state, rt) = (use_state(), use_runtime());
    let hovering = RwSignal::new(false);
    // A file dropped beside the zone would make the browser leave the page to show it.
    let _ = window_event_listener(leptos::ev::dragover, |ev| ev.prevent_default());
    let _ = window_event_listener(leptos::ev::drop, |ev| ev.prevent_default());
    let add = move |picked| add_files(state, rt, picked);

    let on_drop = move |ev: DragEvent| {
        ev.prevent_default();
        hovering.set(false);
        let Some(transfer) = ev.data_transfer() else { return };
        let sources = files::sources_from_drop(&transfer);
        spawn_local(async move { add(files::collect(sources).await) });
    };
    let on_pick = move |ev: Event| {
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) else { return };
        if let Some(list) = input.files() {
            let mut picked = files::from_file_list(&list);
            files::sort(&mut picked);
            add(picked);
        }
        // Choosing the same file again must fire `change` again.
        input.set_value("");
    };
    let example_seed = StoredValue::new(0u64);
    let on_example = move |_| {
        example_seed.update_value(|s| *s += 1);
        let seed = example_seed.get_value();
        add_image(state, rt, format!("example-{seed}.png"), phantom(256, 256, seed, true).image);
    };

    view! {
        <section
            class="drop-zone"
            class:hovering=move || hovering.get()
            data-testid="drop-zone"
            on:dragover=move |ev: DragEvent| {
                ev.prevent_default();
                hovering.set(true);
            }
            on:dragleave=move |_| hovering.set(false)
            on:drop=on_drop
        >
            <p>"Drop MRI slices, DICOM series, NIfTI volumes or a folder here"</p>
            <p class="hint">
                "Slices: PNG, JPEG, TIFF 8/16-bit, WebP. DICOM: uncompressed, deflated, RLE, JPEG, JPEG-LS, JPEG 2000, or a study's .zip. "
                "NIfTI-1: .nii, .nii.gz."
            </p>
            <div class="buttons">
                <label class="button">
                    "Choose files…"
                    <input type="file" multiple accept=ACCEPT data-testid="file-input" on:change=on_pick/>
                </label>
                <label class="button">
                    "Choose a folder…"
                    <input type="file" prop:webkitdirectory=true data-testid="folder-input" on:change=on_pick/>
                </label>
                <button type="button" on:click=on_example data-testid="example">
                    "Try an example"
                </button>
            </div>
            <p class="hint">"The example is a synthetic phantom made in the page, not patient data."</p>
        </section>
    }
}
