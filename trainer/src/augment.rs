//! Training-time augmentation suited to axial MRI slices: mirror, small rotation/scale/shift,
//! per-channel intensity gain and gamma, and FLAIR copied into the pre/post-contrast channels
//! (how the data fills a missing sequence, and what a lone FLAIR series looks like to the model).
//! Geometry is applied identically to image and mask.

use image::{GrayImage, RgbImage};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Ranges of the random transforms; `none()` disables everything.
#[derive(Debug, Clone, Copy)]
pub struct Augment {
    pub flip: bool,
    pub max_rotation_deg: f32,
    pub max_scale: f32,
    pub max_shift: f32,
    pub max_gain: f32,
    pub max_gamma: f32,
    /// Chance that pre-contrast, post-contrast or both are replaced by FLAIR. Only 4 of the 88
    /// training patients lack sequences, so without this a FLAIR-only study is out of reach.
    pub flair_fill: f32,
}

impl Default for Augment {
    fn default() -> Self {
        Self {
            flip: true,
            max_rotation_deg: 15.0,
            max_scale: 0.1,
            max_shift: 0.05,
            max_gain: 0.1,
            max_gamma: 0.15,
            flair_fill: 0.2,
        }
    }
}

impl Augment {
    pub fn none() -> Self {
        Self { flip: false, max_rotation_deg: 0.0, max_scale: 0.0, max_shift: 0.0, max_gain: 0.0, max_gamma: 0.0, flair_fill: 0.0 }
    }

    /// A randomly transformed copy of `(image, mask)`.
    pub fn apply(&self, image: &RgbImage, mask: &GrayImage, rng: &mut impl Rng) -> (RgbImage, GrayImage) {
        let (mut images, mask) = self.apply_stack(&[image], mask, rng);
        (images.pop().expect("one image in, one out"), mask)
    }

