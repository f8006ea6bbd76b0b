//! Synthetic scans made in code, for tests, fuzzing seeds and the browser end-to-end test: a
//! phantom head with an ellipsoid "tumor" of known volume, written as DICOM series (every
//! transfer syntax brainseg can also write: native, RLE, JPEG Lossless, JPEG-LS), NIfTI, or a zip
//! of files. Never patient data.

pub mod encode;
pub mod enhanced;
pub mod zip;

use std::io::Write;

use crate::volume::Affine;

/// A phantom volume: FLAIR-like intensities, the true tumor mask and the voxel size.
pub struct PhantomVolume {
    /// Columns, rows, slices.
    pub dims: [usize; 3],
    /// Millimetres between columns, rows and slices.
    pub spacing: [f64; 3],
    /// Column-fastest, like [`crate::Volume::voxels`].
    pub flair: Vec<f32>,
    pub truth: Vec<u8>,
}

impl PhantomVolume {
    /// Tumor volume of the voxelised truth, in millilitres.
    pub fn tumor_ml(&self) -> f64 {
        let voxel = self.spacing.iter().product::<f64>();
        self.truth.iter().filter(|&&t| t != 0).count() as f64 * voxel / 1000.0
    }
}

/// Deterministic noise without a RNG dependency (a hash of the voxel index).
fn noise(i: usize, seed: u64) -> f32 {
    let mut x = (i as u64 ^ seed.rotate_left(17)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 32;
    (x % 1000) as f32 / 1000.0 - 0.5
}

/// A head of `dims` voxels of `spacing` mm with a FLAIR-bright ellipsoid tumor of radii 18, 14
/// and 12 mm, off-centre by `seed`.
pub fn phantom_volume(dims: [usize; 3], spacing: [f64; 3], seed: u64) -> PhantomVolume {
    let size = [0, 1, 2].map(|a| dims[a] as f64 * spacing[a]);
    let centre = size.map(|s| s / 2.0);
    let brain = [size[0] * 0.38, size[1] * 0.42, size[2] * 0.6];
    let shift = (seed % 5) as f64 * 4.0 - 8.0;
    let tumor_centre = [centre[0] + brain[0] * 0.35 + shift, centre[1] - brain[1] * 0.2, centre[2]];
    let tumor = [18.0f64.min(brain[0] * 0.4), 14.0f64.min(brain[1] * 0.4), 12.0f64.min(size[2] * 0.3)];
    let inside = |p: [f64; 3], c: [f64; 3], r: [f64; 3]| (0..3).map(|a| ((p[a] - c[a]) / r[a]).powi(2)).sum::<f64>() <= 1.0;
    let n: usize = dims.iter().product();
    let (mut flair, mut truth) = (vec![0f32; n], vec![0u8; n]);
    let mut i = 0;
    for z in 0..dims[2] {
        for y in 0..dims[1] {
            for x in 0..dims[0] {
                let p = [(x as f64 + 0.5) * spacing[0], (y as f64 + 0.5) * spacing[1], (z as f64 + 0.5) * spacing[2]];
                if inside(p, centre, brain) {
                    flair[i] = 400.0 + 80.0 * noise(i, seed);
                    if inside(p, tumor_centre, tumor) {
                        flair[i] += 480.0;
                        truth[i] = 1;
                    }
                }
                i += 1;
            }
        }
    }
    PhantomVolume { dims, spacing, flair, truth }
}

/// The transfer syntaxes test files can be written in. The lossless ones are in [`Syntax::ALL`];
/// other codestreams (JPEG baseline, JPEG 2000) go in through [`DicomWriter::encapsulated`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    ImplicitLe,
    ExplicitLe,
    ExplicitBe,
    Deflated,
    Rle,
    /// JPEG Lossless, first-order prediction (process 14, selection value 1).
    JpegLossless,
    /// JPEG Lossless (process 14) with another predictor: selection value 7, (Ra + Rb) / 2.
    JpegLosslessAverage,
    JpegLs,
    /// JPEG-LS near-lossless with NEAR = 2: every sample within 2 of the original.
    JpegLsNear,
    /// Any encapsulated syntax by UID, for codestreams made outside this module.
    Encapsulated(&'static str),
}

impl Syntax {
    pub const ALL: [Syntax; 8] = [
        Syntax::ImplicitLe,
        Syntax::ExplicitLe,
        Syntax::ExplicitBe,
        Syntax::Deflated,
        Syntax::Rle,
        Syntax::JpegLossless,
        Syntax::JpegLosslessAverage,
        Syntax::JpegLs,
    ];

    pub fn uid(self) -> &'static str {
        match self {
            Syntax::ImplicitLe => "1.2.840.10008.1.2",
            Syntax::ExplicitLe => "1.2.840.10008.1.2.1",
            Syntax::ExplicitBe => "1.2.840.10008.1.2.2",
            Syntax::Deflated => "1.2.840.10008.1.2.1.99",
            Syntax::Rle => "1.2.840.10008.1.2.5",
            Syntax::JpegLossless => "1.2.840.10008.1.2.4.70",
            Syntax::JpegLosslessAverage => "1.2.840.10008.1.2.4.57",
            Syntax::JpegLs => "1.2.840.10008.1.2.4.80",
            Syntax::JpegLsNear => "1.2.840.10008.1.2.4.81",
            Syntax::Encapsulated(uid) => uid,
        }
    }

    fn encapsulated(self) -> bool {
        !matches!(self, Syntax::ImplicitLe | Syntax::ExplicitLe | Syntax::ExplicitBe | Syntax::Deflated)
    }
}

