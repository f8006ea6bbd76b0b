//! Scoring a model on loaded slices: per-epoch validation, `evaluate` and `tune`'s grid.

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

/// Settings within this much global Dice of the best count as tied (differences this small are
/// noise on 18 patients).
pub const DICE_TIE: f64 = 0.005;

/// Scores every threshold and minimum region size on `predicted`: the probabilities of
/// `samples`, once per flip-TTA choice tried. The first result is the choice: the highest slice
/// specificity among the settings tied with the best global Dice, because a red outline on a
/// normal slice costs a reader more than the few pixels a larger minimum region trims off real
/// tumors. The rest follow by Dice.
pub fn grid(samples: &[Sample], predicted: &[(bool, Vec<Vec<f32>>)]) -> Vec<Tuned> {
    let mut results = Vec::new();
    for (flip_tta, probs) in predicted {
        for threshold in [0.3, 0.4, 0.5, 0.6, 0.7] {
            // Areas are pixels at the model's input size; 400 and 800 matter at 256x256, where
            // the smallest plausible tumor covers four times the pixels it does at 128x128.
            for min_component_area in [0, 10, 25, 50, 100, 200, 400, 800] {
                let post = PostProcess { threshold, min_component_area };
                let summary = score(samples, probs, &post).summary();
                results.push(Tuned { flip_tta: *flip_tta, post, summary });
            }
        }
    }
    rank(&mut results);
    results
}

/// Sorts by global Dice, then moves the choice (see [`grid`]) to the front.
fn rank(results: &mut Vec<Tuned>) {
    results.sort_by(|a, b| b.summary.dice.total_cmp(&a.summary.dice));
    let Some(best) = results.first().map(|r| r.summary.dice) else { return };
    let tied = results.iter().take_while(|r| r.summary.dice >= best - DICE_TIE).count();
    let choice = (0..tied)
        .max_by(|&a, &b| {
            let (a, b) = (&results[a].summary, &results[b].summary);
            a.slice_specificity.total_cmp(&b.slice_specificity).then(a.dice.total_cmp(&b.dice))
        })
        .unwrap_or(0);
    let chosen = results.remove(choice);
    results.insert(0, chosen);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuned(min_component_area: usize, dice: f64, slice_specificity: f64) -> Tuned {
        let summary = Summary { dice, slice_specificity, ..Evaluation::default().summary() };
        Tuned { flip_tta: false, post: PostProcess { threshold: 0.5, min_component_area }, summary }
    }

    #[test]
    fn ties_on_dice_go_to_the_fewest_false_alarms() {
        let mut r = vec![tuned(10, 0.711, 0.88), tuned(200, 0.708, 0.95), tuned(800, 0.690, 0.99)];
        rank(&mut r);
        let order: Vec<usize> = r.iter().map(|t| t.post.min_component_area).collect();
        assert_eq!(order, [200, 10, 800], "0.690 is not tied with 0.711; 0.708 is");
        let mut r = vec![tuned(0, 0.60, 0.99), tuned(10, 0.70, 0.80)];
        rank(&mut r);
        assert_eq!(r[0].post.min_component_area, 10, "specificity never buys a worse Dice");
    }
}
