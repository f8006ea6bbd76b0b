//! Which training slices an epoch visits, and in what order.

use clap::ValueEnum;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::dataset::Sample;

/// How an epoch's tumor slices are drawn. Tumor-free slices are always a seeded share
/// (`empty_fraction`) drawn uniformly, so the tumor/tumor-free balance, which steers false alarms,
/// is the same under both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Sampling {
    /// Every tumor slice once.
    #[default]
    Every,
    /// As many draws as there are tumor slices, with replacement: a patient uniformly among those
    /// with tumor, then one of its tumor slices in proportion to tumor area plus a tenth of that
    /// patient's mean area (Buda et al. 2019). Every patient weighs the same, whatever its number
    /// of slices, which is how the per-patient Dice counts them; within a patient the large
    /// sections, which carry most pixels, come up most.
    Area,
}

/// The slices of one epoch, in order: tumor slices as `sampling` says plus a seeded draw of
/// `empty_fraction` of the tumor-free ones. Deterministic in (`seed`, `epoch`) so that a resumed
/// run sees the same order.
pub fn epoch_order(samples: &[Sample], sampling: Sampling, empty_fraction: f64, seed: u64, epoch: usize) -> Vec<usize> {
    let mut rng = SmallRng::seed_from_u64(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9));
    let mut empty: Vec<usize> = (0..samples.len()).filter(|&i| !samples[i].has_tumor).collect();
    empty.shuffle(&mut rng);
    empty.truncate((empty.len() as f64 * empty_fraction).round() as usize);
    let tumor: Vec<usize> = (0..samples.len()).filter(|&i| samples[i].has_tumor).collect();
    let mut order = match sampling {
        Sampling::Every => tumor,
        Sampling::Area => area_draws(samples, &tumor, &mut rng),
    };
    order.extend(empty);
    order.shuffle(&mut rng);
    order
}

fn area_draws(samples: &[Sample], tumor: &[usize], rng: &mut SmallRng) -> Vec<usize> {
    // Per patient: its tumor slices and their cumulative weights.
    let mut patients: Vec<(&str, Vec<usize>, Vec<f64>)> = Vec::new();
    for &i in tumor {
        let id = samples[i].patient.as_str();
        match patients.iter_mut().find(|(p, _, _)| *p == id) {
            Some((_, slices, _)) => slices.push(i),
            None => patients.push((id, vec![i], Vec::new())),
        }
    }
    for (_, slices, cumulative) in &mut patients {
        let areas: Vec<f64> = slices.iter().map(|&i| tumor_area(&samples[i])).collect();
        let floor = 0.1 * areas.iter().sum::<f64>() / areas.len() as f64;
        let mut total = 0.0;
        for a in areas {
            // The floor keeps a slice whose mask vanished at the training size drawable.
            total += a + floor.max(1.0);
            cumulative.push(total);
        }
    }
    (0..tumor.len())
        .map(|_| {
            let (_, slices, cumulative) = &patients[rng.random_range(0..patients.len())];
            let r = rng.random::<f64>() * cumulative.last().copied().unwrap_or(0.0);
            slices[cumulative.partition_point(|&c| c <= r).min(slices.len() - 1)]
        })
        .collect()
}

fn tumor_area(s: &Sample) -> f64 {
    s.mask.as_raw().iter().filter(|&&v| v != 0).count() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, RgbImage};

    fn sample(patient: &str, area: u32) -> Sample {
        let mut mask = GrayImage::new(32, 32);
        for i in 0..area {
            mask.put_pixel(i % 32, i / 32, image::Luma([255]));
        }
        Sample { patient: patient.into(), index: 0, image: RgbImage::new(32, 32), mask, has_tumor: area > 0 }
    }

    #[test]
    fn every_visits_each_tumor_slice_once_and_the_empty_share() {
        let samples: Vec<Sample> = (0..20).map(|i| sample("a", if i < 6 { 10 + i } else { 0 })).collect();
        let mut order = epoch_order(&samples, Sampling::Every, 0.5, 7, 3);
        order.sort();
        assert_eq!(&order[..6], &[0, 1, 2, 3, 4, 5]);
        assert_eq!(order.len(), 6 + 7);
        assert!(order[6..].iter().all(|&i| !samples[i].has_tumor));
        assert_eq!(order, { let mut o = epoch_order(&samples, Sampling::Every, 0.5, 7, 3); o.sort(); o });
    }

    #[test]
    fn area_weighs_patients_equally_and_large_sections_more() {
        // Patient a: 2 tumor slices; patient b: 18, one of them 50x larger than the rest.
        let mut samples = vec![sample("a", 20), sample("a", 20)];
        samples.extend((0..17).map(|_| sample("b", 10)));
        samples.push(sample("b", 500));
        samples.extend((0..10).map(|_| sample("b", 0)));
        let mut per_patient_a = 0;
        let mut large = 0;
        let mut draws = 0;
        for epoch in 0..200 {
            let order = epoch_order(&samples, Sampling::Area, 0.0, 1, epoch);
            assert_eq!(order.len(), 20, "as many draws as tumor slices, no empty ones at share 0");
            per_patient_a += order.iter().filter(|&&i| samples[i].patient == "a").count();
            large += order.iter().filter(|&&i| i == 19).count();
            draws += order.len();
        }
        let share_a = per_patient_a as f64 / draws as f64;
        assert!((share_a - 0.5).abs() < 0.03, "patient a drawn {share_a:.3} of the time");
        // Within b the large slice's weight is (500 + 3.3) / (17 * (10 + 3.3) + 503.3) = 0.69.
        let share_large = large as f64 / (draws as f64 / 2.0);
        assert!((share_large - 0.69).abs() < 0.04, "large section drawn {share_large:.3} of b's draws");
    }
}
