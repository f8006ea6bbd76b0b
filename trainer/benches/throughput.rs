//! Training and inference throughput at 256x256 for the compact and reference U-Nets.
//!
//! `cargo bench -p brainseg --bench throughput [-- --quick] [--infer-only]` prints medians over
//! repeated runs;
//! `--config compact|reference`, `--conv kernels|gemm|native`, `--size N` and `--base-channels N` narrow it, `--json` prints
//! one JSON object per row (what `scripts/bench.sh` reads). Not a test: figures depend on the
//! machine.

use std::time::Instant;

// The allocator the `brainseg` binary uses, so the figures are the CLI's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use brainseg_core::conv::ConvImpl;
use brainseg_core::loss::segmentation_loss;
use brainseg_core::{Preset, UNetConfig};
use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::Distribution;

/// The name a row and `--conv` use: `Auto` is brainseg's own kernels on `flex`.
fn conv_name(imp: ConvImpl) -> &'static str {
    match imp {
        ConvImpl::Auto => "kernels",
        ConvImpl::Gemm => "gemm",
        ConvImpl::Native => "native",
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn train_images_per_second(config: &UNetConfig, imp: ConvImpl, batch: usize, reps: usize) -> f64 {
    let device = Device::flex().autodiff();
    let s = config.input_size;
    let mut model = config.init(&device).with_conv_impl(imp);
    let mut optim = AdamWConfig::new().init();
    let x = Tensor::<4>::random([batch, 3, s, s], Distribution::Normal(0.0, 1.0), &device);
    let y = Tensor::<4>::random([batch, 1, s, s], Distribution::Bernoulli(0.05), &device);
    let mut times = Vec::new();
    for i in 0..=reps {
        let t = Instant::now();
        let loss = segmentation_loss(model.forward(x.clone()), y.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-3, model, grads);
        let _ = model.head_weight_sum();
        if i > 0 {
            times.push(batch as f64 / t.elapsed().as_secs_f64());
        }
    }
    median(times)
}

fn infer_ms_per_image(config: &UNetConfig, imp: ConvImpl, batch: usize, reps: usize) -> f64 {
    let device = Device::flex();
    let s = config.input_size;
    let model = config.init(&device).with_conv_impl(imp);
    let x = Tensor::<4>::random([batch, 3, s, s], Distribution::Normal(0.0, 1.0), &device);
    let mut times = Vec::new();
    for i in 0..=reps {
        let t = Instant::now();
        let _ = model.forward(x.clone()).into_data();
        if i > 0 {
            times.push(t.elapsed().as_secs_f64() * 1000.0 / batch as f64);
        }
    }
    median(times)
}

/// Forces the lazy optimiser update to run before the clock stops.
trait Sync_ {
    fn head_weight_sum(&self) -> f32;
}
impl Sync_ for brainseg_core::UNet {
    fn head_weight_sum(&self) -> f32 {
        let mut total = 0.0;
        let mut v = SumVisitor(&mut total);
        self.visit(&mut v);
        total
    }
}
struct SumVisitor<'a>(&'a mut f32);
impl burn::module::ModuleVisitor for SumVisitor<'_> {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        *self.0 += param.val().sum().into_scalar::<f32>();
    }
}

/// Peak resident memory of this process so far, in MiB (Linux).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0)
}

fn main() {
    brainseg_trainer::alloc::keep_freed_memory();
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let json = args.iter().any(|a| a == "--json");
    // `--infer-only` skips training (Burn's own convolutions train very slowly).
    let infer_only = args.iter().any(|a| a == "--infer-only");
    // `--config compact|reference` and `--conv kernels|gemm|native` narrow the table.
    let flag = |name: &str| args.windows(2).find(|w| w[0] == name).map(|w| w[1].to_ascii_lowercase());
    let (config_filter, conv_filter) = (flag("--config"), flag("--conv"));
    let size: Option<usize> = flag("--size").and_then(|s| s.parse().ok());
    // `--base-channels N` widens or narrows the presets (the shipped model may be a wider compact).
    let base: Option<usize> = flag("--base-channels").and_then(|s| s.parse().ok());
    let (train_reps, infer_reps) = if quick { (2, 3) } else { (5, 10) };
    if !json {
        let side = size.map_or("256x256".to_string(), |s| format!("{s}x{s}"));
        println!("backend flex, {side}, {} threads", std::thread::available_parallelism().map_or(1, |n| n.get()));
        println!("{:<10} {:>10} {:<7} {:>15} {:>15} {:>16} {:>16}", "config", "params", "conv", "train img/s b4", "train img/s b8", "infer ms/img b1", "infer ms/img b8");
    }
    for (name, preset) in [("compact", Preset::Compact), ("reference", Preset::Reference)] {
        if config_filter.as_ref().is_some_and(|c| c != name) {
            continue;
        }
        let mut config = preset.config();
        if let Some(s) = size {
            config.input_size = s;
        }
        if let Some(b) = base {
            config.base_channels = b;
        }
        let params = config.init(&Device::flex()).num_params();
        for imp in [ConvImpl::Auto, ConvImpl::Gemm, ConvImpl::Native] {
            if conv_filter.as_ref().is_some_and(|c| c != conv_name(imp)) {
                continue;
            }
            let train_reps = if preset == Preset::Reference && imp == ConvImpl::Native { 1 } else { train_reps };
            let (train, train8) = if infer_only {
                (f64::NAN, f64::NAN)
            } else {
                (train_images_per_second(&config, imp, 4, train_reps), train_images_per_second(&config, imp, 8, train_reps.div_ceil(2)))
            };
            let b1 = infer_ms_per_image(&config, imp, 1, infer_reps);
            let b8 = infer_ms_per_image(&config, imp, 8, infer_reps.div_ceil(3));
            if json {
                let rss = peak_rss_mb().map_or("null".into(), |m| format!("{m:.0}"));
                // JSON has no NaN: a figure not measured (`--infer-only`) is null.
                let num = |v: f64, digits: usize| if v.is_finite() { format!("{v:.digits$}") } else { "null".into() };
                println!(
                    "{{\"runtime\": \"brainseg flex ({} conv)\", \"config\": \"{name}\", \"size\": {}, \"infer_ms_b1\": {}, \"infer_ms_b8\": {}, \"train_img_s_b4\": {}, \"train_img_s_b8\": {}, \"peak_rss_mb\": {rss}}}",
                    conv_name(imp),
                    config.input_size,
                    num(b1, 2),
                    num(b8, 2),
                    num(train, 3),
                    num(train8, 3)
                );
            } else {
                println!("{name:<10} {params:>10} {:<7} {train:>15.3} {train8:>15.3} {b1:>16.1} {b8:>16.1}", conv_name(imp));
            }
        }
    }
}
