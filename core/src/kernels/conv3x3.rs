//! 3x3, stride-1, padding-1 convolution of f32 NCHW data: forward, input gradient and weight
//! gradient, as im2col tiles and one matrix product per tile. On large planes the forward (and so
//! the input gradient) hands over to Winograd F(4x4, 3x3) (`winograd.rs`).
//!
//! A tile is a run of rows of one image; its column matrix (`c_in * 9` rows) is sized to stay in
//! L2 and lives in a per-thread scratch buffer, so nothing is zero-filled per call. The input
//! gradient is the forward kernel run on the output gradient with the weights flipped and
//! transposed, which needs no col2im scatter (and so no write conflicts between threads). The
//! weight gradient is `G x colᵀ` accumulated per thread, then summed.
//!
//! The input may be two tensors whose concatenation along channels is the operand (the U-Net
//! decoder's skip and up-sampled maps): the column tiles read both directly and the input
//! gradient is written as two tensors, so the concatenation and its backward copies are never
//! made (5% of a training step in Burn's `cat` and the gradient slices' copies).

use super::gemm::{Mat, matmul};
use super::parallel::{SharedMut, map_groups, threads, with_scratch, written_by_parts};
use super::simd::simd_fn;
use super::winograd;

/// Shapes of one convolution: input `[batch, c_in, h, w]`, weights `[c_out, c_in, 3, 3]`,
/// output `[batch, c_out, h, w]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    pub batch: usize,
    pub c_in: usize,
    pub c_out: usize,
    pub h: usize,
    pub w: usize,
}

impl Dims {
    fn plane(&self) -> usize {
        self.h * self.w
    }

    fn k(&self) -> usize {
        self.c_in * 9
    }
}

/// An NCHW operand `[batch, channels, h, w]` whose channels lie in one tensor or, in order, in
/// two (`[batch, c_a, h, w]` then `[batch, c_b, h, w]`).
#[derive(Clone, Copy)]
pub struct Planes<'a> {
    parts: [(&'a [f32], usize); 2],
    plane: usize,
}

impl<'a> Planes<'a> {
    /// One tensor of `channels` channels of `plane` pixels each.
    pub fn one(data: &'a [f32], channels: usize, plane: usize) -> Self {
        Self { parts: [(data, channels), (&[], 0)], plane }
    }

    /// The concatenation of `a` (`c_a` channels) and `b` (`c_b` channels) along channels.
    pub fn cat(a: &'a [f32], c_a: usize, b: &'a [f32], c_b: usize, plane: usize) -> Self {
        Self { parts: [(a, c_a), (b, c_b)], plane }
    }

    pub fn channels(&self) -> usize {
        self.parts[0].1 + self.parts[1].1
    }

    /// Channel `ci` of image `image`.
    pub(super) fn get(&self, image: usize, ci: usize) -> &'a [f32] {
        let [(a, c_a), (b, c_b)] = self.parts;
        let (data, c, i) = if ci < c_a { (a, c_a, ci) } else { (b, c_b, ci - c_a) };
        &data[(image * c + i) * self.plane..][..self.plane]
    }

    /// Panics unless this is the input `d` describes.
    fn check(&self, d: &Dims) {
        assert_eq!(self.channels(), d.c_in, "conv3x3: input channels");
        for (data, c) in self.parts {
            assert_eq!(data.len(), d.batch * c * self.plane, "conv3x3: input size");
        }
    }
}

/// Floats of one column tile: 1 MiB, about half of a core's L2 on the machines measured.
const COL_BUDGET: usize = 1 << 18;

#[derive(Debug, Clone, Copy)]
struct Tile {
    image: usize,
    row0: usize,
    rows: usize,
}

/// How one call splits its work: tiles of whole rows, small enough for the column budget and
/// numerous enough that every thread gets work (twice over, to even out the last tiles).
struct Plan {
    tiles: Vec<Tile>,
    threads: usize,
    /// Whether each product should itself use every thread (fewer tiles than threads).
    split: bool,
    /// Floats of the largest tile's column matrix.
    scratch: usize,
}

impl Plan {
    fn new(d: &Dims) -> Self {
        let threads = threads();
        let budget_rows = (COL_BUDGET / (d.k() * d.w).max(1)).max(1);
        let fair_rows = (d.batch * d.h).div_ceil(2 * threads).max(1);
        let rows = budget_rows.min(fair_rows).min(d.h.max(1));
        let mut tiles = Vec::with_capacity(d.batch * d.h.div_ceil(rows));
        for image in 0..d.batch {
            let mut row0 = 0;
            while row0 < d.h {
                let n = rows.min(d.h - row0);
                tiles.push(Tile { image, row0, rows: n });
                row0 += n;
            }
        }
        let scratch = d.k() * tiles.iter().map(|t| t.rows * d.w).max().unwrap_or(0);
        Self { split: tiles.len() < threads, tiles, threads, scratch }
    }
}

