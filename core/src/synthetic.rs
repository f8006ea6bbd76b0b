//! Synthetic MRI-like phantoms made in code: a noisy elliptical "brain" with a brighter elliptical
//! "tumor" in the FLAIR channel. Used by tests and by the app's "Try an example" — never patient
//! data.

use image::{GrayImage, RgbImage};

/// A small deterministic PRNG (xorshift64*), so phantoms need no `rand` dependency.
#[derive(Debug, Clone)]
pub struct Xorshift(u64);

impl Xorshift {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }
}

/// A phantom slice and its true mask (255 = tumor).
pub struct Phantom {
    pub image: RgbImage,
    pub mask: GrayImage,
}

/// A `width`x`height` phantom; `with_tumor = false` gives a tumor-free slice.
pub fn phantom(width: u32, height: u32, seed: u64, with_tumor: bool) -> Phantom {
    let mut rng = Xorshift::new(seed);
    let (w, h) = (width as f32, height as f32);
    let (bx, by) = (w * rng.range(0.45, 0.55), h * rng.range(0.45, 0.55));
    let (brx, bry) = (w * rng.range(0.32, 0.40), h * rng.range(0.36, 0.44));
    let (tx, ty) = (bx + brx * rng.range(-0.4, 0.4), by + bry * rng.range(-0.4, 0.4));
    let (trx, try_) = (brx * rng.range(0.18, 0.35), bry * rng.range(0.18, 0.35));
    let inside = |x: f32, y: f32, cx: f32, cy: f32, rx: f32, ry: f32| {
        ((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2) <= 1.0
    };
    let mut image = RgbImage::new(width, height);
    let mut mask = GrayImage::new(width, height);
    for y in 0..height {
        for x in 0..width {
            let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
            let noise = rng.range(-12.0, 12.0);
            let mut px = [0f32; 3];
            if inside(fx, fy, bx, by, brx, bry) {
                px = [90.0 + noise, 80.0 + noise, 95.0 + noise];
                if with_tumor && inside(fx, fy, tx, ty, trx, try_) {
                    px[1] += 110.0; // FLAIR hyperintensity
                    px[0] -= 15.0;
                    mask.put_pixel(x, y, image::Luma([255]));
                }
            }
            image.put_pixel(x, y, image::Rgb(px.map(|v| v.clamp(0.0, 255.0) as u8)));
        }
    }
    Phantom { image, mask }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phantoms_are_deterministic_and_tumor_is_inside() {
        let a = phantom(64, 64, 7, true);
        let b = phantom(64, 64, 7, true);
        assert_eq!(a.image, b.image);
        let tumor = a.mask.pixels().filter(|p| p.0[0] == 255).count();
        assert!(tumor > 20, "{tumor}");
        assert!(phantom(64, 64, 7, false).mask.pixels().all(|p| p.0[0] == 0));
    }
}
