//! Segmentation metrics on binary masks, and their aggregation over slices and patients.
//!
//! Conventions: a metric whose denominator is zero (e.g. Dice of an empty prediction on an
//! empty slice) is 1.0 when prediction and truth agree and 0.0 otherwise; pixel-summed
//! ("global") figures add the confusion counts of every slice before dividing.

use serde::{Deserialize, Serialize};

/// Pixel confusion counts of a predicted mask against the truth.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    pub tp: u64,
    pub fp: u64,
    pub fn_: u64,
    pub tn: u64,
}

fn ratio(num: u64, den: u64, agree: bool) -> f64 {
    if den == 0 { if agree { 1.0 } else { 0.0 } } else { num as f64 / den as f64 }
}

impl Confusion {
    /// Counts of `pred` against `truth`; both hold one value per pixel, non-zero = tumor.
    ///
    /// # Panics
    /// If the two masks differ in length (a programming error, not bad input).
    pub fn from_masks(pred: &[u8], truth: &[u8]) -> Self {
        assert_eq!(pred.len(), truth.len(), "masks must have the same number of pixels");
        let mut c = Confusion::default();
        for (&p, &t) in pred.iter().zip(truth) {
            match (p != 0, t != 0) {
                (true, true) => c.tp += 1,
                (true, false) => c.fp += 1,
                (false, true) => c.fn_ += 1,
                (false, false) => c.tn += 1,
            }
        }
        c
    }

    pub fn add(&mut self, other: &Confusion) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.fn_ += other.fn_;
        self.tn += other.tn;
    }

    fn empty_agreement(&self) -> bool {
        self.tp + self.fp + self.fn_ == 0
    }

    pub fn dice(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_, self.empty_agreement())
    }

    pub fn iou(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp + self.fn_, self.empty_agreement())
    }

    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp, self.fn_ == 0)
    }

    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_, self.fp == 0)
    }

    pub fn predicted_positive(&self) -> bool {
        self.tp + self.fp > 0
    }

    pub fn truly_positive(&self) -> bool {
        self.tp + self.fn_ > 0
    }
}

/// Accumulates slice results of many patients into a [`Summary`].
#[derive(Debug, Default, Clone)]
pub struct Evaluation {
    // Each patient's pooled pixels and its slice-level detection counts ([truth][prediction],
    // index 1 = tumor present); the global figures are their sums.
    patients: Vec<(String, Confusion, [[u64; 2]; 2])>,
}

impl Evaluation {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one slice of `patient`.
    pub fn add_slice(&mut self, patient: &str, slice: Confusion) {
        let mut detection = [[0; 2]; 2];
        detection[usize::from(slice.truly_positive())][usize::from(slice.predicted_positive())] = 1;
        self.add(patient, &slice, &detection);
    }

    /// Adds `other`'s slices, e.g. another cross-validation fold's patients; a patient in both
    /// has its counts summed.
    pub fn merge(&mut self, other: &Evaluation) {
        for (patient, pixels, detection) in &other.patients {
            self.add(patient, pixels, detection);
        }
    }

    fn add(&mut self, patient: &str, pixels: &Confusion, detection: &[[u64; 2]; 2]) {
        let i = match self.patients.iter().position(|(p, _, _)| p == patient) {
            Some(i) => i,
            None => {
                self.patients.push((patient.to_string(), Confusion::default(), [[0; 2]; 2]));
                self.patients.len() - 1
            }
        };
        let (_, px, counts) = &mut self.patients[i];
        px.add(pixels);
        add_counts(counts, detection);
    }

    pub fn summary(&self) -> Summary {
        let mut per_patient: Vec<f64> = self.patients.iter().map(|(_, c, _)| c.dice()).collect();
        per_patient.sort_by(f64::total_cmp);
        let n = per_patient.len();
        let mean = if n == 0 { 0.0 } else { per_patient.iter().sum::<f64>() / n as f64 };
        let median = match n {
            0 => 0.0,
            _ if n % 2 == 1 => per_patient[n / 2],
            _ => (per_patient[n / 2 - 1] + per_patient[n / 2]) / 2.0,
        };
        let mut global = Confusion::default();
        let mut detection = [[0u64; 2]; 2];
        for (_, pixels, counts) in &self.patients {
            global.add(pixels);
            add_counts(&mut detection, counts);
        }
        let [[tn, fp], [fn_, tp]] = detection;
        Summary {
            patients: n,
            slices: tn + fp + fn_ + tp,
            dice: global.dice(),
            iou: global.iou(),
            precision: global.precision(),
            recall: global.recall(),
            patient_dice_mean: mean,
            patient_dice_median: median,
            slice_sensitivity: ratio(tp, tp + fn_, true),
            slice_specificity: ratio(tn, tn + fp, true),
            empty_slices: tn + fp,
            tumor_slices: tp + fn_,
        }
    }

    /// Each patient's results, in the order they were first seen.
    pub fn patients(&self) -> Vec<PatientScore> {
        self.patients
            .iter()
            .map(|(patient, c, [[tn, fp], [fn_, tp]])| PatientScore {
                patient: patient.clone(),
                slices: tn + fp + fn_ + tp,
                tumor_slices: fn_ + tp,
                missed_slices: *fn_,
                false_alarm_slices: *fp,
                tumor_pixels: c.tp + c.fn_,
                predicted_pixels: c.tp + c.fp,
                dice: c.dice(),
                precision: c.precision(),
                recall: c.recall(),
            })
            .collect()
    }
}

fn add_counts(sum: &mut [[u64; 2]; 2], counts: &[[u64; 2]; 2]) {
    for (s, n) in sum.iter_mut().flatten().zip(counts.iter().flatten()) {
        *s += n;
    }
}

