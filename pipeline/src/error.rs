//! Why a study could not be segmented or exported.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Model(#[from] brainseg_core::Error),
    #[error(transparent)]
    Scan(#[from] brainseg_study::Error),
    #[error("the study's slices differ in size: {0} needs one size for all slices")]
    MixedSizes(&'static str),
    #[error("cannot write the PNG: {0}")]
    Png(String),
    #[error("{probabilities} slices of probabilities for a study of {slices} slices")]
    Mismatch { probabilities: usize, slices: usize },
}

pub type Result<T> = std::result::Result<T, Error>;
