//! brainseg-core: the brain-tumor U-Net and everything around it that must behave identically
//! in training, on the command line and in the browser.
//!
//! No file or network I/O lives here (callers hand in bytes), and no backend is named: the
//! caller's [`burn::prelude::Device`] decides where tensors run.

pub mod conv;
pub mod error;
pub mod export;
pub mod image_input;
pub mod infer;
#[cfg(feature = "cpu-kernels")]
pub mod kernels;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod model_file;
pub mod norm;
pub mod pool;
pub mod postprocess;
pub mod preprocess;
pub mod quantize;
pub mod synthetic;

pub use error::{Error, Result};
pub use infer::{Prediction, Segmenter};
pub use model::{Preset, UNet, UNetConfig, Upsampling};
pub use model_file::ModelMeta;