/// One patient's results, all its slices pooled (`evaluate --per-patient`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientScore {
    pub patient: String,
    pub slices: u64,
    pub tumor_slices: u64,
    /// Tumor slices with no tumor pixel predicted.
    pub missed_slices: u64,
    /// Tumor-free slices with any tumor pixel predicted.
    pub false_alarm_slices: u64,
    pub tumor_pixels: u64,
    pub predicted_pixels: u64,
    pub dice: f64,
    pub precision: f64,
    pub recall: f64,
}

/// What `brainseg evaluate` reports.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub patients: usize,
    pub slices: u64,
    /// Pixel-summed over every slice of every patient.
    pub dice: f64,
    pub iou: f64,
    pub precision: f64,
    pub recall: f64,
    /// 3D Dice of each patient (all its slices pooled), then mean / median over patients.
    pub patient_dice_mean: f64,
    pub patient_dice_median: f64,
    /// Share of tumor slices where any tumor was predicted.
    pub slice_sensitivity: f64,
    /// Share of tumor-free slices where no tumor pixel was predicted.
    pub slice_specificity: f64,
    pub empty_slices: u64,
    pub tumor_slices: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_ratios_on_a_hand_made_mask() {
        // truth: 4 tumor pixels; pred: 3 of them plus 1 false positive.
        let truth = [1, 1, 1, 1, 0, 0, 0, 0];
        let pred = [1, 1, 1, 0, 1, 0, 0, 0];
        let c = Confusion::from_masks(&pred, &truth);
        assert_eq!(c, Confusion { tp: 3, fp: 1, fn_: 1, tn: 3 });
        assert!((c.dice() - 0.75).abs() < 1e-12);
        assert!((c.iou() - 0.6).abs() < 1e-12);
        assert!((c.precision() - 0.75).abs() < 1e-12);
        assert!((c.recall() - 0.75).abs() < 1e-12);
    }

    #[test]
    fn empty_conventions() {
        let both_empty = Confusion::from_masks(&[0, 0], &[0, 0]);
        assert_eq!((both_empty.dice(), both_empty.iou()), (1.0, 1.0));
        let missed = Confusion::from_masks(&[0, 0], &[1, 0]);
        assert_eq!((missed.dice(), missed.precision(), missed.recall()), (0.0, 0.0, 0.0));
        let false_alarm = Confusion::from_masks(&[1, 0], &[0, 0]);
        assert_eq!((false_alarm.dice(), false_alarm.precision()), (0.0, 0.0));
    }

    #[test]
    fn aggregation_is_pixel_summed_and_per_patient() {
        let mut e = Evaluation::new();
        // Patient a: perfect on a 2-pixel tumor slice and clean on an empty slice.
        e.add_slice("a", Confusion::from_masks(&[1, 1, 0, 0], &[1, 1, 0, 0]));
        e.add_slice("a", Confusion::from_masks(&[0, 0, 0, 0], &[0, 0, 0, 0]));
        // Patient b: misses its 2-pixel tumor, false alarm on an empty slice.
        e.add_slice("b", Confusion::from_masks(&[0, 0, 0, 0], &[1, 1, 0, 0]));
        e.add_slice("b", Confusion::from_masks(&[1, 0, 0, 0], &[0, 0, 0, 0]));
        let s = e.summary();
        assert_eq!((s.patients, s.slices, s.tumor_slices, s.empty_slices), (2, 4, 2, 2));
        // global: tp 2, fp 1, fn 2 -> dice 4/7
        assert!((s.dice - 4.0 / 7.0).abs() < 1e-12);
        assert!((s.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.recall - 0.5).abs() < 1e-12);
        assert!((s.patient_dice_mean - 0.5).abs() < 1e-12); // (1 + 0) / 2
        assert!((s.patient_dice_median - 0.5).abs() < 1e-12);
        assert!((s.slice_sensitivity - 0.5).abs() < 1e-12);
        assert!((s.slice_specificity - 0.5).abs() < 1e-12);
        let [a, b] = <[PatientScore; 2]>::try_from(e.patients()).expect("two patients");
        assert_eq!((a.patient.as_str(), a.slices, a.tumor_slices, a.missed_slices, a.false_alarm_slices), ("a", 2, 1, 0, 0));
        assert_eq!((a.tumor_pixels, a.predicted_pixels, a.dice), (2, 2, 1.0));
        assert_eq!((b.patient.as_str(), b.missed_slices, b.false_alarm_slices), ("b", 1, 1));
        assert_eq!((b.tumor_pixels, b.predicted_pixels, b.dice, b.recall), (2, 1, 0.0, 0.0));
    }

    #[test]
    fn merged_folds_equal_one_evaluation_of_all_slices() {
        let slices = [
            ("a", Confusion::from_masks(&[1, 1, 0, 0], &[1, 0, 0, 0])),
            ("a", Confusion::from_masks(&[0, 0, 0, 0], &[0, 0, 0, 0])),
            ("b", Confusion::from_masks(&[0, 0, 0, 0], &[1, 1, 0, 0])),
            ("c", Confusion::from_masks(&[1, 0, 0, 0], &[0, 0, 0, 0])),
        ];
        let mut all = Evaluation::new();
        let (mut first, mut second) = (Evaluation::new(), Evaluation::new());
        for (i, (patient, c)) in slices.iter().enumerate() {
            all.add_slice(patient, *c);
            // Patient a's slices land in both halves: their counts must add up.
            if i % 2 == 0 { first.add_slice(patient, *c) } else { second.add_slice(patient, *c) }
        }
        first.merge(&second);
        assert_eq!(first.summary(), all.summary());
        assert_eq!(first.patients(), all.patients());
    }
}
