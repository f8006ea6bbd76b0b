//! 2x2, stride-2 max pooling of f32 NCHW data (the U-Net's down-sampling), forward and backward.
//!
//! `flex`'s generic pooling compares element by element through its window machinery: it took
//! 15% of a 256x256 inference and 6% of a training step. Here a window is four loads and three
//! `max`es, planes are split over the threads, and the backward pass recomputes each window's
//! winner from the input instead of keeping an index tensor.

use std::mem::MaybeUninit;

use super::parallel::{map_groups, threads, uninit_slice, written_by};
use super::simd::simd_fn;

/// Shapes: `planes` (batch x channels) planes of `h` x `w`; the output is `h / 2` x `w / 2`
/// (floor, as Burn's default pooling: an odd last row or column is dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    pub planes: usize,
    pub h: usize,
    pub w: usize,
}

impl Dims {
    pub fn out(&self) -> (usize, usize) {
        (self.h / 2, self.w / 2)
    }
}

/// Which of a window's four inputs (row-major: top-left, top-right, bottom-left, bottom-right)
/// holds its maximum; the first on ties, as Burn's pooling routes the gradient.
#[inline(always)]
fn winner(a: f32, b: f32, c: f32, d: f32) -> usize {
    let (mut best, mut at) = (a, 0);
    for (i, v) in [(1, b), (2, c), (3, d)] {
        if v > best {
            (best, at) = (v, i);
        }
    }
    at
}

/// `y[p, oy, ox] = max of x[p, 2oy..2oy+2, 2ox..2ox+2]`.
pub fn forward(x: &[f32], d: Dims) -> Vec<f32> {
    assert_eq!(x.len(), d.planes * d.h * d.w, "max_pool2x2: input size");
    let (oh, ow) = d.out();
    let out_plane = oh * ow;
    let fill = |dst| {
        map_groups(d.planes, threads(), |planes| {
            // SAFETY: each group writes the output planes of its own range only.
            let out = unsafe { uninit_slice(dst, planes.start * out_plane, planes.len() * out_plane) };
            for (p, out) in planes.zip(out.chunks_exact_mut(out_plane.max(1))) {
                forward_plane(&x[p * d.h * d.w..][..d.h * d.w], out, d.w);
            }
        });
    };
    // SAFETY: the groups cover every plane, and each writes all of its planes' outputs.
    unsafe { written_by(d.planes * out_plane, fill) }.0
}

/// Gradient with respect to the input: each window's output gradient goes to its winner, zero
/// to the other three (and to a dropped odd row or column).
pub fn backward(x: &[f32], grad: &[f32], d: Dims) -> Vec<f32> {
    assert_eq!(x.len(), d.planes * d.h * d.w, "max_pool2x2: input size");
    let (oh, ow) = d.out();
    assert_eq!(grad.len(), d.planes * oh * ow, "max_pool2x2: gradient size");
    let plane_len = d.h * d.w;
    let fill = |dst| {
        map_groups(d.planes, threads(), |planes| {
            // SAFETY: each group writes the input-gradient planes of its own range only.
            let out = unsafe { uninit_slice(dst, planes.start * plane_len, planes.len() * plane_len) };
            for (p, dx) in planes.zip(out.chunks_exact_mut(plane_len.max(1))) {
                backward_plane(&x[p * plane_len..][..plane_len], &grad[p * oh * ow..][..oh * ow], dx, d.w);
            }
        });
    };
    // SAFETY: every element of every plane is written (zeros first, then the winners).
    unsafe { written_by(d.planes * plane_len, fill) }.0
}

simd_fn! {
/// One plane `[h, w]` (the length of `plane` over `w`) pooled into `out` `[h / 2, w / 2]`.
fn forward_plane(plane: &[f32], out: &mut [MaybeUninit<f32>], w: usize) {
    let (oh, ow) = (plane.len() / w.max(1) / 2, w / 2);
    for oy in 0..oh {
        let (r0, r1) = (&plane[2 * oy * w..][..w], &plane[(2 * oy + 1) * w..][..w]);
        for (ox, o) in out[oy * ow..][..ow].iter_mut().enumerate() {
            let top = r0[2 * ox].max(r0[2 * ox + 1]);
            let bottom = r1[2 * ox].max(r1[2 * ox + 1]);
            o.write(top.max(bottom));
        }
    }
}
}

simd_fn! {
/// One plane's input gradient `dx` from its output gradient `g`: zeros, then each window's
/// gradient at its winner.
fn backward_plane(plane: &[f32], g: &[f32], dx: &mut [MaybeUninit<f32>], w: usize) {
    let (oh, ow) = (plane.len() / w.max(1) / 2, w / 2);
    for v in dx.iter_mut() {
        v.write(0.0);
    }
    for oy in 0..oh {
        let (i0, i1) = (2 * oy * w, (2 * oy + 1) * w);
        for ox in 0..ow {
            let (a, b) = (i0 + 2 * ox, i1 + 2 * ox);
            let at = [a, a + 1, b, b + 1][winner(plane[a], plane[a + 1], plane[b], plane[b + 1])];
            dx[at].write(g[oy * ow + ox]);
        }
    }
}
}
