//! The 3x3 convolution's forward pass as Winograd F(4x4, 3x3) (Lavin & Gray, 2016): every 4x4
//! block of output comes from a 6x6 input patch with 36 products per channel pair instead of
//! im2col's 144, so the matrix products, most of a convolution's time, shrink 4x. The price is
//! transforming input patches, weights and outputs (linear in the channels, not in their product)
//! and a little precision (tested against im2col: errors of 2-8e-6 of the largest output).
//!
//! Per chunk of tile rows: `V[ξ] = Bᵀ d B` for every 6x6 patch `d` of every input channel,
//! then `M[ξ] = U[ξ] x V[ξ]` (one product per ξ of the 36, `U = G g Gᵀ` the transformed
//! weights), then `y = Aᵀ M A + bias`. Every transform runs along contiguous rows (the patch's
//! columns are first split by their position in the tile), so the compiler vectorises them.

use std::mem::MaybeUninit;

use super::conv3x3::{Dims, Planes};
use super::gemm::{Mat, matmul};
use super::parallel::{SharedMut, map_groups, threads, uninit_slice, with_scratch, written_by_parts};
use super::simd::simd_fn;

/// Input patch side and transformed elements per patch.
const P: usize = 6;
const XI: usize = P * P;

/// Floats of one chunk's transformed inputs and outputs together: 2 MiB.
const CHUNK_BUDGET: usize = 1 << 19;

/// Whether F(4x4, 3x3) is the faster way for these shapes (measured at the shipped U-Net's
/// shapes, `benches/kernels.rs`, batch 1). With few input channels the transforms outweigh the
/// products they save (the first layer stays on im2col); on 16x16 planes the transformed weights,
/// 4x the size of the weights, outweigh them. At 32x32 one thread (a page worker) gains 1.4-2x;
/// two threads lose a little there, but the CLI and the page take the same path on every layer,
/// so that their masks differ only by rounding.
pub(super) fn pays(d: &Dims) -> bool {
    d.c_in >= 8 && d.h >= 4 && d.w >= 4 && d.h * d.w >= 32 * 32
}

/// `G g Gᵀ` of every 3x3 kernel, as 36 matrices `[c_out, c_in]`.
fn transform_weights(weight: &[f32], c_out: usize, c_in: usize) -> Vec<f32> {
    let pair = c_out * c_in;
    let mut u = vec![0.0f32; XI * pair];
    // Blocks of kernels, so that the 36 output streams stay in cache while they are written.
    const BLOCK: usize = 64;
    for (i, kernels) in weight.chunks(9 * BLOCK).enumerate() {
        let mut block = [[0.0f32; XI]; BLOCK];
        for (k, out) in kernels.chunks_exact(9).zip(&mut block) {
            *out = transform_kernel(k.try_into().expect("nine weights"));
        }
        let first = i * BLOCK;
        for xi in 0..XI {
            for (dst, src) in u[xi * pair + first..][..kernels.len() / 9].iter_mut().zip(&block) {
                *dst = src[xi];
            }
        }
    }
    u
}

/// `G g Gᵀ` of one 3x3 kernel `g` (row-major), row-major.
fn transform_kernel(k: [f32; 9]) -> [f32; XI] {
    fn g([a, b, c]: [f32; 3]) -> [f32; 6] {
        [a / 4.0, -(a + b + c) / 6.0, -(a - b + c) / 6.0, a / 24.0 + b / 12.0 + c / 6.0, a / 24.0 - b / 12.0 + c / 6.0, c]
    }
    let cols: [[f32; 6]; 3] = std::array::from_fn(|x| g([k[x], k[3 + x], k[6 + x]]));
    let mut u = [0.0f32; XI];
    for (r, row) in u.chunks_exact_mut(P).enumerate() {
        row.copy_from_slice(&g([cols[0][r], cols[1][r], cols[2][r]]));
    }
    u
}

