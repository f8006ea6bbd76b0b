//! The subcommands' arguments, and how `train`'s become a recipe (`TrainConfig`).

use std::path::PathBuf;

use brainseg_core::model_file::WeightStorage;
use brainseg_core::postprocess::{PostProcess, VolumeRule};
use brainseg_core::{Preset, UNetConfig};
use clap::{Args, ValueEnum};

use crate::augment::Augment;
use crate::dataset::Fold;
use crate::sampling::Sampling;
use crate::train::TrainConfig;

/// Named architectures.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PresetArg {
    /// The compact U-Net (width 16, ~1.9M parameters; the shipped model is it at
    /// `--base-channels 32`).
    Compact,
    /// The reference system's U-Net (width 64, bilinear, ~17.2M parameters).
    Reference,
}

/// Epochs of a run when `--epochs` is not given.
const DEFAULT_EPOCHS: usize = 30;

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Data folder: <CASE>/<CASE>_<n>.<tif|png|webp> with <CASE>_<n>_mask.<ext>.
    #[arg(long)]
    pub data: PathBuf,
    /// Run folder for checkpoints, metrics.csv, split.json and the best model.bsm.
    #[arg(long, default_value = "runs/brainseg")]
    pub run_dir: PathBuf,
    /// Continue the run in --run-dir from its last checkpoint (its saved recipe is used;
    /// --epochs may extend it).
    #[arg(long)]
    pub resume: bool,
    #[arg(long, value_enum, default_value = "compact")]
    pub preset: PresetArg,
    /// Override the preset's base width.
    #[arg(long)]
    pub base_channels: Option<usize>,
    /// Override the preset's number of down-samplings.
    #[arg(long)]
    pub depth: Option<usize>,
    /// Side of the square the slices are resized to.
    #[arg(long)]
    pub input_size: Option<usize>,
    /// Neighbouring slices on each side given to the network as extra channels (2.5D input; 1:
    /// slices z-1, z, z+1, 9 channels). With --init-from a 2D model, the new channels start at
    /// zero weight, so training begins at that model's accuracy.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=3))]
    pub context_slices: u8,
    /// Epochs of the cosine schedule (default 30). With --resume, only a larger value given here
    /// changes the saved run's.
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
    /// Peak learning rate (AdamW, cosine decay after warm-up).
    #[arg(long, default_value_t = 2e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 1e-4)]
    pub weight_decay: f32,
    #[arg(long, default_value_t = 100)]
    pub warmup_steps: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Share of patients held out for validation.
    #[arg(long, default_value_t = 0.2)]
    pub val_fraction: f64,
    /// Patient-level k-fold cross-validation: split the patients into this many folds (with
    /// --seed) and validate on --fold; one run per fold. Fold 0 of 5 is the --val-fraction 0.2
    /// split of the same seed.
    #[arg(long, requires = "fold", value_parser = clap::value_parser!(u64).range(2..))]
    pub folds: Option<u64>,
    /// Which fold (0 to --folds - 1) to validate on.
    #[arg(long, requires = "folds")]
    pub fold: Option<usize>,
    /// Share of tumor-free slices drawn each epoch (tumor slices: see --sampling).
    #[arg(long, default_value_t = 0.5)]
    pub empty_fraction: f64,
    /// How each epoch draws tumor slices: every one once, or by tumor area with every patient
    /// weighing the same (tumor-free slices follow --empty-fraction either way).
    #[arg(long, value_enum, default_value_t = Sampling::Every)]
    pub sampling: Sampling,
    /// Disable augmentation.
    #[arg(long)]
    pub no_augment: bool,
    /// Chance per slice that FLAIR is copied into the pre- and/or post-contrast channel (how the
    /// dataset fills a missing sequence; what a lone FLAIR series looks like), 0 to 1.
    #[arg(long, default_value_t = Augment::default().flair_fill, value_parser = parse_chance)]
    pub flair_fill: f32,
    /// Store the exported weights in f32 instead of f16.
    #[arg(long)]
    pub full_precision: bool,
    /// Use only the first N patients.
    #[arg(long)]
    pub max_patients: Option<usize>,
    /// Checkpoint every N steps as well as at each epoch end.
    #[arg(long, default_value_t = 25)]
    pub checkpoint_every: usize,
    /// Start from this model file's weights instead of random ones (same architecture).
    #[arg(long)]
    pub init_from: Option<PathBuf>,
    /// Validate and export an exponential moving average of the weights (decay per optimiser
    /// step, e.g. 0.998: an average over roughly the last 1 / (1 - decay) steps).
    #[arg(long, value_parser = parse_decay)]
    pub ema_decay: Option<f64>,
    /// Compute convolutions as im2col + GEMM out of Burn ops while training (for comparison;
    /// by default `flex` runs brainseg's own CPU kernels, which are faster).
    #[arg(long, hide = true)]
    pub gemm_conv: bool,
    /// Stop cleanly after this many minutes of this invocation: checkpoint, write the current
    /// weights to <run-dir>/last.bsm (unvalidated) and exit 0; `--resume` carries on.
    #[arg(long)]
    pub max_minutes: Option<f64>,
    /// Also write every epoch's validated weights to <run-dir>/epochs/epoch-NN.bsm (and, with
    /// --ema-decay, the latest weights to epoch-NN-latest.bsm), for `brainseg average`.
    #[arg(long)]
    pub keep_epochs: bool,
    /// Stop after N steps as if killed (for testing --resume).
    #[arg(long, hide = true)]
    pub stop_after_steps: Option<usize>,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Labelled folder in the Kaggle LGG layout.
    #[arg(long)]
    pub data: PathBuf,
    /// Model file (default: the shipped model). Repeat it with --split to score the folds of
    /// `train --folds` as one: the n-th --model scores the n-th --split's validation patients.
    #[arg(long)]
    pub model: Vec<PathBuf>,
    /// Only the validation patients of this split.json (from a training run); repeat, one per
    /// --model, for cross-validation (pooled figures, then one row per fold and their spread).
    #[arg(long)]
    pub split: Vec<PathBuf>,
    /// Copy FLAIR into the pre- and post-contrast channels first: scores the model as it runs on
    /// a lone FLAIR series (DICOM/NIfTI "FLAIR only" mode).
    #[arg(long)]
    pub flair_only: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also report each patient (slices, missed and false-alarm slices, pixels, Dice, precision,
    /// recall), worst first; with --json as "per_patient".
    #[arg(long)]
    pub per_patient: bool,
    #[command(flatten)]
    pub post: PostArgs,
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
}

