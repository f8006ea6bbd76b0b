//! Scoring a model on loaded slices: per-epoch validation, `evaluate` and `tune`'s grid.

use anyhow::Result;
use brainseg_core::metrics::{Confusion, Evaluation, Summary};
use brainseg_core::postprocess::{PostProcess, VolumeRule, apply_volume_rule, kept_pixels, mask_from_kept, volume_kept};
use brainseg_core::preprocess::Normalization;
use brainseg_core::{ModelMeta, Segmenter, UNet, UNetConfig};
use burn::prelude::*;
use image::RgbImage;
use indicatif::ProgressBar;

use crate::dataset::{Sample, patient_runs};

/// Tumor probabilities of every sample at the model's input size (`size*size` each), each
/// patient's slices run as one volume (a model reading neighbouring slices gets them) through
/// the same [`Segmenter`] as `segment` and the page.
pub fn predict(seg: &Segmenter, samples: &[Sample], batch: usize, progress: Option<&ProgressBar>) -> Result<Vec<Vec<f32>>> {
    let mut out = Vec::with_capacity(samples.len());
    for run in patient_runs(samples) {
        let volume: Vec<&RgbImage> = samples[run.clone()].iter().map(|s| &s.image).collect();
        let mut done = 0;
        out.extend(seg.volume_probabilities(&volume, batch, |n| {
            if let Some(p) = progress {
                p.inc((n - done) as u64);
            }
            done = n;
        })?);
    }
    Ok(out)
}

/// A [`Segmenter`] of a network being trained or tuned, without a model file.
pub fn segmenter(model: &UNet, config: &UNetConfig, norm: Normalization, flip_tta: bool, device: &Device) -> Segmenter {
    let mut meta = ModelMeta::new(config.clone(), norm);
    meta.flip_tta = flip_tta;
    Segmenter::new(model.clone(), meta, device.clone())
}

/// The mean of several models' probabilities of the same samples (an ensemble's), into `sum`:
/// each of `members` is added, then all divided by their count. Members must share the grid
/// (resized onto it beforehand where they run at another input size).
pub fn mean_into(sum: &mut [Vec<f32>], members: &[Vec<Vec<f32>>]) -> Result<()> {
    if members.iter().any(|more| more.len() != sum.len() || more.iter().zip(sum.iter()).any(|(a, b)| a.len() != b.len())) {
        anyhow::bail!("ensemble members must give maps of the same size for the same slices");
    }
    for more in members {
        for (p, q) in sum.iter_mut().zip(more) {
            p.iter_mut().zip(q).for_each(|(a, b)| *a += b);
        }
    }
    let n = (1 + members.len()) as f32;
    sum.iter_mut().flatten().for_each(|v| *v /= n);
    Ok(())
}

/// The side of the square probability maps in `probs`.
fn side(probs: &[Vec<f32>]) -> u32 {
    probs.first().map_or(0, |p| (p.len() as f64).sqrt() as u32)
}

/// Applies the 3D step `rule` to `kept` (one entry per sample), each patient's slices as one
/// volume.
fn apply_per_patient(samples: &[Sample], kept: &mut [Vec<u8>], size: u32, rule: VolumeRule) {
    for run in patient_runs(samples) {
        apply_volume_rule(&mut kept[run], size as usize, rule);
    }
}

/// Metrics of the probabilities where `kept` (model resolution, per sample) is set, against the
/// samples' masks (their own resolution).
fn score_kept(samples: &[Sample], probs: &[Vec<f32>], kept: &[Vec<u8>], threshold: f32) -> Evaluation {
    let size = side(probs);
    let mut eval = Evaluation::new();
    for ((s, p), k) in samples.iter().zip(probs).zip(kept) {
        let (w, h) = s.mask.dimensions();
        let pred = mask_from_kept(p, k, size, w, h, threshold);
        eval.add_slice(&s.patient, Confusion::from_masks(pred.as_raw(), s.mask.as_raw()));
    }
    eval
}

/// Metrics of `probs` (model resolution) against the samples' masks (their own resolution)
/// under `post`, each patient's slices post-processed as one volume.
pub fn score(samples: &[Sample], probs: &[Vec<f32>], post: &PostProcess) -> Evaluation {
    let size = side(probs);
    let kept: Vec<Vec<u8>> = patient_runs(samples).into_iter().flat_map(|run| volume_kept(&probs[run], size, post)).collect();
    score_kept(samples, probs, &kept, post.threshold)
}

/// Per-epoch validation: plain threshold 0.5, no test-time augmentation.
pub fn validate(model: &UNet, config: &UNetConfig, samples: &[Sample], norm: Normalization, batch: usize, device: &Device) -> Result<Summary> {
    let probs = predict(&segmenter(model, config, norm, false, device), samples, batch, None)?;
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

/// The 3D steps `tune` tries (see [`VolumeRule`]).
pub const VOLUME_RULES: [VolumeRule; 6] = [
    VolumeRule::Off,
    VolumeRule::Largest,
    VolumeRule::RelativeToLargest { fraction: 0.1 },
    VolumeRule::RelativeToLargest { fraction: 0.25 },
    VolumeRule::RelativeToLargest { fraction: 0.5 },
    VolumeRule::MinSlices { slices: 2 },
];

/// Scores every threshold, minimum region size and 3D rule on `predicted`: the probabilities of
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
                // The per-slice steps once; each 3D rule starts from a copy of their result.
                let slice_post = PostProcess::slice(threshold, min_component_area);
                let size = side(probs);
                let per_slice: Vec<Vec<u8>> = probs.iter().map(|p| kept_pixels(p, size, &slice_post)).collect();
                for volume in VOLUME_RULES {
                    let mut kept = per_slice.clone();
                    apply_per_patient(samples, &mut kept, size, volume);
                    let summary = score_kept(samples, probs, &kept, threshold).summary();
                    results.push(Tuned { flip_tta: *flip_tta, post: PostProcess { volume, ..slice_post }, summary });
                }
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
        Tuned { flip_tta: false, post: PostProcess::slice(0.5, min_component_area), summary }
    }

    #[test]
    fn an_ensemble_is_the_mean_of_its_members_and_refuses_other_sizes() {
        let mut sum = vec![vec![0.2, 0.9, 0.0, 1.0]];
        mean_into(&mut sum, &[vec![vec![0.4, 0.3, 0.0, 1.0]], vec![vec![0.0, 0.0, 0.6, 1.0]]]).unwrap();
        let want = [0.2, 0.4, 0.2, 1.0];
        assert!(sum[0].iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6), "{:?}", sum[0]);
        assert!(mean_into(&mut sum, &[vec![vec![0.5; 4]], vec![vec![0.5; 9]]]).is_err(), "a 3x3 map beside a 2x2 one");
        assert!(sum[0].iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6), "a refused ensemble leaves the sum as it was");
        assert!(mean_into(&mut sum, &[vec![]]).is_err(), "a member without the slices");
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
