//! The model on the best device the browser offers: WebGPU, else Burn's `flex` CPU backend.
//!
//! The device and model are not `Send` in the browser, so [`crate::pipeline`] keeps the
//! [`Engine`] in the page's local storage.

use std::fmt;

use brainseg_core::synthetic::phantom;
use brainseg_core::{Prediction, Segmenter};
use burn::prelude::Device;
use burn::tensor::wgpu::WgpuInitError;
use burn::tensor::wgpu::wgpu::DeviceType;
use image::RgbImage;

use crate::browser;

/// The model file, copied next to the page by trunk and fetched from the page's own origin.
pub const MODEL_URL: &str = "brainseg.bsm";

/// Where the network runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Backend {
    WebGpu { adapter: String, software: bool },
    Cpu { why: String },
}

impl Backend {
    pub fn is_gpu(&self) -> bool {
        matches!(self, Backend::WebGpu { .. })
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backend::WebGpu { adapter, software } => {
                let adapter = if adapter.is_empty() { "unnamed adapter" } else { adapter };
                let kind = if *software { ", software" } else { "" };
                write!(f, "WebGPU ({adapter}{kind})")
            }
            Backend::Cpu { why } => write!(f, "CPU (Burn flex; {why})"),
        }
    }
}

/// A loaded model and the device it runs on.
pub struct Engine {
    segmenter: Segmenter,
    pub backend: Backend,
}

/// Why WebGPU cannot be used, in a few words (the details go to the console).
fn short_reason(e: &WgpuInitError) -> String {
    web_sys::console::info_1(&format!("WebGPU unavailable: {e}").into());
    match e {
        WgpuInitError::AdapterUnavailable { .. } => "no WebGPU adapter (no usable GPU, or WebGPU disabled)".into(),
        WgpuInitError::RequestDevice { .. } => "the GPU refused to open a WebGPU device".into(),
        other => format!("WebGPU failed: {other}"),
    }
}

/// WebGPU if the browser grants an adapter, else the CPU, with the reason.
async fn pick_device() -> (Device, Backend) {
    if !browser::has_webgpu() {
        return (Device::flex(), Backend::Cpu { why: "this browser has no WebGPU".into() });
    }
    match Device::wgpu_options().init_with_setup_async().await {
        Ok((device, setup)) => {
            let info = setup.adapter.get_info();
            let software = info.device_type == DeviceType::Cpu;
            let adapter = match info.name {
                name if name.is_empty() => browser::webgpu_adapter_label().await.unwrap_or_default(),
                name => name,
            };
            (device, Backend::WebGpu { adapter, software })
        }
        Err(e) => (Device::flex(), Backend::Cpu { why: short_reason(&e) }),
    }
}

impl Engine {
    /// Picks the device, downloads and checks the model, and (on WebGPU) compiles its shaders
    /// on a synthetic slice, so the first real slice is fast. `progress` gets each step.
    pub async fn load(progress: impl Fn(String)) -> Result<Self, String> {
        progress("Initialising WebGPU…".into());
        let (device, backend) = pick_device().await;
        progress(format!("Downloading the model ({backend})…"));
        let bytes = browser::fetch_bytes(MODEL_URL)
            .await
            .map_err(|e| format!("cannot download the model {MODEL_URL}: {e}"))?;
        progress(format!("Loading the model ({:.1} MB)…", bytes.len() as f64 / 1e6));
        browser::yield_now().await;
        let load = |device: &Device| {
            Segmenter::from_bytes(&bytes, device).map_err(|e| format!("cannot load the model: {e}"))
        };
        let engine = Self { segmenter: load(&device)?, backend };
        // A first run on a synthetic slice compiles the GPU shaders (or lets the browser
        // optimise the CPU code), so the user's first slice is as fast as the rest.
        progress(if engine.backend.is_gpu() {
            "Compiling GPU shaders (first run only, this can take several seconds)…".into()
        } else {
            "Warming up the CPU backend…".into()
        });
        browser::yield_now().await;
        let size = engine.input_size();
        match engine.segment(&phantom(size, size, 1, true).image).await {
            Ok(_) => Ok(engine),
            // A GPU that opens but cannot run the network is no reason to give up: the CPU can.
            Err(e) if engine.backend.is_gpu() => {
                let why = format!("WebGPU failed on a test slice ({e})");
                Ok(Self { segmenter: load(&Device::flex())?, backend: Backend::Cpu { why } })
            }
            Err(e) => Err(format!("the model failed on a test slice: {e}")),
        }
    }

    pub fn input_size(&self) -> u32 {
        self.segmenter.meta().config.input_size as u32
    }

    pub fn model_sha256(&self) -> String {
        self.segmenter.meta().weights_sha256.clone()
    }

    pub fn postprocess(&self) -> brainseg_core::postprocess::PostProcess {
        self.segmenter.meta().postprocess
    }

    /// Segments slice `z` of a study's slices (with its neighbours where the model reads them).
    pub async fn segment_in_volume(&self, volume: &[RgbImage], z: usize) -> Result<Prediction, String> {
        let refs: Vec<&RgbImage> = volume.iter().collect();
        let probs = self.segmenter.slice_probabilities_async(&refs, z).await.map_err(|e| e.to_string())?;
        let image = volume.get(z).ok_or("no such slice")?;
        Ok(self.segmenter.prediction(probs, image.width(), image.height()))
    }

    /// Segments one slice. Reads back asynchronously: a blocking read panics on WebGPU.
    pub async fn segment(&self, image: &RgbImage) -> Result<Prediction, String> {
        let mut predictions = self.segmenter.segment_async(&[image]).await.map_err(|e| e.to_string())?;
        predictions.pop().ok_or_else(|| "the model returned no prediction".into())
    }
}
