//! Why a file could not be read. Every variant says what a user can do about it; the file name
//! is added by [`crate::load`], which reports per file and keeps going.

use std::io::Read;

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    #[error("the file is empty (0 bytes)")]
    Empty,
    #[error("not a DICOM file (no DICM marker and no DICOM data set at the start)")]
    NotDicom,
    #[error("truncated: {what} runs past the end of the file (offset {offset})")]
    Truncated { what: &'static str, offset: usize },
    #[error("damaged DICOM: {0}")]
    Malformed(String),
    #[error("compressed DICOM ({name}, transfer syntax {uid}) is not supported: re-export it uncompressed, RLE, JPEG, JPEG-LS or JPEG 2000 (e.g. `gdcmconv --raw`)")]
    CompressedSyntax { uid: String, name: &'static str },
    #[error("unknown DICOM transfer syntax {0}")]
    UnknownSyntax(String),
    #[error("no image in this DICOM file ({0})")]
    NoImage(String),
    #[error("unsupported DICOM pixels: {0}")]
    UnsupportedPixels(String),
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("not a NIfTI-1 file: {0}")]
    NotNifti(String),
    #[error("unsupported NIfTI: {0}")]
    UnsupportedNifti(String),
    #[error("cannot decompress: {0}")]
    Gzip(String),
    #[error("damaged {codec} pixel data: {detail}")]
    Codec { codec: &'static str, detail: String },
    #[error("cannot open the zip: {0}")]
    Zip(String),
    #[error("not an MR image: {0}; brainseg segments brain MR only")]
    NotMr(String),
    #[error("no DICOM SEG written: {0}")]
    NoSeg(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// The most voxels one file or volume may hold (512 MiB as `f32`): bounds memory in a browser tab
/// and on a fuzzer, far above a clinical MR series (a 512x512x400 volume is 105 M).
pub const MAX_VOXELS: usize = 1 << 27;
/// The largest side of a slice, as for images.
pub const MAX_SIDE: usize = 8192;

/// Reads a decompressing `reader` to the end, but never past `limit` bytes: a small file must not
/// expand into all the memory of a browser tab. `what` names the data in the messages.
pub(crate) fn read_limited(reader: impl Read, limit: u64, what: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    reader.take(limit + 1).read_to_end(&mut out).map_err(|e| Error::Gzip(format!("{what}: {e}")))?;
    if out.len() as u64 > limit {
        return Err(Error::TooLarge(format!("{what} expands past the size limit")));
    }
    Ok(out)
}
