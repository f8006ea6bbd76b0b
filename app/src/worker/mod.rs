//! Segmentation off the main thread: a pool of dedicated Web Workers, each with its own instance
//! of the page's WebAssembly (compiled once, by boot.js) and its own copy of the model.
//!
//! - `pool.rs` (main thread): one queue of jobs, handed to idle workers; crashed workers replaced.
//! - `start.rs` (main thread): the device choice (WebGPU or the CPU) and the number of workers.
//! - `protocol.rs` (both sides): the requests and their replies; `wire.rs` how they travel.
//! - `entry.rs` (inside a worker): the exports `app/worker.js` calls.

mod entry;
mod pool;
mod protocol;
mod start;
mod wire;

pub use pool::{JobError, Pool, page_wasm};
pub use protocol::{Ask, Assemble, Export, ExportFormat, Infer, Measure, Read, ReadFile, ReadReply, ReadStudy};
pub use start::start;
pub use wire::{FileRef, Floats, JsPixels, Pixels, Stack};
