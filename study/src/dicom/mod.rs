//! One DICOM file to intensities and the geometry needed to stack it into a volume.
//!
//! A reader of our own rather than a general DICOM toolkit: brainseg needs ~20 attributes and
//! the pixels, it must build for the browser, and a small reader is quick to fuzz.

mod codecs;
mod encapsulated;
pub mod functional;
pub mod modality;
mod pixels;
pub mod reader;
pub mod seg;
pub mod source;
pub mod uids;
pub mod writer;

use std::collections::HashMap;

pub use pixels::packbits_encode;
use pixels::Layout;
use reader::{Encoding, PIXEL_DATA, Reader, Value};
use uids::Pixels;

use crate::error::{Error, MAX_SIDE, MAX_VOXELS, Result, read_limited};

/// One DICOM image file: its pixels (all frames, rescaled) and the attributes that place it.
#[derive(Debug, Clone, PartialEq)]
pub struct DicomImage {
    pub transfer_syntax: String,
    pub modality: String,
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub frame_of_reference_uid: String,
    /// The patient and study attributes of [`source::IDENTITY`] the file has, raw.
    pub identity: Vec<(u32, Vec<u8>)>,
    pub study_uid: String,
    pub series_uid: String,
    pub series_description: String,
    pub series_number: Option<i64>,
    pub instance_number: Option<i64>,
    /// Image Position (Patient): the centre of the first pixel, LPS millimetres.
    pub position: Option<[f64; 3]>,
    /// Image Orientation (Patient): the row direction, then the column direction.
    pub orientation: Option<[f64; 6]>,
    /// Pixel Spacing: between rows, then between columns, in millimetres.
    pub pixel_spacing: Option<[f64; 2]>,
    pub slice_thickness: Option<f64>,
    pub spacing_between_slices: Option<f64>,
    pub rows: usize,
    pub columns: usize,
    pub frames: usize,
    /// `frames * rows * columns` intensities, row by row.
    pub pixels: Vec<f32>,
    /// Per frame, where the object keeps geometry in functional groups (Enhanced MR); empty
    /// otherwise. [`functional::split`] makes one image per frame of it.
    pub frame_geometry: Vec<functional::FrameGeometry>,
    /// The frame (from 1) this image was of a multi-frame object, once split.
    pub frame_number: Option<usize>,
    /// The stack (Stack ID) of a split frame: one series per stack.
    pub stack: Option<String>,
}

/// Where a file without a preamble may still be DICOM: it starts with a group-0002 or 0008 tag
/// (little or big endian).
fn looks_like_bare_dataset(bytes: &[u8]) -> bool {
    matches!(bytes.get(..2), Some([0x02, 0x00] | [0x08, 0x00] | [0x00, 0x08]))
}

const VRS: [&[u8; 2]; 34] = [
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT", b"OB", b"OD", b"OF", b"OL", b"OV",
    b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM", b"UC", b"UI", b"UL", b"UN", b"UR", b"US", b"UT", b"UV",
];

/// The encoding a data set really uses, from its first element: some writers put implicit VR
/// under an explicit syntax, or leave out the meta group of an explicit VR file (pydicom and
/// dcmtk read both the same way). Implicit VR has length bytes where explicit VR has letters.
fn actual_encoding(data: &[u8], pos: usize, declared: Encoding, has_syntax: bool) -> Encoding {
    let explicit = data.get(pos + 4..pos + 6).is_some_and(|vr| VRS.iter().any(|v| v[..] == *vr));
    let big = data.get(pos..pos + 2).is_some_and(|g| g[0] == 0 && g[1] != 0);
    match (explicit, declared) {
        (false, _) => Encoding::ImplicitLe,
        (true, Encoding::ImplicitLe) if !has_syntax && big => Encoding::ExplicitBe,
        (true, Encoding::ImplicitLe) => Encoding::ExplicitLe,
        (true, declared) => declared,
    }
}

/// Whether `bytes` look like DICOM (for picking DICOM files out of a folder of anything).
pub fn sniff(bytes: &[u8]) -> bool {
    bytes.get(128..132) == Some(b"DICM") || looks_like_bare_dataset(bytes) && bytes.len() >= 8
}

/// Parses a DICOM file into an image; non-image objects and unsupported encodings are errors.
pub fn parse(bytes: &[u8]) -> Result<DicomImage> {
    read(bytes, true)
}

/// [`parse`] for any modality: the pixels of a CT or a screenshot too (for comparing decoders
/// with other readers; nothing to segment).
pub fn parse_any_modality(bytes: &[u8]) -> Result<DicomImage> {
    read(bytes, false)
}

