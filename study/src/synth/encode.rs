//! Encoders for test files, so every compressed syntax is tested on pixels made in the test:
//! RLE, JPEG Lossless (process 14, written here: no Rust crate encodes it) and JPEG-LS.

use crate::dicom::packbits_encode;

/// One RLE Lossless frame (PS3.5 G): one PackBits segment per byte of a sample, most
/// significant byte first, behind the 64-byte header of segment offsets.
pub fn rle_frame(samples: &[u16], bytes_per_sample: usize) -> Vec<u8> {
    let planes: Vec<Vec<u8>> = (0..bytes_per_sample)
        .rev()
        .map(|byte| {
            let mut s = packbits_encode(&samples.iter().map(|v| v.to_le_bytes()[byte]).collect::<Vec<_>>());
            if s.len() % 2 == 1 {
                s.push(0);
            }
            s
        })
        .collect();
    let mut header = [0u32; 16];
    header[0] = planes.len() as u32;
    let mut at = 64;
    for (i, p) in planes.iter().enumerate() {
        header[i + 1] = at;
        at += p.len() as u32;
    }
    let mut frame: Vec<u8> = header.iter().flat_map(|v| v.to_le_bytes()).collect();
    frame.extend(planes.concat());
    frame
}

/// Packs Huffman codes and raw bits, most significant first, with JPEG's 0xFF byte stuffing.
struct BitWriter {
    out: Vec<u8>,
    acc: u32,
    bits: u32,
}

impl BitWriter {
    fn put(&mut self, value: u32, count: u32) {
        for i in (0..count).rev() {
            self.acc = self.acc << 1 | (value >> i & 1);
            self.bits += 1;
            if self.bits == 8 {
                self.byte();
            }
        }
    }

    fn byte(&mut self) {
        let b = self.acc as u8;
        self.out.push(b);
        if b == 0xFF {
            self.out.push(0);
        }
        (self.acc, self.bits) = (0, 0);
    }

    /// Pads the last byte with ones, as T.81 F.1.2.3 asks.
    fn finish(mut self) -> Vec<u8> {
        if self.bits > 0 {
            let pad = 8 - self.bits;
            self.put((1 << pad) - 1, pad);
        }
        self.out
    }
}

/// JPEG Lossless (ISO 10918-1 process 14) of one grayscale frame of `precision` bits (2..=16)
/// with `predictor` 1..=7 (T.81 table H.1) and no point transform. One Huffman table gives every
/// difference category (0..=16) a 5-bit code: valid, if not the smallest file.
pub fn jpeg_lossless(samples: &[u16], width: usize, height: usize, precision: u8, predictor: u8) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    let (h, w) = ((height as u16).to_be_bytes(), (width as u16).to_be_bytes());
    out.extend([0xFF, 0xC3, 0, 11, precision, h[0], h[1], w[0], w[1], 1, 1, 0x11, 0]);
    let mut counts = [0u8; 16];
    counts[4] = 17;
    out.extend([0xFF, 0xC4, 0, 36, 0x00]);
    out.extend(counts);
    out.extend(0..=16u8);
    out.extend([0xFF, 0xDA, 0, 8, 1, 1, 0x00, predictor, 0, 0]);
    let at = |x: usize, y: usize| i32::from(samples[y * width + x]);
    let mut bits = BitWriter { out, acc: 0, bits: 0 };
    for y in 0..height {
        for x in 0..width {
            let prediction = match (x, y) {
                (0, 0) => 1 << (precision - 1),
                (_, 0) => at(x - 1, 0),
                (0, _) => at(0, y - 1),
                _ => {
                    let (ra, rb, rc) = (at(x - 1, y), at(x, y - 1), at(x - 1, y - 1));
                    match predictor {
                        1 => ra,
                        2 => rb,
                        3 => rc,
                        4 => ra + rb - rc,
                        5 => ra + ((rb - rc) >> 1),
                        6 => rb + ((ra - rc) >> 1),
                        _ => (ra + rb) / 2,
                    }
                }
            };
            // Differences are taken modulo 2^16; category 16 stands for 32768 alone.
            let modular = (at(x, y) - prediction) & 0xFFFF;
            let difference = if modular > 0x8000 { modular - 0x1_0000 } else { modular };
            let category = 32 - difference.unsigned_abs().leading_zeros();
            bits.put(category, 5);
            if (1..16).contains(&category) {
                let extra = if difference < 0 { difference - 1 } else { difference };
                bits.put(extra as u32 & ((1 << category) - 1), category);
            }
        }
    }
    let mut out = bits.finish();
    out.extend([0xFF, 0xD9]);
    out
}

/// JPEG-LS (ISO 14495-1) of one grayscale frame: lossless when `near` is 0, else every sample
/// within `near` of the original.
pub fn jpeg_ls(samples: &[u16], width: usize, height: usize, precision: u8, near: u8) -> Vec<u8> {
    let mut options = jpegls::EncodeOptions::default();
    options.near = near;
    options.precision = Some(precision);
    let mut out = Vec::new();
    jpegls::encode_with_options(samples, width as u32, height as u32, &options, &mut out).expect("valid test image");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stuffing_and_padding() {
        let mut w = BitWriter { out: Vec::new(), acc: 0, bits: 0 };
        w.put(0xFF, 8);
        w.put(0, 1);
        assert_eq!(w.finish(), [0xFF, 0x00, 0x7F]);
    }
}
