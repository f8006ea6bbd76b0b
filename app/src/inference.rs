//! The model on one device inside a segmentation worker: WebGPU or Burn's `flex` CPU backend.
//! Which device the page uses, and how many workers, is [`crate::worker::start`]'s choice.

use std::fmt;

use brainseg_core::synthetic::phantom;
use brainseg_core::Segmenter;
use burn::prelude::Device;
use burn::tensor::wgpu::WgpuInitError;
use burn::tensor::wgpu::wgpu::DeviceType;
use image::RgbImage;

use crate::browser;

/// The model file, copied next to the page by trunk and fetched from the page's own origin.
/// Shipped gzipped (a trunk hook, Trunk.toml): 5.7 MB instead of 7.8 MB on hosts that do not
/// compress, which leaves room in the page's budget for the study viewer.
pub const MODEL_URL: &str = "brainseg.bsm.gz";

/// The model file from its gzipped download; a host that labels `.gz` files
/// `Content-Encoding: gzip` has inflated it already.
fn inflate(bytes: Vec<u8>) -> std::io::Result<Vec<u8>> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 2);
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes.as_slice()), &mut out)?;
    Ok(out)
}

/// Where the network runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Backend {
    WebGpu { adapter: String, software: bool },
    Cpu,
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
            Backend::Cpu => write!(f, "CPU (Burn flex)"),
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

/// Which device a worker is asked to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceRequest {
    Cpu,
    WebGpu,
}

impl DeviceRequest {
    pub fn name(self) -> &'static str {
        match self {
            DeviceRequest::Cpu => "cpu",
            DeviceRequest::WebGpu => "webgpu",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "cpu" => Some(DeviceRequest::Cpu),
            "webgpu" => Some(DeviceRequest::WebGpu),
            _ => None,
        }
    }
}

/// WebGPU's device and adapter, or why it cannot be had.
async fn open_webgpu() -> Result<(Device, Backend), String> {
    if !browser::has_webgpu() {
        return Err("this browser has no WebGPU".into());
    }
    let (device, setup) = Device::wgpu_options().init_with_setup_async().await.map_err(|e| short_reason(&e))?;
    let info = setup.adapter.get_info();
    let software = info.device_type == DeviceType::Cpu;
    let adapter = match info.name {
        name if name.is_empty() => browser::webgpu_adapter().await.map(|a| a.label).unwrap_or_default(),
        name => name,
    };
    Ok((device, Backend::WebGpu { adapter, software }))
}

impl Engine {
    /// Opens the device asked for, downloads and checks the model, and runs it once on a
    /// synthetic slice (on WebGPU that compiles the shaders, so the first real slice is fast).
    /// Returns the engine and the milliseconds a slice took: on the CPU the first run; on WebGPU,
    /// where `timed`, a second run after the shaders are compiled (else the first, compilation
    /// included).
    pub async fn load(request: DeviceRequest, timed: bool) -> Result<(Self, f64), String> {
        let (device, backend) = match request {
            DeviceRequest::Cpu => (Device::flex(), Backend::Cpu),
            DeviceRequest::WebGpu => open_webgpu().await?,
        };
        let bytes = browser::fetch_bytes(MODEL_URL)
            .await
            .map_err(|e| format!("cannot download the model {MODEL_URL}: {e}"))?;
        let bytes = inflate(bytes).map_err(|e| format!("cannot unpack the model {MODEL_URL}: {e}"))?;
        let segmenter = Segmenter::from_bytes(&bytes, &device).map_err(|e| format!("cannot load the model: {e}"))?;
        drop(bytes);
        let engine = Self { segmenter, backend };
        let size = engine.input_size();
        let slice = phantom(size, size, 1, true).image;
        let test = || async { engine.probabilities(&[&slice], 0).await.map_err(|e| format!("the model failed on a test slice: {e}")) };
        let mut start = browser::now_ms();
        test().await?;
        if timed && engine.backend.is_gpu() {
            start = browser::now_ms();
            test().await?;
        }
        Ok((engine, browser::now_ms() - start))
    }

    pub fn meta(&self) -> &brainseg_core::model_file::ModelMeta {
        self.segmenter.meta()
    }

    pub fn input_size(&self) -> u32 {
        self.segmenter.meta().config.input_size as u32
    }

    /// Tumor probabilities (at the model's input size) of slice `z` of a study's slices, with its
    /// neighbours where the model reads them; a lone slice is a volume of one. Reads back
    /// asynchronously: a blocking read panics on WebGPU.
    pub async fn probabilities(&self, volume: &[&RgbImage], z: usize) -> Result<Vec<f32>, String> {
        if z >= volume.len() {
            return Err(format!("slice {z} of a volume of {}", volume.len()));
        }
        self.segmenter.slice_probabilities_async(volume, z).await.map_err(|e| e.to_string())
    }
}