/// Column matrix `[c * 9, rows * w]` of rows `row0..row0 + rows` of image `tile.image`:
/// row `ci * 9 + ky * 3 + kx` holds the input shifted by `(ky - 1, kx - 1)`, zero outside.
fn im2col(x: Planes, h: usize, w: usize, tile: Tile, col: &mut [f32]) {
    let t = tile.rows * w;
    for ci in 0..x.channels() {
        let plane = x.get(tile.image, ci);
        for ky in 0..3 {
            for kx in 0..3 {
                let dst = &mut col[(ci * 9 + ky * 3 + kx) * t..][..t];
                for r in 0..tile.rows {
                    let d = &mut dst[r * w..(r + 1) * w];
                    let sy = (tile.row0 + r + ky).wrapping_sub(1);
                    if sy >= h {
                        d.fill(0.0);
                        continue;
                    }
                    let s = &plane[sy * w..(sy + 1) * w];
                    match kx {
                        0 => {
                            d[0] = 0.0;
                            d[1..].copy_from_slice(&s[..w - 1]);
                        }
                        1 => d.copy_from_slice(s),
                        _ => {
                            d[..w - 1].copy_from_slice(&s[1..]);
                            d[w - 1] = 0.0;
                        }
                    }
                }
            }
        }
    }
}

fn check(d: &Dims, x: &Planes, weight: &[f32]) {
    x.check(d);
    assert_eq!(weight.len(), d.c_out * d.k(), "conv3x3: weight size");
}

/// `y = conv3x3(x, weight)`.
pub fn forward(x: &[f32], weight: &[f32], d: Dims) -> Vec<f32> {
    let mut out = forward_parts(Planes::one(x, d.c_in, d.plane()), weight, None, d, &[d.c_out]);
    out.pop().unwrap_or_default()
}

/// `conv3x3(x, weight) + bias` with the output's channels split into tensors of `out_channels`
/// channels each (in order; they sum to `d.c_out`). The bias is added tile by tile while the
/// tile is in cache, instead of in a pass of its own over the whole output.
pub(super) fn forward_parts(x: Planes, weight: &[f32], bias: Option<&[f32]>, d: Dims, out_channels: &[usize]) -> Vec<Vec<f32>> {
    check(&d, &x, weight);
    assert!(bias.is_none_or(|b| b.len() == d.c_out), "conv3x3: bias size");
    assert_eq!(out_channels.iter().sum::<usize>(), d.c_out, "conv3x3: output split");
    if winograd::pays(&d) {
        return winograd::forward_parts(x, weight, bias, d, out_channels);
    }
    im2col_parts(x, weight, bias, d, out_channels)
}

/// [`forward`] as im2col + one product per tile whatever the shapes (for benchmarks and tests
/// that compare it with Winograd's).
pub fn forward_im2col(x: &[f32], weight: &[f32], d: Dims) -> Vec<f32> {
    let x = Planes::one(x, d.c_in, d.plane());
    check(&d, &x, weight);
    im2col_parts(x, weight, None, d, &[d.c_out]).pop().unwrap_or_default()
}

fn im2col_parts(x: Planes, weight: &[f32], bias: Option<&[f32]>, d: Dims, out_channels: &[usize]) -> Vec<Vec<f32>> {
    let (k, plane) = (d.k(), d.plane());
    let lens: Vec<usize> = out_channels.iter().map(|c| d.batch * c * plane).collect();
    let plan = Plan::new(&d);
    let fill = |dst: &[SharedMut]| {
        if d.batch * d.c_out * plane == 0 {
            return;
        }
        map_groups(plan.tiles.len(), plan.threads, |range| {
            with_scratch(plan.scratch, |col| {
                for tile in &plan.tiles[range] {
                    let t = tile.rows * d.w;
                    im2col(x, d.h, d.w, *tile, col);
                    let mut first = 0;
                    for (part, &c) in dst.iter().zip(out_channels) {
                        let offset = tile.image * c * plane + tile.row0 * d.w;
                        // SAFETY: this tile's output columns are written by this call only;
                        // `col` and the weight rows cover k x t and c x k elements.
                        unsafe {
                            matmul(
                                c,
                                t,
                                k,
                                Mat { ptr: part.0.add(offset), row_stride: plane as isize, col_stride: 1 },
                                false,
                                Mat::rows(weight[first * k..].as_ptr(), k),
                                Mat::rows(col.as_ptr(), t),
                                plan.split,
                            )
                        }
                        if let Some(bias) = bias {
                            for (co, &b) in bias[first..first + c].iter().enumerate() {
                                // SAFETY: the row of this tile just written by the product above.
                                add_scalar(unsafe { std::slice::from_raw_parts_mut(part.0.add(offset + co * plane), t) }, b);
                            }
                        }
                        first += c;
                    }
                }
            })
        });
    };
    // SAFETY: the tiles cover every row of every image, and each tile's products write all
    // output channels of its columns, part by part.
    unsafe { written_by_parts(&lens, fill) }.0
}