/// The image pixel module of a test file: grayscale, `frames` frames of `rows x columns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelSpec {
    pub rows: usize,
    pub columns: usize,
    pub frames: usize,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub signed: bool,
}

impl PixelSpec {
    /// One MR slice: 16 bits allocated, 12 stored, unsigned.
    pub fn mr(rows: usize, columns: usize) -> Self {
        PixelSpec { rows, columns, frames: 1, bits_allocated: 16, bits_stored: 12, signed: false }
    }
}

/// How encapsulated frames are cut into fragments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fragments {
    /// One fragment per frame and an empty offset table (the common case).
    OnePerFrame,
    /// Each frame cut into `pieces` fragments, with a basic offset table.
    SplitWithOffsets(usize),
    /// Each frame cut into `pieces` fragments, no offset table.
    Split(usize),
}

pub const MR_IMAGE: &str = "1.2.840.10008.5.1.4.1.1.4";
pub const BASIC_TEXT_SR: &str = "1.2.840.10008.5.1.4.1.1.88.11";

/// Builds one DICOM file element by element (in ascending tag order, as the standard asks).
pub struct DicomWriter {
    syntax: Syntax,
    sop_class: String,
    body: Vec<u8>,
}

impl DicomWriter {
    pub fn new(syntax: Syntax, sop_class: &str) -> Self {
        let mut w = Self { syntax, sop_class: sop_class.to_string(), body: Vec::new() };
        w.text(0x0008_0016, b"UI", sop_class);
        w
    }

    fn big(&self) -> bool {
        self.syntax == Syntax::ExplicitBe
    }

    fn raw(out: &mut Vec<u8>, syntax: Syntax, tag: u32, vr: &[u8; 2], value: &[u8], undefined: bool) {
        let big = syntax == Syntax::ExplicitBe;
        let u16b = |v: u16| {
            if big { v.to_be_bytes() } else { v.to_le_bytes() }
        };
        let u32b = |v: u32| {
            if big { v.to_be_bytes() } else { v.to_le_bytes() }
        };
        out.extend(u16b((tag >> 16) as u16));
        out.extend(u16b(tag as u16));
        let length = if undefined { u32::MAX } else { value.len() as u32 };
        if syntax == Syntax::ImplicitLe {
            out.extend(u32b(length));
        } else {
            out.extend_from_slice(vr);
            if crate::dicom::reader::long_length(*vr) {
                out.extend([0, 0]);
                out.extend(u32b(length));
            } else {
                out.extend(u16b(length as u16));
            }
        }
        out.extend_from_slice(value);
    }

    /// A string value, padded to even length as the standard requires.
    pub fn text(&mut self, tag: u32, vr: &[u8; 2], value: &str) -> &mut Self {
        let mut bytes = value.as_bytes().to_vec();
        if bytes.len() % 2 == 1 {
            bytes.push(if vr == b"UI" { 0 } else { b' ' });
        }
        Self::raw(&mut self.body, self.syntax, tag, vr, &bytes, false);
        self
    }

    pub fn us(&mut self, tag: u32, value: u16) -> &mut Self {
        let bytes = if self.big() { value.to_be_bytes() } else { value.to_le_bytes() };
        Self::raw(&mut self.body, self.syntax, tag, b"US", &bytes, false);
        self
    }