/// `Bᵀ d` for six values `d` along one axis of a patch.
#[inline(always)]
fn bt([d0, d1, d2, d3, d4, d5]: [f32; 6]) -> [f32; 6] {
    [
        4.0 * d0 - 5.0 * d2 + d4,
        (d3 + d4) - 4.0 * (d1 + d2),
        (d4 - d3) + 4.0 * (d1 - d2),
        (d4 - d2) + 2.0 * (d3 - d1),
        (d4 - d2) - 2.0 * (d3 - d1),
        4.0 * d1 - 5.0 * d3 + d5,
    ]
}

/// `Aᵀ m` for six values `m` along one axis of a transformed patch.
#[inline(always)]
fn at([m0, m1, m2, m3, m4, m5]: [f32; 6]) -> [f32; 4] {
    let (s12, d12, s34, d34) = (m1 + m2, m1 - m2, m3 + m4, m3 - m4);
    [m0 + s12 + s34, d12 + 2.0 * d34, s12 + 4.0 * s34, d12 + 8.0 * d34 + m5]
}

/// Tiles of the output: `th x tw` blocks of 4x4 per image.
#[derive(Clone, Copy)]
struct Grid {
    th: usize,
    tw: usize,
}

impl Grid {
    fn new(d: &Dims) -> Self {
        Self { th: d.h.div_ceil(4), tw: d.w.div_ceil(4) }
    }

    /// Floats of one padded, transformed input row (`4 tw + 2`: one column each side).
    fn row(&self) -> usize {
        4 * self.tw + 2
    }
}

/// Per-thread work buffers, cut from one scratch allocation.
struct Buffers<'a> {
    /// Transformed inputs `[36][c_in][tiles]` and products `[36][c_out][tiles]`.
    v: &'a mut [f32],
    m: &'a mut [f32],
    /// Six transformed rows (step one of the input transform), reused as the output
    /// transform's `[4][6][tw]` intermediate.
    rows: &'a mut [f32],
    /// One row's four column phases `[4][tw + 1]`, then the output row.
    phases: &'a mut [f32],
    zeros: &'a mut [f32],
}

fn buffer_len(d: &Dims, grid: Grid, tiles: usize) -> [usize; 5] {
    [XI * d.c_in * tiles, XI * d.c_out * tiles, (P * grid.row()).max(24 * grid.tw), 4 * (grid.tw + 1), d.w]
}

impl<'a> Buffers<'a> {
    fn split(scratch: &'a mut [f32], lens: [usize; 5]) -> Self {
        let (v, rest) = scratch.split_at_mut(lens[0]);
        let (m, rest) = rest.split_at_mut(lens[1]);
        let (rows, rest) = rest.split_at_mut(lens[2]);
        let (phases, rest) = rest.split_at_mut(lens[3]);
        let zeros = &mut rest[..lens[4]];
        zeros.fill(0.0);
        Self { v, m, rows, phases, zeros }
    }
}

