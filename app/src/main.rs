//! The brainseg browser page: drop MRI slices, see the predicted tumor, download masks.
//!
//! Nothing leaves the page: images are read from the drop, segmented in the page (WebGPU, or
//! Burn's `flex` CPU backend, in a pool of Web Workers) and saved through in-page downloads.

mod app;
mod browser;
mod components;
mod downloads;
mod files;
mod inference;
mod pipeline;
mod scans;
mod state;
mod worker;

fn main() {
    // The segmentation workers run this same module (app/worker.js); they only take jobs.
    if !browser::in_window() {
        return;
    }
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