    /// Pixel module for 16-bit unsigned samples (12 stored) and the pixel data itself.
    pub fn pixels(&mut self, rows: usize, columns: usize, samples: &[u16]) -> &mut Self {
        self.image(&PixelSpec::mr(rows, columns), samples)
    }

    /// Pixel module and pixel data: `samples` are the stored bit patterns (two's complement within
    /// `bits_stored` for signed data), all frames one after the other, encoded in the syntax.
    pub fn image(&mut self, spec: &PixelSpec, samples: &[u16]) -> &mut Self {
        self.us(0x0028_0002, 1).text(0x0028_0004, b"CS", "MONOCHROME2");
        if spec.frames > 1 {
            self.text(0x0028_0008, b"IS", &spec.frames.to_string());
        }
        self.us(0x0028_0010, spec.rows as u16).us(0x0028_0011, spec.columns as u16);
        self.us(0x0028_0100, spec.bits_allocated).us(0x0028_0101, spec.bits_stored);
        self.us(0x0028_0102, spec.bits_stored - 1).us(0x0028_0103, u16::from(spec.signed));
        if !self.syntax.encapsulated() {
            let big = self.big();
            let bytes: Vec<u8> = match spec.bits_allocated {
                8 => samples.iter().map(|&v| v as u8).collect(),
                _ => samples.iter().flat_map(|v| if big { v.to_be_bytes() } else { v.to_le_bytes() }).collect(),
            };
            let vr = if spec.bits_allocated == 8 { b"OB" } else { b"OW" };
            Self::raw(&mut self.body, self.syntax, 0x7FE0_0010, vr, &bytes, false);
            return self;
        }
        let (w, h, bits) = (spec.columns, spec.rows, spec.bits_stored as u8);
        let frames: Vec<Vec<u8>> = samples
            .chunks(w * h)
            .map(|frame| match self.syntax {
                Syntax::Rle => encode::rle_frame(frame, usize::from(spec.bits_allocated / 8)),
                Syntax::JpegLossless => encode::jpeg_lossless(frame, w, h, bits, 1),
                Syntax::JpegLosslessAverage => encode::jpeg_lossless(frame, w, h, bits, 7),
                Syntax::JpegLs => encode::jpeg_ls(frame, w, h, bits, 0),
                Syntax::JpegLsNear => encode::jpeg_ls(frame, w, h, bits, 2),
                other => {
                    panic!("{other:?} frames are made outside synth: use DicomWriter::encapsulated")
                }
            })
            .collect();
        self.encapsulated(&frames, Fragments::OnePerFrame)
    }

