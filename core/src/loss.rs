//! Training loss: binary cross-entropy on logits plus soft Dice, the reference system's choice.

use burn::prelude::*;
use burn::tensor::activation::{log_sigmoid, sigmoid};

/// Smoothing term of the soft Dice; keeps the loss defined on batches without tumor.
const DICE_SMOOTH: f32 = 1.0;

/// Mean binary cross-entropy of `logits` against `targets` (0 or 1), numerically stable.
///
/// # Shapes
/// - logits, targets: `[batch, 1, h, w]`
pub fn bce_with_logits(logits: Tensor<4>, targets: Tensor<4>) -> Tensor<1> {
    // -[t*log(s(x)) + (1-t)*log(1-s(x))], with log(1-s(x)) = log(s(x)) - x.
    let log_p = log_sigmoid(logits.clone());
    let log_not_p = log_p.clone() - logits;
    let per_pixel = targets.clone() * log_p + (targets.neg() + 1.0) * log_not_p;
    per_pixel.mean().neg()
}

/// Soft Dice loss, `1 - (2|P∩T| + s) / (|P| + |T| + s)`, over the whole batch.
///
/// # Shapes
/// - logits, targets: `[batch, 1, h, w]`
pub fn soft_dice(logits: Tensor<4>, targets: Tensor<4>) -> Tensor<1> {
    let probs = sigmoid(logits);
    let intersection = (probs.clone() * targets.clone()).sum();
    let total = probs.sum() + targets.sum();
    (intersection * 2.0 + DICE_SMOOTH).div(total + DICE_SMOOTH).neg() + 1.0
}

/// The training objective: BCE + soft Dice, equally weighted.
pub fn segmentation_loss(logits: Tensor<4>, targets: Tensor<4>) -> Tensor<1> {
    bce_with_logits(logits.clone(), targets.clone()) + soft_dice(logits, targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(t: Tensor<1>) -> f32 {
        t.into_scalar::<f32>()
    }

    fn tensors(logits: [f32; 4], targets: [f32; 4]) -> (Tensor<4>, Tensor<4>) {
        let device = Device::flex();
        let l = Tensor::<1>::from_floats(logits, &device).reshape([1, 1, 2, 2]);
        let t = Tensor::<1>::from_floats(targets, &device).reshape([1, 1, 2, 2]);
        (l, t)
    }

    #[test]
    fn bce_matches_closed_form() {
        let (l, t) = tensors([0.0, 2.0, -1.0, 3.0], [1.0, 0.0, 0.0, 1.0]);
        let sig = |x: f32| 1.0 / (1.0 + (-x).exp());
        let expected = -((sig(0.0)).ln()
            + (1.0 - sig(2.0)).ln()
            + (1.0 - sig(-1.0)).ln()
            + sig(3.0).ln())
            / 4.0;
        assert!((scalar(bce_with_logits(l, t)) - expected).abs() < 1e-5);
    }

    #[test]
    fn bce_is_stable_for_large_logits() {
        let (l, t) = tensors([200.0, -200.0, 200.0, -200.0], [1.0, 0.0, 1.0, 0.0]);
        let v = scalar(bce_with_logits(l, t));
        assert!(v.is_finite() && v < 1e-6, "{v}");
    }

    #[test]
    fn dice_is_zero_for_confident_perfect_prediction() {
        let (l, t) = tensors([50.0, -50.0, -50.0, 50.0], [1.0, 0.0, 0.0, 1.0]);
        assert!(scalar(soft_dice(l, t)) < 1e-4);
    }

    #[test]
    fn dice_is_near_one_for_disjoint_prediction() {
        let (l, t) = tensors([50.0, 50.0, -50.0, -50.0], [0.0, 0.0, 1.0, 1.0]);
        // (0 + 1) / (2 + 2 + 1) = 0.2 -> loss 0.8
        assert!((scalar(soft_dice(l, t)) - 0.8).abs() < 1e-4);
    }
}
