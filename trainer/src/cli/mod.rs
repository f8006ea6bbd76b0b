//! Command-line interface (clap derive) and dispatch.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use brainseg_core::conv::ConvImpl;
use clap::{Parser, Subcommand};

use crate::backend::Backend;
use crate::crossval::Folds;
use crate::evaluate::{self, tune_into};
use crate::export;
use crate::model_source::{load, model_bytes};
use crate::segment;
use crate::studies;
use crate::train::{self, RunOptions};

mod args;
pub use args::{EvaluateArgs, PostArgs, PresetArg, SegmentArgs, TrainArgs, TuneArgs, WeightsArg};

/// Brain-tumor (LGG) segmentation of MRI slices: train, evaluate and segment.
#[derive(Debug, Parser)]
#[command(name = "brainseg", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Compute backend.
    #[arg(long, value_enum, global = true, default_value = "flex")]
    pub backend: Backend,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model on a folder in the Kaggle LGG layout.
    Train(TrainArgs),
    /// Score a model on a labelled folder (pixel-summed and per-patient metrics), or the folds of
    /// a cross-validation pooled.
    Evaluate(EvaluateArgs),
    /// Choose threshold, minimum region size and flip TTA on validation patients (one split, or
    /// every fold of a cross-validation); write a tuned copy of the model file.
    Tune(TuneArgs),
    /// Write a tumor mask (and optionally an overlay) for every image.
    Segment(SegmentArgs),
    /// Write a model's weights as safetensors (plus a probe input and its logits), for PyTorch,
    /// ONNX and the side-by-side benchmarks.
    Export {
        /// Model file (default: the shipped model).
        #[arg(long, conflicts_with = "preset")]
        model: Option<PathBuf>,
        /// Randomly initialised weights of a preset instead of a model file (for benchmarks).
        #[arg(long, value_enum)]
        preset: Option<PresetArg>,
        /// Input size for --preset (default: the preset's).
        #[arg(long, requires = "preset")]
        input_size: Option<usize>,
        #[arg(long, short)]
        output: PathBuf,
    },
    /// Average the weights of several model files of one run (e.g. its last epochs' snapshots)
    /// into one model; re-`tune` the result, which keeps the first file's post-processing.
    Average {
        /// Two or more model files of the same architecture.
        #[arg(required = true, num_args = 2..)]
        models: Vec<PathBuf>,
        #[arg(long, short)]
        output: PathBuf,
    },
    /// Print a model file's header: architecture, normalisation, post-processing, provenance.
    Info {
        /// Model file (default: the shipped model).
        #[arg(long)]
        model: Option<PathBuf>,
    },
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Train(args) => {
            let opts = RunOptions {
                run_dir: args.run_dir.clone(),
                backend: cli.backend,
                resume: args.resume,
                extend_to_epochs: args.epochs,
                stop_after_steps: args.stop_after_steps,
                keep_epochs: args.keep_epochs,
                deadline: args.max_minutes.map(|m| Instant::now() + Duration::from_secs_f64(m.max(0.0) * 60.0)),
                conv_impl: if args.gemm_conv { ConvImpl::Gemm } else { ConvImpl::Auto },
            };
            if let (Some(k), Some(i)) = (args.folds, args.fold)
                && i as u64 >= k
            {
                bail!("there is no fold {i} of {k}: --fold counts from 0 to {}", k - 1);
            }
            train::run(args.config(), opts)?;
        }
        Command::Evaluate(args) => return evaluate::run(&args, &cli.backend.device()?),
        Command::Tune(args) => {
            let device = cli.backend.device()?;
            let folds = Folds::load(&args.data, &args.split, &args.model)?;
            let storage = args.weights.map(Into::into);
            tune_into(&folds, &args.ensemble_with, args.apply_to.as_deref(), args.output.as_ref(), args.batch_size, !args.no_tta, storage, &device)?;
        }
        Command::Segment(args) => {
            let device = cli.backend.device()?;
            let mut seg = load(args.model.as_deref(), &device)?;
            seg.set_postprocess(args.post.apply(seg.meta().postprocess)?);
            let inputs = segment::collect_jobs(&args.inputs)?;
            if inputs.images.is_empty() && inputs.studies.is_empty() {
                bail!("no images or scans found in the given inputs (masks named *_mask.* are skipped)");
            }
            let mut failed = segment::run(&seg, &inputs.images, &args.output, args.overlay, args.batch_size)?;
            if failed > 0 {
                eprintln!("{failed} of {} image(s) failed", inputs.images.len());
            }
            let (out, batch) = (&args.output, args.batch_size);
            failed += studies::run(&seg, &inputs.studies, out, args.overlay, batch, args.json)?;
            if failed > 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Export { model, preset, input_size, output } => {
            let device = cli.backend.device()?;
            let (net, config) = match preset {
                Some(p) => {
                    let mut config = p.preset().config();
                    if let Some(size) = input_size {
                        config.input_size = size;
                    }
                    (config.init(&device), config)
                }
                None => {
                    let (net, meta) = brainseg_core::model_file::decode(&model_bytes(model.as_deref())?, &device)?;
                    (net, meta.config)
                }
            };
            let n = export::write(&net, &config, &output, &device)?;
            println!("wrote {} ({n} tensors, input {}x{})", output.display(), config.input_size, config.input_size);
        }
        Command::Average { models, output } => crate::average::write(&models, &output, &cli.backend.device()?)?,
        Command::Info { model } => {
            let bytes = model_bytes(model.as_deref())?;
            let (meta, weights) = brainseg_core::model_file::read_meta(&bytes)?;
            println!("{}", serde_json::to_string_pretty(&meta)?);
            println!("weights: {} bytes", weights.len());
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