    /// [`Self::apply_stack`] to every `(stack, mask)` of a batch, spread over the cores: on a GPU
    /// the transforms (bilinear warps of 256x256 stacks) would otherwise run on one core while the
    /// device waits. Each item draws from its own generator, seeded from `seed` and its place in
    /// the batch, so a batch comes out the same whatever the number of cores.
    pub fn apply_batch(&self, items: &[(Vec<&RgbImage>, &GrayImage)], seed: u64) -> Vec<(Vec<RgbImage>, GrayImage)> {
        crate::parallel::map_indexed(items, |k, (stack, mask)| {
            let mut rng = SmallRng::seed_from_u64(seed ^ (k as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            self.apply_stack(stack, mask, &mut rng)
        })
    }

    /// [`Self::apply`] to a slice and its neighbours (2.5D input): one draw of every transform,
    /// applied to every slice of the stack alike, as a patient's movement or a scanner's gain
    /// would be; the mask belongs to the stack's middle slice.
    pub fn apply_stack(&self, images: &[&RgbImage], mask: &GrayImage, rng: &mut impl Rng) -> (Vec<RgbImage>, GrayImage) {
        let (w, h) = mask.dimensions();
        let sym = |rng: &mut dyn FnMut() -> f32, m: f32| (rng() * 2.0 - 1.0) * m;
        let mut u = || rng.random::<f32>();
        let flip = self.flip && u() < 0.5;
        let angle = sym(&mut u, self.max_rotation_deg).to_radians();
        let scale = 1.0 + sym(&mut u, self.max_scale);
        let (sx, sy) = (sym(&mut u, self.max_shift) * w as f32, sym(&mut u, self.max_shift) * h as f32);
        let gains: [f32; 3] = std::array::from_fn(|_| 1.0 + sym(&mut u, self.max_gain));
        let gamma = 1.0 + sym(&mut u, self.max_gamma);
        // Which channels take FLAIR's values: pre-contrast, post-contrast or (most often) both.
        let from_flair: [bool; 3] = if u() < self.flair_fill {
            match (u() * 4.0) as usize {
                0 => [true, false, false],
                1 => [false, false, true],
                _ => [true, false, true],
            }
        } else {
            [false; 3]
        };

        // Inverse map: output pixel -> source coordinate, around the centre.
        let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
        let (cos, sin) = (angle.cos() / scale, angle.sin() / scale);
        let source = |x: u32, y: u32| {
            let mut dx = x as f32 + 0.5 - cx - sx;
            let dy = y as f32 + 0.5 - cy - sy;
            if flip {
                dx = -dx;
            }
            (cos * dx + sin * dy + cx - 0.5, -sin * dx + cos * dy + cy - 0.5)
        };
        let lut: Vec<[u8; 256]> = gains
            .iter()
            .map(|g| {
                std::array::from_fn(|v| {
                    let x = v as f32 / 255.0;
                    (x.powf(gamma) * g * 255.0).round().clamp(0.0, 255.0) as u8
                })
            })
            .collect();
        let warp = |image: &RgbImage| {
            RgbImage::from_fn(w, h, |x, y| {
                let (fx, fy) = source(x, y);
                image::Rgb(std::array::from_fn(|c| {
                    let src = if from_flair[c] { 1 } else { c };
                    lut[src][bilinear(image, fx, fy, src)]
                }))
            })
        };
        let out_images = images.iter().map(|i| warp(i)).collect();
        let out_mask = GrayImage::from_fn(w, h, |x, y| {
            let (fx, fy) = source(x, y);
            let (ix, iy) = (fx.round(), fy.round());
            let inside = ix >= 0.0 && iy >= 0.0 && ix < w as f32 && iy < h as f32;
            image::Luma([if inside { mask.get_pixel(ix as u32, iy as u32).0[0] } else { 0 }])
        });
        (out_images, out_mask)
    }
}

/// Bilinear sample of channel `c` at `(x, y)`; outside the image is black.
fn bilinear(img: &RgbImage, x: f32, y: f32, c: usize) -> usize {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let (x0, y0) = (x.floor(), y.floor());
    let (ax, ay) = (x - x0, y - y0);
    let at = |xi: i64, yi: i64| -> f32 {
        if xi < 0 || yi < 0 || xi >= w || yi >= h {
            0.0
        } else {
            img.get_pixel(xi as u32, yi as u32).0[c] as f32
        }
    };
    let (x0, y0) = (x0 as i64, y0 as i64);
    let top = at(x0, y0) * (1.0 - ax) + at(x0 + 1, y0) * ax;
    let bottom = at(x0, y0 + 1) * (1.0 - ax) + at(x0 + 1, y0 + 1) * ax;
    (top * (1.0 - ay) + bottom * ay).round().clamp(0.0, 255.0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use brainseg_core::synthetic::phantom;

    #[test]
    fn identity_when_disabled() {
        let p = phantom(32, 32, 1, true);
        let (i, m) = Augment::none().apply(&p.image, &p.mask, &mut SmallRng::seed_from_u64(0));
        assert_eq!(i, p.image);
        assert_eq!(m, p.mask);
    }

    #[test]
    fn flair_fill_copies_flair_into_the_other_channels() {
        let p = phantom(32, 32, 4, true);
        let always = Augment { flair_fill: 1.0, ..Augment::none() };
        let mut rng = SmallRng::seed_from_u64(5);
        let (mut pre, mut post) = (0, 0);
        for _ in 0..40 {
            let (img, _) = always.apply(&p.image, &p.mask, &mut rng);
            assert_eq!(img.pixels().map(|q| q.0[1]).collect::<Vec<_>>(), p.image.pixels().map(|q| q.0[1]).collect::<Vec<_>>());
            pre += usize::from(img.pixels().all(|q| q.0[0] == q.0[1]));
            post += usize::from(img.pixels().all(|q| q.0[2] == q.0[1]));
        }
        assert!(pre >= 20 && post >= 20 && pre < 40 && post < 40, "{pre} {post}");
    }

    #[test]
    fn a_batch_repeats_with_its_seed_and_its_items_draw_apart() {
        let p = phantom(64, 64, 2, true);
        let items: Vec<_> = (0..6).map(|_| (vec![&p.image], &p.mask)).collect();
        let a = Augment::default().apply_batch(&items, 11);
        let b = Augment::default().apply_batch(&items, 11);
        assert_eq!(a.len(), 6);
        assert!(a.iter().zip(&b).all(|(x, y)| x.0 == y.0 && x.1 == y.1), "same seed, same batch");
        let distinct = a.iter().filter(|x| x.0[0] != a[0].0[0]).count();
        assert!(distinct >= 4, "items share a transform: {distinct} of 5 differ from the first");
    }

    #[test]
    fn mask_moves_with_the_image_and_keeps_its_size() {
        let p = phantom(64, 64, 2, true);
        let area = |m: &GrayImage| m.pixels().filter(|v| v.0[0] != 0).count() as f32;
        let mut rng = SmallRng::seed_from_u64(3);
        for _ in 0..5 {
            let (img, mask) = Augment::default().apply(&p.image, &p.mask, &mut rng);
            let ratio = area(&mask) / area(&p.mask);
            assert!((0.7..1.4).contains(&ratio), "{ratio}");
            // Tumor pixels stay bright in FLAIR after the transform.
            let flair: f32 = mask
                .enumerate_pixels()
                .filter(|(_, _, v)| v.0[0] != 0)
                .map(|(x, y, _)| img.get_pixel(x, y).0[1] as f32)
                .sum::<f32>()
                / area(&mask);
            assert!(flair > 130.0, "{flair}");
        }
    }
}
