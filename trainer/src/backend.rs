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
            Backend::Cuda => probe_cuda().map(|()| Device::cuda(0)),
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

/// Whether the NVIDIA driver loads and sees a GPU: cudarc panics inside Burn's device thread when
/// it does not, so ask the driver first and say what is missing.
#[cfg(feature = "cuda")]
fn probe_cuda() -> Result<()> {
    const NAMES: [&str; 3] = ["libcuda.so.1", "libcuda.so", "nvcuda.dll"];
    // SAFETY: loading the driver library runs its initialisers, as cudarc itself would.
    let Some(lib) = NAMES.iter().find_map(|&n| unsafe { libloading::Library::new(n) }.ok()) else {
        bail!("--backend cuda: no NVIDIA driver (libcuda could not be loaded); install the driver (the CUDA toolkit is not needed) or use --backend flex");
    };
    // SAFETY: cuInit and cuDeviceGetCount have these C signatures in every CUDA driver API.
    let count = unsafe {
        let init: libloading::Symbol<unsafe extern "C" fn(u32) -> i32> = lib.get(b"cuInit")?;
        let device_count: libloading::Symbol<unsafe extern "C" fn(*mut i32) -> i32> = lib.get(b"cuDeviceGetCount")?;
        let status = init(0);
        if status != 0 {
            bail!("--backend cuda: the NVIDIA driver failed to start (cuInit error {status}); is a GPU attached and its driver loaded?");
        }
        let mut n = 0;
        let status = device_count(&mut n);
        if status != 0 { -1 } else { n }
    };
    if count < 1 {
        bail!("--backend cuda: the NVIDIA driver sees no GPU");
    }
    Ok(())
}
