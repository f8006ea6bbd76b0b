//! Which device the page segments on, and with how many workers: WebGPU in one worker where it
//! is faster than the CPU pool, else one CPU worker per core within a memory budget. A software
//! WebGPU adapter (SwiftShader and the like) is never the faster one, so it is skipped unasked.
//! `?device=cpu|webgpu` and `?workers=N` on the page's address override the choice.

use brainseg_core::model_file::ModelMeta;
use leptos::prelude::Set;

use super::pool::{Pool, Ready};
use crate::browser;
use crate::inference::DeviceRequest;
use crate::state::{AppState, EngineStatus};

/// The page's share of the machine's memory for its workers.
const MEMORY_SHARE: f64 = 0.5;
/// `navigator.deviceMemory` where the browser does not tell (GiB).
const DEFAULT_MEMORY_GIB: f64 = 4.0;
const MAX_WORKERS: usize = 16;

/// How many CPU workers: one per core, as many as half the machine's memory holds at the first
/// worker's measured size, or `?workers=N`.
fn cpu_workers(per_worker_bytes: f64) -> usize {
    if let Some(n) = browser::query_param("workers").and_then(|n| n.parse::<usize>().ok()) {
        return n.clamp(1, MAX_WORKERS);
    }
    let budget = browser::device_memory_gib().unwrap_or(DEFAULT_MEMORY_GIB) * MEMORY_SHARE * f64::from(1u32 << 30);
    let by_memory = (budget / per_worker_bytes.max(1.0)).floor().max(1.0) as usize;
    browser::cores().min(by_memory).min(MAX_WORKERS)
}

/// The probes' outcome: which device, and why in a few words.
enum Choice {
    Gpu(u64, Ready),
    Cpu(u64, Ready, String),
}

/// Starts the workers, picks the device, and fills the page's model figures (threshold, 3D
/// step, model hash) from the first worker's copy of the model file.
pub async fn start(state: AppState, pool: Pool) -> Result<ModelMeta, String> {
    let forced = browser::query_param("device").and_then(|d| DeviceRequest::from_name(&d));
    let mut gpu_why = String::new();
    let mut gpu = None;
    if forced != Some(DeviceRequest::Cpu) {
        state.engine.set(EngineStatus::Loading("Looking for WebGPU…".into()));
        match browser::webgpu_adapter().await {
            None => gpu_why = "this browser has no WebGPU adapter".into(),
            Some(a) if a.software && forced.is_none() => {
                gpu_why = format!("WebGPU's adapter ({}) is a software renderer, slower than the CPU", a.label);
            }
            Some(_) => gpu = Some(pool.spawn(DeviceRequest::WebGpu, false, forced.is_none())),
        }
    } else {
        gpu_why = "chosen with ?device=cpu".into();
    }
    let cpu = (forced != Some(DeviceRequest::WebGpu) || gpu.is_none()).then(|| pool.spawn(DeviceRequest::Cpu, false, true));
    state.engine.set(EngineStatus::Loading(match gpu {
        Some(_) => "Loading the model; timing WebGPU against the CPU (compiling GPU shaders can take several seconds)…".into(),
        None => "Loading the model…".into(),
    }));
    let wait = |probe: Option<(u64, futures::channel::oneshot::Receiver<Result<Ready, String>>)>| async move {
        match probe {
            None => None,
            Some((key, rx)) => Some((key, rx.await.unwrap_or_else(|_| Err("the worker could not start".into())))),
        }
    };
    let (gpu, cpu) = futures::join!(wait(gpu), wait(cpu));
    let choice = match (gpu, cpu) {
        (Some((g, Ok(gr))), Some((c, Ok(cr)))) => {
            let pool_ms = cr.warm_ms / cpu_workers(cr.memory_bytes) as f64;
            if forced == Some(DeviceRequest::WebGpu) || gr.warm_ms <= pool_ms {
                pool.retire(c);
                Choice::Gpu(g, gr)
            } else {
                pool.retire(g);
                let why = format!("WebGPU took {:.0} ms a slice, the CPU workers {pool_ms:.0} ms", gr.warm_ms);
                Choice::Cpu(c, cr, why)
            }
        }
        (Some((g, Ok(gr))), None | Some((_, Err(_)))) => Choice::Gpu(g, gr),
        (Some((_, Err(e))), Some((c, Ok(cr)))) => Choice::Cpu(c, cr, format!("WebGPU failed: {e}")),
        (None, Some((c, Ok(cr)))) => Choice::Cpu(c, cr, gpu_why),
        (gpu, cpu) => {
            // Forced WebGPU that failed falls back to the CPU; nothing else is left to try.
            let errors: Vec<String> = [gpu, cpu].into_iter().flatten().filter_map(|(_, r)| r.err()).collect();
            if let (Some(DeviceRequest::WebGpu), Some(e)) = (forced, errors.first()) {
                let (c, rx) = pool.spawn(DeviceRequest::Cpu, false, true);
                match rx.await {
                    Ok(Ok(cr)) => Choice::Cpu(c, cr, format!("WebGPU failed: {e}")),
                    Ok(Err(ce)) => return Err(fail(&pool, format!("{e}; on the CPU: {ce}"))),
                    Err(_) => return Err(fail(&pool, e.clone())),
                }
            } else {
                return Err(fail(&pool, errors.join("; ")));
            }
        }
    };
    let (key, ready, gpu, why) = match choice {
        Choice::Gpu(key, ready) => (key, ready, true, String::new()),
        Choice::Cpu(key, ready, why) => (key, ready, false, why),
    };
    let meta: ModelMeta = serde_json::from_str(&ready.meta).map_err(|e| fail(&pool, format!("the model's header: {e}")))?;
    pool.enlist(key);
    let workers = if gpu { 1 } else { cpu_workers(ready.memory_bytes) };
    for _ in 1..workers {
        let _ready = pool.spawn(DeviceRequest::Cpu, true, false);
    }
    let per_worker_mb = ready.memory_bytes / 1e6;
    let because = if why.is_empty() { String::new() } else { format!(", because {why}") };
    web_sys::console::info_1(&format!("brainseg: {}{because}; {workers} worker(s), {per_worker_mb:.0} MB of wasm memory each", ready.backend).into());
    state.engine.set(EngineStatus::Ready { backend: ready.backend, gpu, why, planned_workers: workers, per_worker_mb });
    Ok(meta)
}

fn fail(pool: &Pool, reason: String) -> String {
    pool.fail_all(&reason);
    reason
}