    /// Encapsulated pixel data from ready-made frames (any codec), cut into fragments as asked.
    pub fn encapsulated(&mut self, frames: &[Vec<u8>], cut: Fragments) -> &mut Self {
        let pieces = match cut {
            Fragments::OnePerFrame => 1,
            Fragments::SplitWithOffsets(n) | Fragments::Split(n) => n.max(1),
        };
        let mut items: Vec<Vec<u8>> = Vec::new();
        let mut offsets = Vec::new();
        let mut at = 0u32;
        for frame in frames {
            let mut frame = frame.clone();
            // Every item has an even length.
            if frame.len() % 2 == 1 {
                frame.push(0);
            }
            offsets.extend(at.to_le_bytes());
            let step = (frame.len() / pieces).max(2) & !1;
            let mut rest = frame.as_slice();
            for k in 0..pieces {
                if rest.is_empty() {
                    break;
                }
                let take = if k == pieces - 1 { rest.len() } else { step.min(rest.len()) };
                let (piece, tail) = rest.split_at(take);
                at += 8 + piece.len() as u32;
                items.push(piece.to_vec());
                rest = tail;
            }
        }
        let table = if matches!(cut, Fragments::SplitWithOffsets(_)) { offsets } else { Vec::new() };
        let mut value = Vec::new();
        for item in std::iter::once(&table).chain(&items) {
            value.extend([0xFE, 0xFF, 0x00, 0xE0]);
            value.extend((item.len() as u32).to_le_bytes());
            value.extend(item);
        }
        value.extend([0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        Self::raw(&mut self.body, self.syntax, 0x7FE0_0010, b"OB", &value, true);
        self
    }

    /// The file: preamble, `DICM`, file meta group, then the data set.
    pub fn finish(&self) -> Vec<u8> {
        let mut meta = Vec::new();
        let explicit = Syntax::ExplicitLe;
        Self::raw(&mut meta, explicit, 0x0002_0001, b"OB", &[0, 1], false);
        let mut uid = |tag: u32, v: &str| {
            let mut b = v.as_bytes().to_vec();
            if b.len() % 2 == 1 {
                b.push(0);
            }
            Self::raw(&mut meta, explicit, tag, b"UI", &b, false);
        };
        uid(0x0002_0002, &self.sop_class);
        uid(0x0002_0010, self.syntax.uid());
        let mut out = vec![0u8; 128];
        out.extend_from_slice(b"DICM");
        Self::raw(&mut out, explicit, 0x0002_0000, b"UL", &(meta.len() as u32).to_le_bytes(), false);
        out.extend(meta);
        if self.syntax == Syntax::Deflated {
            let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
            d.write_all(&self.body).expect("writing to memory");
            out.extend(d.finish().expect("writing to memory"));
        } else {
            out.extend_from_slice(&self.body);
        }
        out
    }
}

/// Where a synthetic series sits and what it is called.
#[derive(Debug, Clone)]
pub struct SeriesSpec {
    pub study_uid: String,
    pub series_uid: String,
    pub description: String,
    pub series_number: i64,
    /// Row direction, then column direction (LPS).
    pub orientation: [f64; 6],
    /// Position of the first voxel of slice 0 (LPS mm).
    pub origin: [f64; 3],
}

impl SeriesSpec {
    pub fn axial(description: &str) -> Self {
        SeriesSpec {
            study_uid: "1.2.826.0.1.3680043.2.1125.1".into(),
            series_uid: format!("1.2.826.0.1.3680043.2.1125.1.{}", description.len()),
            description: description.into(),
            series_number: 3,
            orientation: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            origin: [-100.0, -110.0, -30.0],
        }
    }
}

/// One file per slice, in slice order (callers shuffle them to test ordering). Intensities are
/// written as 12-bit samples.
pub fn dicom_series(p: &PhantomVolume, spec: &SeriesSpec, syntax: Syntax) -> Vec<Vec<u8>> {
    let [w, h, d] = p.dims;
    let o = spec.orientation;
    let normal = crate::volume::cross([o[0], o[1], o[2]], [o[3], o[4], o[5]]);
    (0..d)
        .map(|k| {
            let position = [0, 1, 2].map(|i| spec.origin[i] + k as f64 * p.spacing[2] * normal[i]);
            let samples: Vec<u16> =
                p.flair[k * w * h..(k + 1) * w * h].iter().map(|v| v.round().clamp(0.0, 4095.0) as u16).collect();
            let list = |v: &[f64]| v.iter().map(|x| format!("{x}")).collect::<Vec<_>>().join("\\");
            let mut f = DicomWriter::new(syntax, MR_IMAGE);
            f.text(0x0008_0018, b"UI", &format!("{}.{}", spec.series_uid, k + 1))
                .text(0x0008_0060, b"CS", "MR")
                .text(0x0008_103E, b"LO", &spec.description)
                .text(0x0010_0010, b"PN", "Phantom^Synthetic")
                .text(0x0010_0020, b"LO", "PHANTOM-1")
                .text(0x0018_0050, b"DS", &format!("{}", p.spacing[2]))
                .text(0x0020_000D, b"UI", &spec.study_uid)
                .text(0x0020_000E, b"UI", &spec.series_uid)
                .text(0x0020_0011, b"IS", &spec.series_number.to_string())
                .text(0x0020_0013, b"IS", &(k + 1).to_string())
                .text(0x0020_0032, b"DS", &list(&position))
                .text(0x0020_0037, b"DS", &list(&o))
                .text(0x0020_0052, b"UI", &format!("{}.0", spec.study_uid))
                .text(0x0028_0030, b"DS", &list(&[p.spacing[1], p.spacing[0]]));
            f.pixels(h, w, &samples);
            f.finish()
        })
        .collect()
}

/// The phantom as a NIfTI-1 volume stored in RAS order with `affine`.
pub fn nifti(p: &PhantomVolume, affine: &Affine, gzip: bool) -> Vec<u8> {
    crate::nifti::write_volume(p.dims, affine, &p.flair, gzip)
}
