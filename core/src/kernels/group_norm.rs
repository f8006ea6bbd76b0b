//! GroupNorm followed by ReLU, fused, on f32 NCHW data: forward and backward.
//!
//! Burn composes GroupNorm out of about eight whole-tensor operations (each with its own
//! backward), then ReLU; at full resolution that costs more than the convolution beside it. Here
//! the work unit is one group of one image — a contiguous block of `channels / groups` planes —
//! read twice forward and twice backward. The pre-activation is never stored: the backward
//! recomputes it from the input and the per-group statistics the forward returns.

use super::parallel::{SharedMut, map_groups, threads};

/// Shapes: input `[batch, channels, plane]` with `groups` dividing `channels`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    pub batch: usize,
    pub channels: usize,
    pub plane: usize,
    pub groups: usize,
}

impl Dims {
    fn units(&self) -> usize {
        self.batch * self.groups
    }

    fn per_group(&self) -> usize {
        self.channels / self.groups
    }
}

/// Mean and 1/sqrt(variance + eps) of every (image, group), in that order.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub mean: Vec<f32>,
    pub rstd: Vec<f32>,
}

fn check(x: &[f32], gamma: &[f32], beta: &[f32], d: &Dims) {
    assert!(d.groups > 0 && d.channels % d.groups == 0, "group_norm: {d:?}");
    assert_eq!(x.len(), d.batch * d.channels * d.plane, "group_norm: input size");
    assert!(gamma.len() == d.channels && beta.len() == d.channels, "group_norm: affine size");
}

/// `relu(gamma * (x - mean) * rstd + beta)` per group, and the statistics for the backward.
pub fn forward(x: &[f32], gamma: &[f32], beta: &[f32], eps: f32, d: Dims) -> (Vec<f32>, Stats) {
    check(x, gamma, beta, &d);
    let (cpg, plane) = (d.per_group(), d.plane);
    let block = cpg * plane;
    let mut y = vec![0.0f32; x.len()];
    let dst = SharedMut(y.as_mut_ptr());
    let stats = map_groups(d.units(), threads(), |units| {
        let dst = dst;
        units
            .map(|u| {
                let xs = &x[u * block..(u + 1) * block];
                // Sums in f64: a group holds up to a million values.
                let mean = (xs.iter().map(|&v| f64::from(v)).sum::<f64>() / block.max(1) as f64) as f32;
                let var = xs.iter().map(|&v| f64::from(v - mean).powi(2)).sum::<f64>() / block.max(1) as f64;
                let rstd = (1.0 / (var + f64::from(eps)).sqrt()) as f32;
                // SAFETY: unit u writes only its own block of y.
                let ys = unsafe { std::slice::from_raw_parts_mut(dst.0.add(u * block), block) };
                let g0 = (u % d.groups) * cpg;
                for c in 0..cpg {
                    let scale = gamma[g0 + c] * rstd;
                    let shift = beta[g0 + c] - mean * scale;
                    let (src, out) = (&xs[c * plane..(c + 1) * plane], &mut ys[c * plane..(c + 1) * plane]);
                    for (o, &v) in out.iter_mut().zip(src) {
                        *o = (v * scale + shift).max(0.0);
                    }
                }
                (mean, rstd)
            })
            .collect::<Vec<_>>()
    });
    let (mean, rstd) = stats.into_iter().flatten().unzip();
    (y, Stats { mean, rstd })
}

/// Gradients of [`forward`] with respect to the input, gamma and beta, from the output gradient.
pub fn backward(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    stats: &Stats,
    grad: &[f32],
    d: Dims,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    check(x, gamma, beta, &d);
    assert_eq!(grad.len(), x.len(), "group_norm: gradient size");
    let (cpg, plane) = (d.per_group(), d.plane);
    let block = cpg * plane;
    let mut dx = vec![0.0f32; x.len()];
    let dst = SharedMut(dx.as_mut_ptr());
    // Per unit: the gamma and beta gradients of its channels.
    let partials = map_groups(d.units(), threads(), |units| {
        let dst = dst;
        units
            .map(|u| {
                let (mean, rstd) = (stats.mean[u], stats.rstd[u]);
                let g0 = (u % d.groups) * cpg;
                let xs = &x[u * block..(u + 1) * block];
                let gs = &grad[u * block..(u + 1) * block];
                let mut dgamma = vec![0.0f32; cpg];
                let mut dbeta = vec![0.0f32; cpg];
                // d(pre-activation) is the incoming gradient where the ReLU passed, else 0.
                let (mut sum_dxhat, mut sum_dxhat_xhat) = (0.0f64, 0.0f64);
                for c in 0..cpg {
                    let (gm, bt) = (gamma[g0 + c], beta[g0 + c]);
                    let (mut dg, mut db) = (0.0f32, 0.0f32);
                    for (&v, &g) in xs[c * plane..(c + 1) * plane].iter().zip(&gs[c * plane..(c + 1) * plane]) {
                        let xhat = (v - mean) * rstd;
                        let dz = if gm * xhat + bt > 0.0 { g } else { 0.0 };
                        dg += dz * xhat;
                        db += dz;
                    }
                    dgamma[c] = dg;
                    dbeta[c] = db;
                    // sum(dxhat) = gamma * sum(dz), sum(dxhat * xhat) = gamma * sum(dz * xhat).
                    sum_dxhat += f64::from(gm * db);
                    sum_dxhat_xhat += f64::from(gm * dg);
                }
                let n = block.max(1) as f64;
                let (m1, m2) = ((sum_dxhat / n) as f32, (sum_dxhat_xhat / n) as f32);
                // SAFETY: unit u writes only its own block of dx.
                let out = unsafe { std::slice::from_raw_parts_mut(dst.0.add(u * block), block) };
                for c in 0..cpg {
                    let (gm, bt) = (gamma[g0 + c], beta[g0 + c]);
                    let range = c * plane..(c + 1) * plane;
                    for ((o, &v), &g) in out[range.clone()].iter_mut().zip(&xs[range.clone()]).zip(&gs[range]) {
                        let xhat = (v - mean) * rstd;
                        let dz = if gm * xhat + bt > 0.0 { g } else { 0.0 };
                        *o = rstd * (dz * gm - m1 - xhat * m2);
                    }
                }
                (u, dgamma, dbeta)
            })
            .collect::<Vec<_>>()
    });
    let mut dgamma = vec![0.0f32; d.channels];
    let mut dbeta = vec![0.0f32; d.channels];
    for (u, dg, db) in partials.into_iter().flatten() {
        let g0 = (u % d.groups) * cpg;
        for c in 0..cpg {
            dgamma[g0 + c] += dg[c];
            dbeta[g0 + c] += db[c];
        }
    }
    (dx, dgamma, dbeta)
}
