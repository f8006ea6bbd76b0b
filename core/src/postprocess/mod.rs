//! From probabilities to masks, tumor size and overlays: per slice here, per volume (3D
//! components across slices) in [`volume`].

pub mod volume;

use image::imageops::{FilterType, resize};
use image::{GrayImage, ImageBuffer, Luma, RgbImage};
use serde::{Deserialize, Serialize};

pub use volume::{VolumeRule, apply_volume_rule, volume_kept, volume_masks};

/// How probabilities become a mask. Chosen on the validation split and stored in the model file.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PostProcess {
    /// Probability at or above which a pixel is tumor.
    pub threshold: f32,
    /// Connected tumor regions smaller than this many pixels (at the model's input size) are
    /// dropped: isolated specks are nearly always false positives on this data.
    pub min_component_area: usize,
    /// What a volume (a study, a patient's numbered slices) keeps of its 3D tumor components;
    /// lone slices are not affected. Model files from before this field: off.
    #[serde(default)]
    pub volume: VolumeRule,
}

impl Default for PostProcess {
    fn default() -> Self {
        Self { threshold: 0.5, min_component_area: 0, volume: VolumeRule::Off }
    }
}

impl PostProcess {
    /// Per-slice settings only (threshold and minimum region), the 3D step off.
    pub fn slice(threshold: f32, min_component_area: usize) -> Self {
        Self { threshold, min_component_area, volume: VolumeRule::Off }
    }
}

/// Labels 8-connected regions of `mask` (non-zero = on) and clears those under `min_area`.
pub fn remove_small_components(mask: &mut [u8], width: usize, min_area: usize) {
    if min_area <= 1 || width == 0 {
        return;
    }
    for region in volume::components(&[&*mask], width) {
        if region.voxels.len() < min_area {
            for &(_, i) in &region.voxels {
                mask[i] = 0;
            }
        }
    }
}

/// The final mask of one slice at its original size (255 = tumor).
///
/// `probs` is the network's `size`x`size` probability map. Small regions are removed at the
/// model's resolution, then the surviving probabilities are resized bilinearly and thresholded,
/// which gives smoother outlines than resizing a binary mask.
pub fn mask_from_probabilities(
    probs: &[f32],
    size: u32,
    width: u32,
    height: u32,
    post: &PostProcess,
) -> GrayImage {
    mask_from_kept(probs, &kept_pixels(probs, size, post), size, width, height, post.threshold)
}

/// The pixels at the model's resolution that are tumor after the threshold and the minimum
/// region (1 = tumor): what the 3D step works on.
pub fn kept_pixels(probs: &[f32], size: u32, post: &PostProcess) -> Vec<u8> {
    let mut keep: Vec<u8> = probs.iter().map(|&p| u8::from(p >= post.threshold)).collect();
    remove_small_components(&mut keep, size as usize, post.min_component_area);
    keep
}

/// The mask at `width`x`height` of the probabilities where `keep` is set (see
/// [`mask_from_probabilities`]).
pub fn mask_from_kept(probs: &[f32], keep: &[u8], size: u32, width: u32, height: u32, threshold: f32) -> GrayImage {
    let kept: Vec<f32> = probs.iter().zip(keep).map(|(&p, &k)| if k != 0 { p } else { 0.0 }).collect();
    let binarize = |p: f32| if p >= threshold { 255u8 } else { 0 };
    let resized = resize_probabilities(kept, size, width, height);
    GrayImage::from_vec(width, height, resized.into_iter().map(binarize).collect())
        .expect("width*height pixels")
}

/// A `size`x`size` probability map resized bilinearly to `width`x`height` (returned as it is
/// where the size already matches): how a mask returns to its slice's size, and how the maps of
/// ensemble members run at different input sizes (a multi-scale ensemble) meet on one grid.
pub fn resize_probabilities(probs: Vec<f32>, size: u32, width: u32, height: u32) -> Vec<f32> {
    if (width, height) == (size, size) {
        return probs;
    }
    let map: ImageBuffer<Luma<f32>, Vec<f32>> =
        ImageBuffer::from_vec(size, size, probs).expect("size*size probabilities");
    resize(&map, width, height, FilterType::Triangle).into_raw()
}