fn read(bytes: &[u8], mr_only: bool) -> Result<DicomImage> {
    if bytes.is_empty() {
        return Err(Error::Empty);
    }
    let with_meta = bytes.get(128..132) == Some(b"DICM");
    let start = if with_meta { 132 } else { 0 };
    if !with_meta && !looks_like_bare_dataset(bytes) {
        return Err(Error::NotDicom);
    }
    // The file meta group is always explicit VR little endian.
    let mut meta = Reader::new(bytes, start, Encoding::ExplicitLe);
    let mut syntax_uid = None;
    while meta.peek_group() == Some(0x0002) {
        let Some(e) = meta.next_element()? else { break };
        if e.tag == 0x0002_0010
            && let Value::Bytes(b) = e.value
        {
            syntax_uid = Some(text(b));
        }
    }
    // Without a meta group the default is implicit VR little endian (PS3.5 A.1).
    let has_syntax = syntax_uid.is_some();
    let syntax_uid = syntax_uid.unwrap_or_else(|| "1.2.840.10008.1.2".to_string());
    let syntax = uids::syntax(&syntax_uid)?;
    let body_start = meta.pos;
    let inflated;
    let (data, pos) = if syntax.deflated {
        inflated = inflate(&bytes[body_start..])?;
        (inflated.as_slice(), 0)
    } else {
        (bytes, body_start)
    };
    let encoding = actual_encoding(data, pos, syntax.encoding, has_syntax);
    let mut reader = Reader::new(data, pos, encoding);
    let mut fields: HashMap<u32, Value> = HashMap::new();
    while let Some(e) = reader.next_element()? {
        let is_pixels = e.tag == PIXEL_DATA;
        fields.insert(e.tag, e.value);
        // Trailing padding after the pixels is common and of no interest.
        if is_pixels {
            break;
        }
    }
    decode(&fields, syntax_uid, encoding.big_endian(), syntax.pixels, mr_only)
}

fn inflate(deflated: &[u8]) -> Result<Vec<u8>> {
    let limit = (MAX_VOXELS * 4) as u64;
    read_limited(flate2::read::DeflateDecoder::new(deflated), limit, "the deflated DICOM data set")
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_string()
}

pub(crate) struct Fields<'a> {
    pub map: &'a HashMap<u32, Value<'a>>,
    pub big_endian: bool,
}

impl Fields<'_> {
    pub(crate) fn bytes(&self, tag: u32) -> Option<&[u8]> {
        match self.map.get(&tag) {
            Some(Value::Bytes(b)) => Some(b),
            _ => None,
        }
    }

    pub(crate) fn text(&self, tag: u32) -> String {
        self.bytes(tag).map(text).unwrap_or_default()
    }

    pub(crate) fn us(&self, tag: u32) -> Option<u16> {
        let b: [u8; 2] = self.bytes(tag)?.get(..2)?.try_into().ok()?;
        Some(if self.big_endian { u16::from_be_bytes(b) } else { u16::from_le_bytes(b) })
    }

    /// Decimal or integer strings, backslash-separated.
    pub(crate) fn numbers(&self, tag: u32) -> Option<Vec<f64>> {
        let values: Option<Vec<f64>> = self.text(tag).split('\\').map(|s| s.trim().parse::<f64>().ok()).collect();
        values.filter(|v| !v.is_empty() && v.iter().all(|x| x.is_finite()))
    }

    pub(crate) fn array<const N: usize>(&self, tag: u32) -> Option<[f64; N]> {
        self.numbers(tag)?.get(..N)?.try_into().ok()
    }

    pub(crate) fn positive(&self, tag: u32) -> Option<f64> {
        self.numbers(tag)?.first().copied().filter(|v| *v > 0.0)
    }

    pub(crate) fn integer(&self, tag: u32) -> Option<i64> {
        self.numbers(tag)?.first().map(|v| *v as i64)
    }
}

