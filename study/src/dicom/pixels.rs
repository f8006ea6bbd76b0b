//! Pixel data to intensities: native (uncompressed) samples of 8/16/32 bits, signed or not, RLE
//! Lossless, and the samples of decoded compressed frames, with the modality rescale applied so
//! every series lands on one scale.

use crate::error::{Error, Result};

/// What the image pixel module says about the samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layout {
    pub rows: usize,
    pub columns: usize,
    pub frames: usize,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub signed: bool,
    pub big_endian: bool,
    /// MONOCHROME1: high values are dark.
    pub inverted: bool,
    pub slope: f64,
    pub intercept: f64,
}

impl Layout {
    fn bytes_per_sample(&self) -> Result<usize> {
        match self.bits_allocated {
            8 => Ok(1),
            16 => Ok(2),
            32 => Ok(4),
            b => Err(Error::UnsupportedPixels(format!("{b} bits allocated per sample (8, 16 or 32 are read)"))),
        }
    }

    pub fn samples_per_frame(&self) -> usize {
        self.rows * self.columns
    }

    /// Bytes of one frame; the caller has bounded rows, columns and frames, so this cannot overflow.
    pub fn frame_bytes(&self) -> Result<usize> {
        Ok(self.samples_per_frame() * self.bytes_per_sample()?)
    }

    fn sample(&self, raw: &[u8]) -> f64 {
        let value: u32 = match raw.len() {
            1 => u32::from(raw[0]),
            2 => {
                let b = [raw[0], raw[1]];
                u32::from(if self.big_endian { u16::from_be_bytes(b) } else { u16::from_le_bytes(b) })
            }
            _ => {
                let b = [raw[0], raw[1], raw[2], raw[3]];
                if self.big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) }
            }
        };
        self.value(value)
    }

    /// A stored sample (the low `bits stored` bits; the rest is ignored) as an intensity.
    fn value(&self, value: u32) -> f64 {
        let stored = u32::from(self.bits_stored.clamp(1, 32));
        let mask = if stored == 32 { u32::MAX } else { (1u32 << stored) - 1 };
        let value = value & mask;
        let number = if self.signed && value >> (stored - 1) & 1 == 1 {
            f64::from(value) - 2f64.powi(stored as i32)
        } else {
            f64::from(value)
        };
        number * self.slope + self.intercept
    }
}

/// Native pixel data: `frames` frames of `rows x columns` samples, one after the other.
pub fn native(layout: &Layout, data: &[u8]) -> Result<Vec<f32>> {
    let need = layout.frame_bytes()? * layout.frames;
    if data.len() < need {
        return Err(Error::Truncated { what: "the pixel data", offset: data.len() });
    }
    let width = layout.bytes_per_sample()?;
    let mut out: Vec<f32> = data[..need].chunks_exact(width).map(|s| layout.sample(s) as f32).collect();
    invert_if_needed(layout, &mut out);
    Ok(out)
}

/// Samples of decoded compressed frames, all frames one after the other.
pub fn stored(layout: &Layout, samples: &[u16]) -> Vec<f32> {
    let mut out: Vec<f32> = samples.iter().map(|&v| layout.value(u32::from(v)) as f32).collect();
    invert_if_needed(layout, &mut out);
    out
}

/// RLE Lossless (PS3.5 annex G): one byte-plane segment per byte of a sample, most significant
/// first, in each frame.
pub fn rle(layout: &Layout, frames: &[impl AsRef<[u8]>]) -> Result<Vec<f32>> {
    let width = layout.bytes_per_sample()?;
    let n = layout.samples_per_frame();
    let mut raw = Vec::with_capacity(n * width * layout.frames);
    for frame in frames {
        let planes = rle_planes(frame.as_ref(), width, n)?;
        // Reassemble samples in the byte order `Layout::sample` reads (little endian).
        let start = raw.len();
        raw.resize(start + n * width, 0);
        for (plane_index, plane) in planes.iter().enumerate() {
            let byte = width - 1 - plane_index;
            for (i, &b) in plane.iter().enumerate() {
                raw[start + i * width + byte] = b;
            }
        }
    }
    let little = Layout { big_endian: false, ..*layout };
    native(&little, &raw)
}

fn rle_planes(fragment: &[u8], planes: usize, samples: usize) -> Result<Vec<Vec<u8>>> {
    let bad = |why: &str| Error::Malformed(format!("RLE frame: {why}"));
    let header = fragment.get(..64).ok_or_else(|| bad("header missing"))?;
    let word = |i: usize| u32::from_le_bytes(header[i * 4..i * 4 + 4].try_into().expect("four bytes")) as usize;
    if word(0) != planes {
        return Err(bad(&format!("{} segments, expected {planes}", word(0))));
    }
    (0..planes)
        .map(|p| {
            let start = word(p + 1);
            let end = if p + 1 < planes { word(p + 2) } else { fragment.len() };
            let segment = fragment.get(start..end).ok_or_else(|| bad("segment offsets out of range"))?;
            packbits(segment, samples).ok_or_else(|| bad("segment decodes to the wrong length"))
        })
        .collect()
}

/// PackBits as DICOM uses it; `None` when the output is shorter than `samples`.
fn packbits(mut input: &[u8], samples: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(samples);
    while out.len() < samples {
        let (&n, rest) = input.split_first()?;
        let n = n as i8;
        if n >= 0 {
            let count = n as usize + 1;
            out.extend_from_slice(rest.get(..count)?);
            input = &rest[count..];
        } else if n != -128 {
            let (&b, rest) = rest.split_first()?;
            out.extend(std::iter::repeat_n(b, (1 - n as isize) as usize));
            input = rest;
        } else {
            input = rest;
        }
    }
    out.truncate(samples);
    Some(out)
}

fn invert_if_needed(layout: &Layout, values: &mut [f32]) {
    if !layout.inverted {
        return;
    }
    let (lo, hi) = values.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    for v in values {
        *v = hi + lo - *v;
    }
}

/// PackBits-encodes one plane (used to write RLE test files).
pub fn packbits_encode(plane: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in plane.chunks(128) {
        out.push((chunk.len() - 1) as u8);
        out.extend_from_slice(chunk);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(bits: u16, signed: bool) -> Layout {
        Layout {
            rows: 1,
            columns: 2,
            frames: 1,
            bits_allocated: bits,
            bits_stored: if bits == 16 { 12 } else { bits },
            signed,
            big_endian: false,
            inverted: false,
            slope: 1.0,
            intercept: 0.0,
        }
    }

    #[test]
    fn signed_12_bit_samples_are_sign_extended() {
        // 0x0FFF in 12 bits is -1; the unused high bits are ignored.
        let data = [0xFF, 0xFF, 0x10, 0x00];
        assert_eq!(native(&layout(16, true), &data).unwrap(), [-1.0, 16.0]);
        assert_eq!(native(&layout(16, false), &data).unwrap(), [4095.0, 16.0]);
    }

    #[test]
    fn short_pixel_data_is_truncation() {
        assert!(matches!(native(&layout(16, false), &[1, 2, 3]), Err(Error::Truncated { .. })));
    }

    #[test]
    fn packbits_runs_and_literals() {
        assert_eq!(packbits(&[0xFE, 7, 1, 1, 2], 5).unwrap(), [7, 7, 7, 1, 2]);
        assert!(packbits(&[0xFE], 3).is_none());
        let plane: Vec<u8> = (0..300).map(|i| (i % 7) as u8).collect();
        assert_eq!(packbits(&packbits_encode(&plane), 300).unwrap(), plane);
    }
}