/// Percentage of the slice's pixels marked as tumor.
pub fn coverage_percent(mask: &GrayImage) -> f64 {
    let total = mask.as_raw().len();
    if total == 0 {
        return 0.0;
    }
    let on = mask.as_raw().iter().filter(|&&v| v != 0).count();
    100.0 * on as f64 / total as f64
}

/// The FLAIR channel as gray with the tumor tinted red at `opacity` (0..=1).
pub fn overlay(image: &RgbImage, mask: &GrayImage, opacity: f32) -> RgbImage {
    let a = opacity.clamp(0.0, 1.0);
    RgbImage::from_fn(image.width(), image.height(), |x, y| {
        let flair = image.get_pixel(x, y).0[1] as f32;
        let on = mask.get_pixel_checked(x, y).is_some_and(|m| m.0[0] != 0);
        if on {
            let blend = |to: f32| (flair * (1.0 - a) + to * a).round() as u8;
            image::Rgb([blend(255.0), blend(0.0), blend(0.0)])
        } else {
            image::Rgb([flair as u8; 3])
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_components_are_removed_and_large_kept() {
        #[rustfmt::skip]
        let mut m = vec![
            1, 0, 0, 0, 0,
            0, 0, 1, 1, 0,
            0, 0, 1, 1, 0,
            0, 0, 0, 1, 0,
        ];
        remove_small_components(&mut m, 5, 3);
        assert_eq!(m.iter().filter(|&&v| v != 0).count(), 5);
        assert_eq!(m[0], 0);
    }

    #[test]
    fn diagonal_pixels_are_one_component() {
        let mut m = vec![1, 0, 0, 1];
        remove_small_components(&mut m, 2, 2);
        assert_eq!(m, vec![1, 0, 0, 1]);
    }

    #[test]
    fn mask_is_resized_back_to_the_input_size() {
        let mut probs = vec![0.0f32; 16 * 16];
        for y in 4..12 {
            for x in 4..12 {
                probs[y * 16 + x] = 0.9;
            }
        }
        let post = PostProcess::slice(0.5, 4);
        let mask = mask_from_probabilities(&probs, 16, 64, 32, &post);
        assert_eq!(mask.dimensions(), (64, 32));
        let cov = coverage_percent(&mask);
        assert!((cov - 25.0).abs() < 3.0, "{cov}");
    }

    #[test]
    fn probabilities_resize_onto_another_grid_keeping_where_the_tumor_is() {
        // A 10x10 map whose left half is tumor, brought onto a 16x16 grid.
        let probs: Vec<f32> = (0..100).map(|i| if i % 10 < 5 { 0.9 } else { 0.1 }).collect();
        let out = resize_probabilities(probs.clone(), 10, 16, 16);
        assert_eq!(out.len(), 256);
        assert!(out.iter().all(|&p| (0.1 - 1e-5..=0.9 + 1e-5).contains(&p)), "no value outside the input's range");
        let row: Vec<f32> = out[8 * 16..9 * 16].to_vec();
        assert!(row[..7].iter().all(|&p| p > 0.85) && row[9..].iter().all(|&p| p < 0.15), "{row:?}");
        assert_eq!(resize_probabilities(probs.clone(), 10, 10, 10), probs, "the same grid is left as it is");
    }

    #[test]
    fn overlay_tints_only_tumor_pixels() {
        let img = RgbImage::from_pixel(2, 1, image::Rgb([10, 100, 20]));
        let mask = GrayImage::from_vec(2, 1, vec![255, 0]).unwrap();
        let o = overlay(&img, &mask, 1.0);
        assert_eq!(o.get_pixel(0, 0).0, [255, 0, 0]);
        assert_eq!(o.get_pixel(1, 0).0, [100, 100, 100]);
    }
}
