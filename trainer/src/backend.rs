//! Which Burn backend runs the model: chosen by flag, compiled in by feature.

use anyhow::{Result, bail};
use burn::prelude::*;
use clap::ValueEnum;

/// A compute backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// Burn's pure-Rust CPU backend (always available).
    Flex,
    /// NVIDIA GPUs through burn-cuda (build with `--features cuda`).
    Cuda,
    /// Vulkan/Metal/DX12 through burn-wgpu (build with `--features wgpu`).
    Wgpu,
}

impl Backend {
    /// The device for inference.
    pub fn device(self) -> Result<Device> {
        match self {
            Backend::Flex => Ok(Device::flex()),
            #[cfg(feature = "cuda")]
            Backend::Cuda => Ok(Device::cuda(0)),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => Ok(Device::wgpu(DeviceKind::DefaultDevice)),
            #[allow(unreachable_patterns)]
            other => bail!(
                "this brainseg was built without the {other:?} backend; rebuild with \
                 `cargo build --release --features {}`",
                format!("{other:?}").to_lowercase()
            ),
        }
    }
}
