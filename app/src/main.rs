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
mod session;
mod state;
mod study_view;
mod worker;

/// wasm-ld links a bin crate as a "command": unless the code calls `__wasm_call_ctors` itself, it
/// wraps every export (each call from JS: a future's poll, even the externref table's allocator)
/// in a call to it, so every static constructor (cubecl's `inventory` registrations) ran again on
/// every call: ~65% of the main thread's busy time during a study, profiled. Calling them once,
/// here, before anything else, makes the linker leave the exports alone.
#[cfg(target_arch = "wasm32")]
fn run_static_constructors() {
    unsafe extern "C" {
        fn __wasm_call_ctors();
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: the linker's constructor list, run once, before any code that reads what they
    // register.
    ONCE.call_once(|| unsafe { __wasm_call_ctors() });
}

fn main() {
    #[cfg(target_arch = "wasm32")]
    run_static_constructors();
    // The segmentation workers run this same module (app/worker.js); they only take jobs.
    if !browser::in_window() {
        return;
    }
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