/// Gradient with respect to the input, from the output gradient `grad` `[batch, c_out, h, w]`.
pub fn input_grad(grad: &[f32], weight: &[f32], d: Dims) -> Vec<f32> {
    input_grad_parts(grad, weight, d, &[d.c_in]).pop().unwrap_or_default()
}

/// Gradient with respect to an input given as parts of `in_channels` channels each (see
/// [`Planes::cat`]), one tensor per part.
pub fn input_grad_parts(grad: &[f32], weight: &[f32], d: Dims, in_channels: &[usize]) -> Vec<Vec<f32>> {
    assert_eq!(weight.len(), d.c_out * d.k(), "conv3x3: weight size");
    // dx[ci, y, x] = sum over co, ky, kx of g[co, y + 1 - ky, x + 1 - kx] * w[co, ci, ky, kx]:
    // a forward convolution of g with w'[ci, co, a, b] = w[co, ci, 2 - a, 2 - b].
    let mut flipped = vec![0.0f32; weight.len()];
    for co in 0..d.c_out {
        for ci in 0..d.c_in {
            for a in 0..9 {
                flipped[(ci * d.c_out + co) * 9 + a] = weight[(co * d.c_in + ci) * 9 + 8 - a];
            }
        }
    }
    let flipped_dims = Dims { c_in: d.c_out, c_out: d.c_in, ..d };
    forward_parts(Planes::one(grad, d.c_out, d.plane()), &flipped, None, flipped_dims, in_channels)
}

simd_fn! {
fn add_scalar(row: &mut [f32], b: f32) {
    row.iter_mut().for_each(|v| *v += b);
}
}

/// Gradient with respect to the bias: the output gradient summed per channel.
#[cfg(feature = "cpu-kernels-train")]
pub fn bias_grad(grad: &[f32], d: Dims) -> Vec<f32> {
    assert_eq!(grad.len(), d.batch * d.c_out * d.plane(), "conv3x3: gradient size");
    let mut db = vec![0.0f32; d.c_out];
    for (i, p) in grad.chunks_exact(d.plane().max(1)).enumerate() {
        db[i % d.c_out] += plane_sum(p);
    }
    db
}

simd_fn! {
/// Sum of `xs` in sixteen partial sums: one long serial f32 sum would lose precision and could
/// not be vectorised.
#[cfg(feature = "cpu-kernels-train")]
fn plane_sum(xs: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 16];
    for c in xs.chunks(16) {
        lanes.iter_mut().zip(c).for_each(|(l, v)| *l += v);
    }
    lanes.iter().sum()
}
}

/// Gradient with respect to the weights `[c_out, c_in, 3, 3]`.
pub fn weight_grad(x: &[f32], grad: &[f32], d: Dims) -> Vec<f32> {
    weight_grad_parts(Planes::one(x, d.c_in, d.plane()), grad, d)
}

/// [`weight_grad`] with the input given as [`Planes`].
pub fn weight_grad_parts(x: Planes, grad: &[f32], d: Dims) -> Vec<f32> {
    x.check(&d);
    assert_eq!(grad.len(), d.batch * d.c_out * d.plane(), "conv3x3: gradient size");
    let (k, plane) = (d.k(), d.plane());
    if plane == 0 {
        return vec![0.0; d.c_out * k];
    }
    let plan = Plan::new(&d);
    // Each group sums dWᵀ [k, c_out]: a column-major destination is the layout the GEMM computes
    // in without transposing the problem, which would make it pack the column tile across its rows.
    let partials = map_groups(plan.tiles.len(), plan.threads, |range| {
        let mut dwt = vec![0.0f32; d.c_out * k];
        with_scratch(plan.scratch, |col| {
            for tile in &plan.tiles[range] {
                let t = tile.rows * d.w;
                im2col(x, d.h, d.w, *tile, col);
                let g = &grad[tile.image * d.c_out * plane + tile.row0 * d.w..];
                // SAFETY: `dw` is this group's own; `g` rows are `plane` apart and hold t
                // columns each; `col` holds k x t elements.
                unsafe {
                    matmul(
                        d.c_out,
                        k,
                        t,
                        Mat { ptr: dwt.as_mut_ptr(), row_stride: 1, col_stride: d.c_out as isize },
                        true,
                        Mat { ptr: g.as_ptr(), row_stride: plane as isize, col_stride: 1 },
                        Mat::transposed(col.as_ptr(), t),
                        plan.split,
                    )
                }
            }
        });
        dwt
    });
    let mut partials = partials.into_iter();
    let mut total = partials.next().unwrap_or_else(|| vec![0.0; d.c_out * k]);
    for p in partials {
        total.iter_mut().zip(&p).for_each(|(a, b)| *a += b);
    }
    let mut dw = vec![0.0f32; d.c_out * k];
    for (kk, row) in total.chunks_exact(d.c_out).enumerate() {
        for (co, &v) in row.iter().enumerate() {
            dw[co * k + kk] = v;
        }
    }
    dw
}
