//! Scoring a model on loaded slices: per-epoch validation, `evaluate` and `tune`.

use anyhow::{Result, anyhow};
use brainseg_core::infer::probabilities;
use brainseg_core::metrics::{Confusion, Evaluation, Summary};
use brainseg_core::postprocess::{PostProcess, mask_from_probabilities};
use brainseg_core::preprocess::{Normalization, batch_tensor, fit_to_input};
use brainseg_core::UNet;
use burn::prelude::*;
use indicatif::ProgressBar;

use crate::dataset::Sample;

/// Tumor probabilities of every sample at the model's `size` (`size*size` each), batch by batch.
#[allow(clippy::too_many_arguments)]
pub fn predict(
    model: &UNet,
    samples: &[Sample],
    size: u32,
    norm: &Normalization,
    batch: usize,
    flip_tta: bool,
    device: &Device,
    progress: Option<&ProgressBar>,
) -> Result<Vec<Vec<f32>>> {
    let mut out = Vec::with_capacity(samples.len());
    for chunk in samples.chunks(batch.max(1)) {
        let resized: Vec<_> = chunk.iter().map(|s| fit_to_input(&s.image, size)).collect();
        let images: Vec<_> = resized.iter().map(|c| c.as_ref()).collect();
        let x = batch_tensor(&images, norm, device);
        let data = probabilities(model, x, flip_tta).try_into_data().map_err(|e| anyhow!("{e:?}"))?;
        let probs = data.try_into_vec::<f32>().map_err(|e| anyhow!("{e:?}"))?;
        let per = probs.len() / chunk.len();
        out.extend(probs.chunks_exact(per).map(<[f32]>::to_vec));
        if let Some(p) = progress {
            p.inc(chunk.len() as u64);
        }
    }
    Ok(out)
}

/// Metrics of `probs` (model resolution) against the samples' masks (their own resolution)
/// under `post`.
pub fn score(samples: &[Sample], probs: &[Vec<f32>], post: &PostProcess) -> Evaluation {
    let mut eval = Evaluation::new();
    for (s, p) in samples.iter().zip(probs) {
        let (w, h) = s.mask.dimensions();
        let size = (p.len() as f64).sqrt() as u32;
        let pred = mask_from_probabilities(p, size, w, h, post);
        eval.add_slice(&s.patient, Confusion::from_masks(pred.as_raw(), s.mask.as_raw()));
    }
    eval
}

/// Per-epoch validation: plain threshold 0.5, no test-time augmentation.
pub fn validate(model: &UNet, samples: &[Sample], size: u32, norm: &Normalization, batch: usize, device: &Device) -> Result<Summary> {
    let probs = predict(model, samples, size, norm, batch, false, device, None)?;
    Ok(score(samples, &probs, &PostProcess::default()).summary())
}

/// The post-processing choice `tune` settled on, with its score.
pub struct Tuned {
    pub flip_tta: bool,
    pub post: PostProcess,
    pub summary: Summary,
}

/// Grid-searches flip TTA (unless `allow_tta` is false), threshold and minimum region size for
/// the best global Dice.
pub fn tune(
    model: &UNet,
    samples: &[Sample],
    size: u32,
    norm: &Normalization,
    batch: usize,
    allow_tta: bool,
    device: &Device,
) -> Result<Vec<Tuned>> {
    let passes: &[bool] = if allow_tta { &[false, true] } else { &[false] };
    let bar = ProgressBar::new((passes.len() * samples.len()) as u64);
    let mut results = Vec::new();
    for &flip_tta in passes {
        let probs = predict(model, samples, size, norm, batch, flip_tta, device, Some(&bar))?;
        for threshold in [0.3, 0.4, 0.5, 0.6, 0.7] {
            // Areas are pixels at the model's input size; 400 and 800 matter at 256x256, where
            // the smallest plausible tumor covers four times the pixels it does at 128x128.
            for min_component_area in [0, 10, 25, 50, 100, 200, 400, 800] {
                let post = PostProcess { threshold, min_component_area };
                let summary = score(samples, &probs, &post).summary();
                results.push(Tuned { flip_tta, post, summary });
            }
        }
    }
    bar.finish_and_clear();
    results.sort_by(|a, b| b.summary.dice.total_cmp(&a.summary.dice));
    Ok(results)
}
