//! Winograd F(4x4, 3x3) against im2col: edge tiles, several images, wide and deep layers, a
//! concatenated input and split outputs, and the dispatch between the two.

use super::super::conv3x3::{Dims, Planes, forward, forward_im2col};
use super::{forward_parts, pays};

fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
        })
        .collect()
}

/// max |a - b| / max |b|
fn relative_error(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
    a.iter().zip(b).fold(0.0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

#[test]
fn matches_im2col_on_every_edge_case() {
    // (batch, c_in, c_out, h, w): sides that are and are not multiples of 4, one tile, wide
    // and deep layers, several images.
    for (i, (batch, c_in, c_out, h, w)) in
        [(1, 8, 8, 4, 4), (2, 16, 24, 13, 11), (1, 32, 16, 5, 17), (3, 64, 8, 8, 8), (1, 256, 128, 6, 7), (1, 16, 16, 64, 64)]
            .into_iter()
            .enumerate()
    {
        let d = Dims { batch, c_in, c_out, h, w };
        let x = values(batch * c_in * h * w, i as u32);
        let weight = values(c_out * c_in * 9, 100 + i as u32);
        let bias = values(c_out, 200 + i as u32);
        let ours = forward_parts(Planes::one(&x, c_in, h * w), &weight, Some(&bias), d, &[c_out]).remove(0);
        let mut theirs = forward_im2col(&x, &weight, d);
        for (j, v) in theirs.iter_mut().enumerate() {
            *v += bias[(j / (h * w)) % c_out];
        }
        let err = relative_error(&ours, &theirs);
        assert!(err < 2e-5, "{d:?}: relative error {err}");
    }
}

#[test]
fn the_convolution_takes_it_where_it_pays() {
    let d = Dims { batch: 1, c_in: 16, c_out: 8, h: 32, w: 32 };
    assert!(pays(&d) && !pays(&Dims { c_in: 3, ..d }) && !pays(&Dims { h: 16, w: 16, ..d }));
    let (x, weight) = (values(16 * 32 * 32, 7), values(8 * 16 * 9, 8));
    let err = relative_error(&forward(&x, &weight, d), &forward_im2col(&x, &weight, d));
    // Not bit-equal to im2col: Winograd ran.
    assert!(err > 0.0 && err < 2e-5, "relative error {err}");
}

#[test]
fn reads_a_concatenation_and_writes_split_outputs() {
    let (batch, c_a, c_b, c_out, h, w) = (2, 8, 16, 12, 9, 10);
    let d = Dims { batch, c_in: c_a + c_b, c_out, h, w };
    let (a, b) = (values(batch * c_a * h * w, 1), values(batch * c_b * h * w, 2));
    let weight = values(c_out * d.c_in * 9, 3);
    let parts = forward_parts(Planes::cat(&a, c_a, &b, c_b, h * w), &weight, None, d, &[5, 7]);
    let mut x = Vec::new();
    for image in 0..batch {
        x.extend_from_slice(&a[image * c_a * h * w..(image + 1) * c_a * h * w]);
        x.extend_from_slice(&b[image * c_b * h * w..(image + 1) * c_b * h * w]);
    }
    let whole = forward_im2col(&x, &weight, d);
    let plane = h * w;
    for image in 0..batch {
        for co in 0..c_out {
            let theirs = &whole[(image * c_out + co) * plane..][..plane];
            let (part, c, local) = if co < 5 { (0, 5, co) } else { (1, 7, co - 5) };
            let ours = &parts[part][(image * c + local) * plane..][..plane];
            assert!(relative_error(ours, theirs) < 2e-5, "image {image}, channel {co}");
        }
    }
}