fn decode(map: &HashMap<u32, Value>, transfer_syntax: String, big_endian: bool, codec: Pixels, mr_only: bool) -> Result<DicomImage> {
    let f = Fields { map, big_endian };
    let sop_class = f.text(0x0008_0016);
    let Some(pixel_data) = map.get(&PIXEL_DATA) else {
        let what = uids::non_image_class(&sop_class).map_or_else(|| format!("SOP class {sop_class}"), str::to_string);
        return Err(Error::NoImage(format!("{what}; no pixel data")));
    };
    // Before decoding: a CT or a dose grid is refused for what it is, not for its pixels.
    if mr_only {
        modality::check(&sop_class, &f.text(0x0008_0060))?;
    }
    let samples = f.us(0x0028_0002).unwrap_or(1);
    if samples != 1 {
        return Err(Error::UnsupportedPixels(format!("{samples} samples per pixel (colour); MR series are grayscale")));
    }
    let photometric = f.text(0x0028_0004);
    let rows = usize::from(f.us(0x0028_0010).unwrap_or(0));
    let columns = usize::from(f.us(0x0028_0011).unwrap_or(0));
    let frames = f.integer(0x0028_0008).unwrap_or(1);
    if rows == 0 || columns == 0 {
        return Err(Error::UnsupportedPixels(format!("{columns}x{rows} pixels")));
    }
    if rows > MAX_SIDE || columns > MAX_SIDE || !(1..=4096).contains(&frames) {
        return Err(Error::TooLarge(format!("{columns}x{rows} pixels x {frames} frames")));
    }
    let frames = frames as usize;
    if rows * columns * frames > MAX_VOXELS {
        return Err(Error::TooLarge(format!("{columns}x{rows}x{frames} voxels; the limit is {MAX_VOXELS}")));
    }
    let bits_allocated = f.us(0x0028_0100).unwrap_or(16);
    let first = |tag| f.numbers(tag).and_then(|v| v.first().copied());
    let layout = Layout {
        rows,
        columns,
        frames,
        bits_allocated,
        bits_stored: f.us(0x0028_0101).unwrap_or(bits_allocated).min(bits_allocated),
        signed: f.us(0x0028_0103) == Some(1),
        big_endian,
        inverted: photometric == "MONOCHROME1",
        slope: first(0x0028_1053).filter(|s| *s != 0.0).unwrap_or(1.0),
        intercept: first(0x0028_1052).unwrap_or(0.0),
    };
    let pixels = match (pixel_data, codec) {
        (Value::Bytes(b), Pixels::Native) => pixels::native(&layout, b)?,
        (Value::Encapsulated { .. }, Pixels::Native) => {
            return Err(Error::Malformed("encapsulated pixel data in an uncompressed transfer syntax".into()));
        }
        (Value::Encapsulated { offsets, fragments }, _) => {
            let frames = encapsulated::frames(codec, offsets, fragments, frames)?;
            if codec == Pixels::Rle {
                pixels::rle(&layout, &frames)?
            } else {
                let mut samples = Vec::with_capacity(layout.samples_per_frame() * frames.len());
                for frame in &frames {
                    samples.extend(codecs::decode_frame(codec, frame, &layout)?);
                }
                pixels::stored(&layout, &samples)
            }
        }
        _ => {
            let name = codec.name();
            return Err(Error::Malformed(format!("{name} transfer syntax without encapsulated pixel data")));
        }
    };
    let frame_geometry = functional::frames(map, frames, big_endian)?;
    // Enhanced objects rescale per frame in their functional groups, not at the top level.
    let top_level_rescale = map.contains_key(&0x0028_1053) || map.contains_key(&0x0028_1052);
    let mut pixels = pixels;
    if !top_level_rescale {
        for (g, frame) in frame_geometry.iter().zip(pixels.chunks_mut(rows * columns)) {
            if let Some((slope, intercept)) = g.rescale {
                frame.iter_mut().for_each(|v| *v = (f64::from(*v) * slope + intercept) as f32);
            }
        }
    }
    let identity = source::IDENTITY.iter().filter_map(|&(tag, ..)| Some((tag, f.bytes(tag)?.to_vec()))).collect();
    Ok(DicomImage {
        transfer_syntax,
        modality: f.text(0x0008_0060),
        sop_instance_uid: f.text(0x0008_0018),
        frame_of_reference_uid: f.text(0x0020_0052),
        sop_class_uid: sop_class,
        identity,
        study_uid: f.text(0x0020_000D),
        series_uid: f.text(0x0020_000E),
        series_description: f.text(0x0008_103E),
        series_number: f.integer(0x0020_0011),
        instance_number: f.integer(0x0020_0013),
        position: f.array(0x0020_0032),
        orientation: f.array(0x0020_0037),
        pixel_spacing: f.array(0x0028_0030).filter(|s: &[f64; 2]| s.iter().all(|v| *v > 0.0)),
        slice_thickness: f.positive(0x0018_0050),
        spacing_between_slices: f.positive(0x0018_0088),
        rows,
        columns,
        frames,
        pixels,
        frame_geometry,
        frame_number: None,
        stack: None,
    })
}
