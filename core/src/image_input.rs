//! Decoding and validating input slices and masks from bytes (no file I/O here).
//!
//! The model wants 8-bit RGB = (pre-contrast, FLAIR, post-contrast). What can be turned into that
//! without guessing is converted and reported as a [`Conversion`]; what cannot is an [`Error`].

use std::fmt;
use std::io::Cursor;

use image::{DynamicImage, GrayImage, ImageReader, Limits, RgbImage};

use crate::error::{Error, Result};

/// Largest accepted width or height; larger images are refused before decoding.
pub const MAX_SIDE: u32 = 8192;

/// A change made to an input so the model can read it. Reported to the user, never silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// One channel: copied into all three, as the dataset does for missing sequences.
    GrayToRgb,
    /// More than 8 bits per sample: linearly windowed to 8 bits (0 .. 99.9th percentile).
    To8Bit,
    /// An alpha channel was dropped.
    AlphaDropped,
}

impl fmt::Display for Conversion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Conversion::GrayToRgb => "single-channel image: used as FLAIR for all three channels",
            Conversion::To8Bit => "more than 8 bits per sample: windowed to 8 bits",
            Conversion::AlphaDropped => "alpha channel ignored",
        })
    }
}

/// An input slice ready for [`crate::infer`], with what was done to it.
#[derive(Debug, Clone)]
pub struct Slice {
    pub image: RgbImage,
    pub conversions: Vec<Conversion>,
}

fn decode(bytes: &[u8]) -> Result<DynamicImage> {
    if bytes.is_empty() {
        return Err(Error::EmptyFile);
    }
    let reader = || {
        ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| Error::Decode(e.to_string()))
    };
    if reader()?.format().is_none() {
        return Err(Error::UnknownFormat);
    }
    let (width, height) = reader()?.into_dimensions().map_err(|e| Error::Decode(e.to_string()))?;
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(Error::TooLarge { width, height, max: MAX_SIDE });
    }
    if width == 0 || height == 0 {
        return Err(Error::NoPixels { width, height });
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    let mut r = reader()?;
    r.limits(limits);
    r.decode().map_err(|e| match e {
        image::ImageError::Unsupported(u) => Error::UnsupportedPixels(u.to_string()),
        other => Error::Decode(other.to_string()),
    })
}

/// Maps 16-bit or float samples to 8 bits: 0 stays 0, the 99.9th percentile becomes 255.
fn window_to_8bit(samples: Vec<f32>) -> Vec<u8> {
    let mut sorted: Vec<f32> = samples.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f32::total_cmp);
    let top = sorted.get((sorted.len().saturating_sub(1)) * 999 / 1000).copied().unwrap_or(0.0);
    let scale = if top > 0.0 { 255.0 / top } else { 0.0 };
    samples.into_iter().map(|v| (v.max(0.0) * scale).round().clamp(0.0, 255.0) as u8).collect()
}

/// Decodes an MRI slice (PNG, JPEG, TIFF, WebP) into 8-bit RGB.
pub fn decode_slice(bytes: &[u8]) -> Result<Slice> {
    let img = decode(bytes)?;
    let (w, h) = (img.width(), img.height());
    let color = img.color();
    let mut conversions = Vec::new();
    if !color.has_color() {
        conversions.push(Conversion::GrayToRgb);
    }
    if color.has_alpha() {
        conversions.push(Conversion::AlphaDropped);
    }
    let image = if color.bytes_per_pixel() / color.channel_count() as u8 > 1 {
        conversions.push(Conversion::To8Bit);
        let rgb = img.to_rgb32f();
        let scale = match img {
            // to_rgb32f maps integers to 0..1; restore the sample range before windowing.
            DynamicImage::ImageLuma16(_)
            | DynamicImage::ImageLumaA16(_)
            | DynamicImage::ImageRgb16(_)
            | DynamicImage::ImageRgba16(_) => 65535.0,
            _ => 1.0,
        };
        let samples = rgb.into_raw().into_iter().map(|v| v * scale).collect();
        RgbImage::from_raw(w, h, window_to_8bit(samples))
            .ok_or_else(|| Error::Decode("pixel buffer of the wrong size".into()))?
    } else {
        img.to_rgb8()
    };
    Ok(Slice { image, conversions })
}

/// Decodes a ground-truth mask: any format above, non-zero (after gray conversion) = tumor.
/// Returns a mask with 255 = tumor, 0 = background.
pub fn decode_mask(bytes: &[u8]) -> Result<GrayImage> {
    let mut mask = decode(bytes)?.to_luma8();
    for p in mask.pixels_mut() {
        p.0[0] = if p.0[0] > 127 { 255 } else { 0 };
    }
    Ok(mask)
}