/// Overrides of the post-processing a model file carries (`segment`, `evaluate`).
#[derive(Debug, Args)]
pub struct PostArgs {
    /// Tumor probability threshold, above 0 and at most 1 (default: the model file's, chosen by
    /// `tune`).
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Drop tumor regions smaller than this many pixels at the model's input size (default: the
    /// model file's).
    #[arg(long)]
    pub min_region: Option<usize>,
    /// The 3D step on volumes (DICOM series, NIfTI, a folder of numbered slices, a patient's
    /// slices in `evaluate`): `off`, `largest` (keep the largest 3D tumor component),
    /// `relative:F` (components of at least F x the largest), `min-slices:N` (components over
    /// at least N slices). Default: the model file's, chosen by `tune`.
    #[arg(long = "3d", value_name = "RULE", value_parser = parse_volume_rule)]
    pub volume: Option<VolumeRule>,
}

impl PostArgs {
    /// `post` with the overrides given on the command line.
    pub fn apply(&self, mut post: PostProcess) -> anyhow::Result<PostProcess> {
        if let Some(t) = self.threshold {
            if !(t > 0.0 && t <= 1.0) {
                anyhow::bail!("--threshold {t} must be above 0 and at most 1");
            }
            post.threshold = t;
        }
        post.min_component_area = self.min_region.unwrap_or(post.min_component_area);
        post.volume = self.volume.unwrap_or(post.volume);
        Ok(post)
    }
}

