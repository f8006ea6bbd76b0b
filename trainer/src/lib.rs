//! The `brainseg` command's library: everything native (files, training, CLI logic) around
//! `brainseg_core`. The binary in `main.rs` only parses arguments and calls in here.

pub mod alloc;
pub mod augment;
pub mod average;
pub mod backend;
pub mod cli;
pub mod crossval;
pub mod dataset;
pub mod ema;
pub mod evaluate;
pub mod export;
pub mod model_source;
pub mod parallel;
pub mod run_dir;
pub mod sampling;
pub mod segment;
pub mod studies;
pub mod train;
pub mod validate;
pub mod widen;
