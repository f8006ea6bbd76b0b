//! GroupNorm followed by ReLU, fused, on f32 NCHW data: forward and backward.
//!
//! Burn composes GroupNorm out of about eight whole-tensor operations (each with its own
//! backward), then ReLU; at full resolution that costs more than the convolution beside it. Here
//! the work unit is one group of one image — a contiguous block of `channels / groups` planes —
//! read twice forward and twice backward. The pre-activation is never stored: the backward
//! recomputes it from the input and the per-group statistics the forward returns.

use std::mem::MaybeUninit;

use super::parallel::{SharedMut, map_groups, threads, uninit_slice, written_by};
use super::simd::simd_fn;

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
    assert!(
        d.groups > 0 && d.channels % d.groups == 0,
        "group_norm: {d:?}"
    );
    assert_eq!(
        x.len(),
        d.batch * d.channels * d.plane,
        "group_norm: input size"
    );
    assert!(
        gamma.len() == d.channels && beta.len() == d.channels,
        "group_norm: affine size"
    );
}

/// `relu(gamma * (x - mean) * rstd + beta)` per group, and the statistics for the backward.
pub fn forward(x: &[f32], gamma: &[f32], beta: &[f32], eps: f32, d: Dims) -> (Vec<f32>, Stats) {
    check(x, gamma, beta, &d);
    let (cpg, plane) = (d.per_group(), d.plane);
    let block = cpg * plane;
    let fill = |dst: SharedMut| {
        map_groups(d.units(), threads(), |units| {
            let dst = dst;
            units
                .map(|u| {
                    let xs = &x[u * block..(u + 1) * block];
                    let (mean, var) = moments(xs);
                    let rstd = (1.0 / (var + f64::from(eps)).sqrt()) as f32;
                    let mean = mean as f32;
                    // SAFETY: unit u writes only its own block of y.
                    let ys = unsafe { uninit_slice(dst, u * block, block) };
                    let g0 = (u % d.groups) * cpg;
                    for c in 0..cpg {
                        let scale = gamma[g0 + c] * rstd;
                        let shift = beta[g0 + c] - mean * scale;
                        let range = c * plane..(c + 1) * plane;
                        scale_shift_relu(&xs[range.clone()], &mut ys[range], scale, shift);
                    }
                    (mean, rstd)
                })
                .collect::<Vec<_>>()
        })
    };
    // SAFETY: the units cover every block of y, and every element of a block is written.
    let (y, stats) = unsafe { written_by(x.len(), fill) };
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
    // Per unit: the gamma and beta gradients of its channels.
    let fill = |dst: SharedMut| {
        map_groups(d.units(), threads(), |units| {
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
                        let range = c * plane..(c + 1) * plane;
                        let (dg, db) =
                            affine_grads(&xs[range.clone()], &gs[range], mean, rstd, gm, bt);
                        dgamma[c] = dg;
                        dbeta[c] = db;
                        // sum(dxhat) = gamma * sum(dz), sum(dxhat * xhat) = gamma * sum(dz * xhat).
                        sum_dxhat += f64::from(gm * db);
                        sum_dxhat_xhat += f64::from(gm * dg);
                    }
                    let n = block.max(1) as f64;
                    let (m1, m2) = ((sum_dxhat / n) as f32, (sum_dxhat_xhat / n) as f32);
                    // SAFETY: unit u writes only its own block of dx.
                    let out = unsafe { uninit_slice(dst, u * block, block) };
                    for c in 0..cpg {
                        let affine = [gamma[g0 + c], beta[g0 + c]];
                        let range = c * plane..(c + 1) * plane;
                        input_grad(&mut out[range.clone()], &xs[range.clone()], &gs[range], [mean, rstd], affine, [m1, m2]);
                    }
                    (u, dgamma, dbeta)
                })
                .collect::<Vec<_>>()
        })
    };
    // SAFETY: the units cover every block of dx, and every element of a block is written.
    let (dx, partials) = unsafe { written_by(x.len(), fill) };
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

/// Lanes of the hand-split reductions below: wide enough for the compiler to vectorise them
/// (a single running float sum cannot be reordered, so it would stay scalar).
const LANES: usize = 16;
/// Values summed in f32 before the partial sums move to f64 (keeps the rounding error small).
const CHUNK: usize = 1024;