#[derive(Debug, Args)]
pub struct TuneArgs {
    #[arg(long)]
    pub data: PathBuf,
    /// The training run's split.json: tuning uses its validation patients only. Repeat, one per
    /// --model, to tune on every fold of `train --folds` (each patient predicted by the fold's
    /// model, which never trained on it) and see the spread across folds.
    #[arg(long, required = true)]
    pub split: Vec<PathBuf>,
    /// Model file (default: the shipped model); one per --split for cross-validation.
    #[arg(long)]
    pub model: Vec<PathBuf>,
    /// Write the chosen settings into a copy of this model file instead of the first --model's
    /// (e.g. a model trained on all patients, or each fold's own model).
    #[arg(long)]
    pub apply_to: Option<PathBuf>,
    /// Where to write the tuned model file.
    #[arg(long, required_unless_present = "ensemble_with")]
    pub output: Option<PathBuf>,
    /// Measure an ensemble: score the grid on the mean of --model's probabilities and this
    /// model's (repeat for more; one --split; a member of another input size is resized onto
    /// --model's grid, a multi-scale ensemble). Writes nothing: a model file holds one network.
    #[arg(long, conflicts_with_all = ["output", "apply_to", "weights"])]
    pub ensemble_with: Vec<PathBuf>,
    /// Never choose flip test-time augmentation (it doubles inference time).
    #[arg(long)]
    pub no_tta: bool,
    /// How the tuned file stores its weights (default: as the input model does); q8 is 8 bits
    /// per weight, half the size of f16.
    #[arg(long, value_enum)]
    pub weights: Option<WeightsArg>,
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum WeightsArg {
    F32,
    F16,
    Q8,
}

impl From<WeightsArg> for WeightStorage {
    fn from(w: WeightsArg) -> Self {
        match w {
            WeightsArg::F32 => WeightStorage::F32,
            WeightsArg::F16 => WeightStorage::F16,
            WeightsArg::Q8 => WeightStorage::Q8,
        }
    }
}

#[derive(Debug, Args)]
pub struct SegmentArgs {
    /// Image files, DICOM files, NIfTI volumes (.nii, .nii.gz), zip archives of them and/or
    /// folders (searched recursively; *_mask.* files are skipped). DICOM: uncompressed, deflated,
    /// RLE, JPEG baseline/extended 8-bit/lossless, JPEG-LS, JPEG 2000.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output folder. Images: <output>/<relative folder>/<name>_pred.png. Scans:
    /// <output>/<input>/<series>/mask.nii.gz (the input's geometry) and slices/slice_NNN_pred.png.
    #[arg(long, short)]
    pub output: PathBuf,
    /// For scans, print one JSON object per study (volume in mL, slices with tumor, largest
    /// diameter, notes, output paths) instead of a line of text.
    #[arg(long)]
    pub json: bool,
    /// Also write <name>_overlay.png (tumor in red on the FLAIR channel).
    #[arg(long)]
    pub overlay: bool,
    /// Model file (default: the shipped model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[command(flatten)]
    pub post: PostArgs,
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
}

impl PresetArg {
    pub(crate) fn preset(self) -> Preset {
        match self {
            PresetArg::Compact => Preset::Compact,
            PresetArg::Reference => Preset::Reference,
        }
    }
}

impl TrainArgs {
    pub(crate) fn config(&self) -> TrainConfig {
        let mut model: UNetConfig = self.preset.preset().config();
        if let Some(b) = self.base_channels {
            model.base_channels = b;
        }
        if let Some(d) = self.depth {
            model.depth = d;
        }
        if let Some(s) = self.input_size {
            model.input_size = s;
        }
        let model = model.with_context(usize::from(self.context_slices));
        TrainConfig {
            data: self.data.clone(),
            model,
            epochs: self.epochs.unwrap_or(DEFAULT_EPOCHS),
            batch_size: self.batch_size.max(1),
            learning_rate: self.lr,
            min_learning_rate: self.lr * 0.01,
            warmup_steps: self.warmup_steps,
            weight_decay: self.weight_decay,
            seed: self.seed,
            validation_fraction: self.val_fraction,
            empty_fraction: self.empty_fraction.clamp(0.0, 1.0),
            sampling: self.sampling,
            fold: self.folds.zip(self.fold).map(|(count, index)| Fold { index, count: count as usize }),
            augment: !self.no_augment,
            flair_fill: self.flair_fill,
            half: !self.full_precision,
            max_patients: self.max_patients,
            checkpoint_every: self.checkpoint_every,
            normalization: None,
            init_from: self.init_from.clone(),
            ema_decay: self.ema_decay,
        }
    }
}

fn parse_volume_rule(s: &str) -> Result<VolumeRule, String> {
    let bad = || format!("{s} is not a 3D rule (off, largest, relative:F with 0 < F <= 1, min-slices:N)");
    match s.split_once(':') {
        None if s == "off" => Ok(VolumeRule::Off),
        None if s == "largest" => Ok(VolumeRule::Largest),
        Some(("relative", f)) => match f.parse::<f32>() {
            Ok(fraction) if fraction > 0.0 && fraction <= 1.0 => Ok(VolumeRule::RelativeToLargest { fraction }),
            _ => Err(bad()),
        },
        Some(("min-slices", n)) => n.parse().map(|slices| VolumeRule::MinSlices { slices }).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

fn parse_decay(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(d) if (0.0..1.0).contains(&d) => Ok(d),
        _ => Err(format!("{s} is not a decay in [0, 1)")),
    }
}

fn parse_chance(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("{s} is not a chance between 0 and 1")),
    }
}
