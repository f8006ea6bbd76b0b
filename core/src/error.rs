//! The one error type of the core library.

use thiserror::Error;

/// Why an image or a model file could not be used. Messages are written for end users: the
/// caller prefixes them with the file name.
#[derive(Debug, Error, PartialEq)]
pub enum Error {
    #[error("the file is empty (0 bytes)")]
    EmptyFile,
    #[error("not an image in a supported format (PNG, JPEG, TIFF or WebP)")]
    UnknownFormat,
    #[error("the image is {width}x{height} px; the limit is {max} px per side")]
    TooLarge { width: u32, height: u32, max: u32 },
    #[error("the image has no pixels ({width}x{height})")]
    NoPixels { width: u32, height: u32 },
    #[error("cannot decode the image (truncated or corrupt?): {0}")]
    Decode(String),
    #[error("unsupported pixel format: {0}")]
    UnsupportedPixels(String),
    #[error("not a brainseg model file: {0}")]
    NotAModel(String),
    #[error("the model file is damaged: {0}")]
    CorruptModel(String),
    #[error("the model file does not fit its architecture: {0}")]
    ModelMismatch(String),
    #[error("cannot read the result from the device: {0}")]
    Device(String),
}

pub type Result<T> = std::result::Result<T, Error>;