/// `conv3x3(x, weight) + bias`, written to output tensors of `out_channels` channels each; see
/// `conv3x3::forward_parts`, which calls this where [`pays`] holds.
pub(super) fn forward_parts(
    x: Planes,
    weight: &[f32],
    bias: Option<&[f32]>,
    d: Dims,
    out_channels: &[usize],
) -> Vec<Vec<f32>> {
    let plane = d.h * d.w;
    let grid = Grid::new(&d);
    let u = transform_weights(weight, d.c_out, d.c_in);
    let lens: Vec<usize> = out_channels.iter().map(|c| d.batch * c * plane).collect();
    // Which output tensor and channel within it each output channel is.
    let targets: Vec<(usize, usize, usize)> = out_channels
        .iter()
        .enumerate()
        .flat_map(|(part, &c)| (0..c).map(move |local| (part, c, local)))
        .collect();
    let threads = threads();
    let tile_rows = d.batch * grid.th;
    let budget_rows = (CHUNK_BUDGET / (XI * (d.c_in + d.c_out) * grid.tw)).max(1);
    // Several chunks per thread even out the last ones, but each chunk re-packs the weights in
    // its products: one thread takes whole budgets.
    let fair_rows = if threads > 1 { tile_rows.div_ceil(2 * threads) } else { tile_rows };
    let chunk_rows = budget_rows.min(fair_rows).max(1);
    let chunks = tile_rows.div_ceil(chunk_rows);
    let split = chunks < threads;
    let buf = buffer_len(&d, grid, chunk_rows * grid.tw);
    let fill = |dst: &[SharedMut]| {
        map_groups(chunks, threads, |range| {
            with_scratch(buf.iter().sum(), |scratch| {
                let mut b = Buffers::split(scratch, buf);
                for chunk in range {
                    let first = chunk * chunk_rows;
                    let rows = chunk_rows.min(tile_rows - first);
                    let tiles = rows * grid.tw;
                    for r in 0..rows {
                        let (image, ty) = ((first + r) / grid.th, (first + r) % grid.th);
                        for ci in 0..d.c_in {
                            transform_input(x.get(image, ci), &d, grid, ty, &mut b, ci, r * grid.tw, tiles);
                        }
                    }
                    for xi in 0..XI {
                        // SAFETY: `b.v` and `b.m` hold [36][c][tiles] floats and `u` [36][c_out][c_in].
                        unsafe {
                            matmul(
                                d.c_out,
                                tiles,
                                d.c_in,
                                Mat::rows(b.m[xi * d.c_out * tiles..].as_mut_ptr(), tiles),
                                false,
                                Mat::rows(u[xi * d.c_out * d.c_in..].as_ptr(), d.c_in),
                                Mat::rows(b.v[xi * d.c_in * tiles..].as_ptr(), tiles),
                                split,
                            )
                        }
                    }
                    for r in 0..rows {
                        let (image, ty) = ((first + r) / grid.th, (first + r) % grid.th);
                        let out_rows = (4 * ty..(4 * ty + 4).min(d.h)).len();
                        for (co, &(part, c, local)) in targets.iter().enumerate() {
                            let start = (image * c + local) * plane + 4 * ty * d.w;
                            // SAFETY: these output rows of this channel belong to this tile row only.
                            let out = unsafe { uninit_slice(dst[part], start, out_rows * d.w) };
                            let b_co = bias.map_or(0.0, |b| b[co]);
                            transform_output(&mut b, &d, grid, co, r * grid.tw, tiles, b_co, out);
                        }
                    }
                }
            })
        });
    };
    // SAFETY: the chunks cover every tile row of every image, and the output transform writes
    // every pixel of its tile row in every output channel.
    unsafe { written_by_parts(&lens, fill) }.0
}

/// `Bᵀ d B` of every patch of tile row `ty` of one input channel, into `b.v[ξ][ci][tile0..]`.
#[allow(clippy::too_many_arguments)]
fn transform_input(src: &[f32], d: &Dims, grid: Grid, ty: usize, b: &mut Buffers, ci: usize, tile0: usize, tiles: usize) {
    let (w, row) = (d.w, grid.row());
    // Step one, down the columns: six transformed rows, zero-padded by one column each side.
    let rows_in: [&[f32]; 6] = std::array::from_fn(|j| {
        let y = (4 * ty + j).wrapping_sub(1);
        if y < d.h { &src[y * w..(y + 1) * w] } else { &b.zeros[..w] }
    });
    {
        let (o0, rest) = b.rows.split_at_mut(row);
        let (o1, rest) = rest.split_at_mut(row);
        let (o2, rest) = rest.split_at_mut(row);
        let (o3, rest) = rest.split_at_mut(row);
        let (o4, o5) = rest.split_at_mut(row);
        let [r0, r1, r2, r3, r4, r5] = rows_in;
        columns_bt(r0, r1, r2, r3, r4, r5, o0, o1, o2, o3, o4, &mut o5[..row], w);
    }
    // Step two, along each row: split it by column position in the tile, then transform.
    let n = grid.tw;
    for i in 0..P {
        let r = &b.rows[i * row..(i + 1) * row];
        let (p01, p23) = b.phases.split_at_mut(2 * (n + 1));
        let (p0, p1) = p01.split_at_mut(n + 1);
        let (p2, p3) = p23.split_at_mut(n + 1);
        deinterleave(r, p0, p1, p2, p3, n);
        let base = |k: usize| ((i * P + k) * d.c_in + ci) * tiles + tile0;
        // Six destinations in one buffer, far apart.
        let [o0, o1, o2, o3, o4, o5] = split_rows(b.v, std::array::from_fn(base), n);
        rows_bt(p0, p1, p2, p3, o0, o1, o2, o3, o4, o5, n);
    }
}