simd_fn! {
/// `relu(v * scale + shift)` of every `src` value into `out`.
fn scale_shift_relu(src: &[f32], out: &mut [MaybeUninit<f32>], scale: f32, shift: f32) {
    for (o, &v) in out.iter_mut().zip(src) {
        o.write((v * scale + shift).max(0.0));
    }
}
}

simd_fn! {
/// One channel's input gradient: `rstd * (dz * gamma - m1 - xhat * m2)`, with `dz` the output
/// gradient where the ReLU passed and `m1`, `m2` the group's means of `dxhat` and `dxhat * xhat`.
fn input_grad(out: &mut [MaybeUninit<f32>], xs: &[f32], gs: &[f32], stats: [f32; 2], affine: [f32; 2], m: [f32; 2]) {
    let ([mean, rstd], [gm, bt], [m1, m2]) = (stats, affine, m);
    for ((o, &v), &g) in out.iter_mut().zip(xs).zip(gs) {
        let xhat = (v - mean) * rstd;
        let dz = if gm * xhat + bt > 0.0 { g } else { 0.0 };
        o.write(rstd * (dz * gm - m1 - xhat * m2));
    }
}
}

simd_fn! {
/// Mean and (biased) variance of `xs`, from sums taken about its first value so that a large
/// mean does not cancel the variance away.
fn moments(xs: &[f32]) -> (f64, f64) {
    let Some(&pivot) = xs.first() else {
        return (0.0, 0.0);
    };
    let (mut sum, mut sum_sq) = (0.0f64, 0.0f64);
    for chunk in xs.chunks(CHUNK) {
        let (mut s, mut q) = ([0.0f32; LANES], [0.0f32; LANES]);
        let mut lanes = chunk.chunks_exact(LANES);
        for block in &mut lanes {
            let block: &[f32; LANES] = block.try_into().unwrap();
            for i in 0..LANES {
                let v = block[i] - pivot;
                s[i] += v;
                q[i] += v * v;
            }
        }
        for &v in lanes.remainder() {
            s[0] += v - pivot;
            q[0] += (v - pivot) * (v - pivot);
        }
        sum += s.iter().map(|&v| f64::from(v)).sum::<f64>();
        sum_sq += q.iter().map(|&v| f64::from(v)).sum::<f64>();
    }
    let n = xs.len() as f64;
    let shifted_mean = sum / n;
    (
        f64::from(pivot) + shifted_mean,
        (sum_sq / n - shifted_mean * shifted_mean).max(0.0),
    )
}
}

simd_fn! {
/// Gradients of gamma and beta from one channel: sums of `dz * xhat` and `dz`, where `dz` is the
/// output gradient where the ReLU passed its input and 0 elsewhere.
fn affine_grads(xs: &[f32], gs: &[f32], mean: f32, rstd: f32, gamma: f32, beta: f32) -> (f32, f32) {
    let (mut dg, mut db) = (0.0f64, 0.0f64);
    for (xc, gc) in xs.chunks(CHUNK).zip(gs.chunks(CHUNK)) {
        let (mut a, mut b) = ([0.0f32; LANES], [0.0f32; LANES]);
        let mut xl = xc.chunks_exact(LANES);
        let mut gl = gc.chunks_exact(LANES);
        for (xb, gb) in (&mut xl).zip(&mut gl) {
            let (xb, gb): (&[f32; LANES], &[f32; LANES]) =
                (xb.try_into().unwrap(), gb.try_into().unwrap());
            for i in 0..LANES {
                let xhat = (xb[i] - mean) * rstd;
                // A multiply by 0 or 1 rather than a branch, so the loop vectorises.
                let dz = gb[i] * f32::from(u8::from(gamma * xhat + beta > 0.0));
                a[i] += dz * xhat;
                b[i] += dz;
            }
        }
        for (&v, &g) in xl.remainder().iter().zip(gl.remainder()) {
            let xhat = (v - mean) * rstd;
            let dz = if gamma * xhat + beta > 0.0 { g } else { 0.0 };
            a[0] += dz * xhat;
            b[0] += dz;
        }
        dg += a.iter().map(|&v| f64::from(v)).sum::<f64>();
        db += b.iter().map(|&v| f64::from(v)).sum::<f64>();
    }
    (dg as f32, db as f32)
}
}
