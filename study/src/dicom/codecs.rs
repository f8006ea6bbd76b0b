//! One compressed frame to its stored samples (unsigned, `bits stored` wide; two's complement bit
//! patterns for signed data), so [`super::pixels`] applies sign, rescale and inversion exactly as
//! for native pixels. Each codec's header is checked against the DICOM pixel module before any
//! pixel is decoded, so a damaged header cannot allocate beyond the size the file already passed.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::dicom::pixels::Layout;
use crate::dicom::uids::Pixels;
use crate::error::{Error, Result};

fn failed(codec: Pixels, detail: impl std::fmt::Display) -> Error {
    Error::Codec { codec: codec.name(), detail: detail.to_string() }
}

/// Decodes one frame of `codec` into `rows x columns` samples.
pub fn decode_frame(codec: Pixels, data: &[u8], layout: &Layout) -> Result<Vec<u16>> {
    if layout.bits_allocated > 16 {
        return Err(Error::UnsupportedPixels(format!(
            "{} bits allocated in {} pixel data (8 or 16 are read)",
            layout.bits_allocated,
            codec.name()
        )));
    }
    // The decoders are pure Rust and return errors, but they are not ours to audit; a panic on
    // a damaged stream must cost the file, not the process (natively; the page aborts instead,
    // which is why the sizes are checked first).
    let decoded = catch_unwind(AssertUnwindSafe(|| match codec {
        Pixels::Jpeg => jpeg(data, layout),
        Pixels::JpegLs => jpeg_ls(data, layout),
        Pixels::Jpeg2000 => jpeg2000(data, layout),
        Pixels::Native | Pixels::Rle => Err(failed(codec, "not a frame codec")),
    }))
    .unwrap_or_else(|_| Err(failed(codec, "the decoder failed on damaged data")))?;
    let limit = if layout.bits_allocated == 8 { 0xFF } else { 0xFFFF };
    if decoded.len() != layout.samples_per_frame() {
        return Err(failed(codec, format!("{} samples for a {}x{} frame", decoded.len(), layout.columns, layout.rows)));
    }
    if decoded.iter().any(|&v| v > limit) {
        return Err(failed(codec, format!("samples wider than the {} bits allocated", layout.bits_allocated)));
    }
    Ok(decoded)
}

fn check_size(codec: Pixels, layout: &Layout, width: usize, height: usize) -> Result<()> {
    if (width, height) != (layout.columns, layout.rows) {
        return Err(failed(codec, format!("a {width}x{height} frame in a {}x{} image", layout.columns, layout.rows)));
    }
    Ok(())
}

/// Baseline, extended (8-bit) and lossless JPEG through jpeg-decoder.
fn jpeg(data: &[u8], layout: &Layout) -> Result<Vec<u16>> {
    use jpeg_decoder::{Decoder, Error as JpegError, PixelFormat, UnsupportedFeature};
    let codec = Pixels::Jpeg;
    let mut decoder = Decoder::new(data);
    decoder.set_max_decoding_buffer_size(layout.samples_per_frame() * 2);
    let explain = |e: JpegError| {
        match e {
        JpegError::Unsupported(UnsupportedFeature::SamplePrecision(12)) => Error::UnsupportedPixels(
            "12-bit JPEG Extended (DCT) frames are not decoded: re-export as JPEG Lossless, JPEG-LS, JPEG 2000 or uncompressed"
                .into(),
        ),
        other => failed(codec, other),
    }
    };
    decoder.read_info().map_err(explain)?;
    let info = decoder.info().ok_or_else(|| failed(codec, "no frame header"))?;
    check_size(codec, layout, usize::from(info.width), usize::from(info.height))?;
    let wide = match info.pixel_format {
        PixelFormat::L8 => false,
        PixelFormat::L16 => true,
        other => {
            return Err(failed(codec, format!("{other:?} frames; MR series are grayscale")));
        }
    };
    let bytes = decoder.decode().map_err(explain)?;
    Ok(if wide {
        bytes.chunks_exact(2).map(|b| u16::from_ne_bytes([b[0], b[1]])).collect()
    } else {
        bytes.iter().map(|&b| u16::from(b)).collect()
    })
}

/// JPEG-LS lossless and near-lossless through pure_jpegls, which checks the frame header's size
/// against the one given.
fn jpeg_ls(data: &[u8], layout: &Layout) -> Result<Vec<u16>> {
    let (w, h) = (layout.columns as u32, layout.rows as u32);
    let (samples, _, _) = jpegls::decode(data, w, h).map_err(|e| failed(Pixels::JpegLs, e))?;
    Ok(samples)
}

/// JPEG 2000 through hayro-jpeg2000. It decodes every component as unsigned (adding the level
/// shift of 2^(precision-1) even to signed ones), so signed components are shifted back here.
fn jpeg2000(data: &[u8], layout: &Layout) -> Result<Vec<u16>> {
    use hayro_jpeg2000::{DecodeSettings, DecoderContext, Image};
    let codec = Pixels::Jpeg2000;
    let settings = DecodeSettings { resolve_palette_indices: false, ..DecodeSettings::default() };
    let image = Image::new(data, &settings).map_err(|e| failed(codec, e))?;
    check_size(codec, layout, image.width() as usize, image.height() as usize)?;
    let signed = first_component_signed(data).ok_or_else(|| failed(codec, "no image size (SIZ) marker"))?;
    let mut context = DecoderContext::default();
    let decoded = image.decode(&mut context).map_err(|e| failed(codec, e))?;
    let [component] = decoded.components() else {
        return Err(failed(codec, format!("{} components; MR series are grayscale", decoded.components().len())));
    };
    let bits = u32::from(component.bit_depth().clamp(1, 16));
    let top = (1i64 << bits) - 1;
    let shift = if signed { 1i64 << (bits - 1) } else { 0 };
    Ok(component
        .samples()
        .iter()
        .map(|&v| {
            let v = (v.round() as i64).clamp(0, top) - shift;
            // Back to the stored bit pattern: two's complement within `bits` for negatives.
            (v & top) as u16
        })
        .collect())
}

/// The sign bit of the first component's Ssiz in the codestream's SIZ marker (ISO 15444-1 A.5.1):
/// SOC, SIZ, Lsiz, Rsiz, eight 32-bit sizes and Csiz come first, 40 bytes after SIZ.
fn first_component_signed(data: &[u8]) -> Option<bool> {
    let soc = data.windows(4).position(|w| w == [0xFF, 0x4F, 0xFF, 0x51])?;
    data.get(soc + 2 + 40).map(|ssiz| ssiz & 0x80 != 0)
}