/// Disjoint slices of `n` floats at ascending `starts` in `buf`.
fn split_rows<'a>(buf: &'a mut [f32], starts: [usize; 6], n: usize) -> [&'a mut [f32]; 6] {
    let mut rest = buf;
    let mut taken = 0;
    let mut out: [&mut [f32]; 6] = Default::default();
    for (slot, start) in out.iter_mut().zip(starts) {
        let (_, tail) = std::mem::take(&mut rest).split_at_mut(start - taken);
        let (head, tail) = tail.split_at_mut(n);
        *slot = head;
        rest = tail;
        taken = start + n;
    }
    out
}

// The transforms below take every row as a parameter of its own: the compiler then knows they do
// not overlap and vectorises the loops (rows passed in arrays need a run-time overlap check per
// pair of rows, too many for it to try).

simd_fn! {
/// `oi[x + 1] = (Bᵀ [r0[x] .. r5[x]])[i]`, zero at the padded columns `oi[0]` and `oi[w + 1..]`.
#[allow(clippy::too_many_arguments)]
fn columns_bt(
    r0: &[f32], r1: &[f32], r2: &[f32], r3: &[f32], r4: &[f32], r5: &[f32],
    o0: &mut [f32], o1: &mut [f32], o2: &mut [f32], o3: &mut [f32], o4: &mut [f32], o5: &mut [f32],
    w: usize,
) {
    for o in [&mut *o0, &mut *o1, &mut *o2, &mut *o3, &mut *o4, &mut *o5] {
        o[0] = 0.0;
        o[w + 1..].fill(0.0);
    }
    let (r0, r1, r2, r3, r4, r5) = (&r0[..w], &r1[..w], &r2[..w], &r3[..w], &r4[..w], &r5[..w]);
    let (o0, o1, o2) = (&mut o0[1..=w], &mut o1[1..=w], &mut o2[1..=w]);
    let (o3, o4, o5) = (&mut o3[1..=w], &mut o4[1..=w], &mut o5[1..=w]);
    for x in 0..w {
        let t = bt([r0[x], r1[x], r2[x], r3[x], r4[x], r5[x]]);
        (o0[x], o1[x], o2[x], o3[x], o4[x], o5[x]) = (t[0], t[1], t[2], t[3], t[4], t[5]);
    }
}
}

simd_fn! {
/// `pc[t] = r[4 t + c]`, zero past the row's end (`r` holds `4 n + 2` floats).
fn deinterleave(r: &[f32], p0: &mut [f32], p1: &mut [f32], p2: &mut [f32], p3: &mut [f32], n: usize) {
    let (r, p0, p1, p2, p3) = (&r[..4 * n + 2], &mut p0[..=n], &mut p1[..=n], &mut p2[..=n], &mut p3[..=n]);
    for t in 0..n {
        (p0[t], p1[t], p2[t], p3[t]) = (r[4 * t], r[4 * t + 1], r[4 * t + 2], r[4 * t + 3]);
    }
    (p0[n], p1[n], p2[n], p3[n]) = (r[4 * n], r[4 * n + 1], 0.0, 0.0);
}
}

simd_fn! {
/// Tile `t`'s six values along the row are `p0..p3[t]`, `p0[t + 1]`, `p1[t + 1]`.
#[allow(clippy::too_many_arguments)]
fn rows_bt(
    p0: &[f32], p1: &[f32], p2: &[f32], p3: &[f32],
    o0: &mut [f32], o1: &mut [f32], o2: &mut [f32], o3: &mut [f32], o4: &mut [f32], o5: &mut [f32],
    n: usize,
) {
    let (p0, p1, p2, p3) = (&p0[..=n], &p1[..=n], &p2[..n], &p3[..n]);
    let (o0, o1, o2) = (&mut o0[..n], &mut o1[..n], &mut o2[..n]);
    let (o3, o4, o5) = (&mut o3[..n], &mut o4[..n], &mut o5[..n]);
    for t in 0..n {
        let v = bt([p0[t], p1[t], p2[t], p3[t], p0[t + 1], p1[t + 1]]);
        (o0[t], o1[t], o2[t], o3[t], o4[t], o5[t]) = (v[0], v[1], v[2], v[3], v[4], v[5]);
    }
}
}

/// `Aᵀ M A + bias` of one tile row of output channel `co`, written into its output rows `out`
/// (four, or fewer at the bottom edge).
#[allow(clippy::too_many_arguments)]
fn transform_output(b: &mut Buffers, d: &Dims, grid: Grid, co: usize, tile0: usize, tiles: usize, bias: f32, out: &mut [MaybeUninit<f32>]) {
    let n = grid.tw;
    let m = |xi: usize| &b.m[(xi * d.c_out + co) * tiles + tile0..][..n];
    // Step one, down the columns: t[a][k] for the four output rows a and six columns k.
    let t = &mut b.rows[..24 * n];
    for k in 0..P {
        let (t0, rest) = t[k * n..].split_at_mut(6 * n);
        let (t1, rest) = rest.split_at_mut(6 * n);
        let (t2, t3) = rest.split_at_mut(6 * n);
        columns_at(m(k), m(P + k), m(2 * P + k), m(3 * P + k), m(4 * P + k), m(5 * P + k), t0, t1, t2, t3, n);
    }
    // Step two, along the rows, into the output row (one tile's four pixels side by side).
    let line = &mut b.phases[..4 * n];
    for (a, dst) in out.chunks_exact_mut(d.w).enumerate() {
        let tk = |k: usize| &t[(a * P + k) * n..][..n];
        rows_at(tk(0), tk(1), tk(2), tk(3), tk(4), tk(5), line, bias, n);
        dst.iter_mut().zip(&line[..d.w]).for_each(|(o, &v)| _ = o.write(v));
    }
}

simd_fn! {
/// `ta[x] = (Aᵀ [m0[x] .. m5[x]])[a]` for the four output rows a.
#[allow(clippy::too_many_arguments)]
fn columns_at(
    m0: &[f32], m1: &[f32], m2: &[f32], m3: &[f32], m4: &[f32], m5: &[f32],
    t0: &mut [f32], t1: &mut [f32], t2: &mut [f32], t3: &mut [f32],
    n: usize,
) {
    let (m0, m1, m2, m3, m4, m5) = (&m0[..n], &m1[..n], &m2[..n], &m3[..n], &m4[..n], &m5[..n]);
    let (t0, t1, t2, t3) = (&mut t0[..n], &mut t1[..n], &mut t2[..n], &mut t3[..n]);
    for x in 0..n {
        let v = at([m0[x], m1[x], m2[x], m3[x], m4[x], m5[x]]);
        (t0[x], t1[x], t2[x], t3[x]) = (v[0], v[1], v[2], v[3]);
    }
}
}

simd_fn! {
/// `line[4 x + b] = (Aᵀ [t0[x] .. t5[x]])[b] + bias`.
#[allow(clippy::too_many_arguments)]
fn rows_at(t0: &[f32], t1: &[f32], t2: &[f32], t3: &[f32], t4: &[f32], t5: &[f32], line: &mut [f32], bias: f32, n: usize) {
    let (t0, t1, t2, t3, t4, t5) = (&t0[..n], &t1[..n], &t2[..n], &t3[..n], &t4[..n], &t5[..n]);
    for (x, px) in line[..4 * n].chunks_exact_mut(4).enumerate() {
        let v = at([t0[x], t1[x], t2[x], t3[x], t4[x], t5[x]]);
        px.copy_from_slice(&[v[0] + bias, v[1] + bias, v[2] + bias, v[3] + bias]);
    }
}
}

#[cfg(test)]
mod tests;
