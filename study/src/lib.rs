//! brainseg-study: real scans in, per-study results out.
//!
//! DICOM series and NIfTI volumes (as files or zipped) become [`Study`]s: axial slices in display orientation, 8-bit
//! RGB in the model's channel order, with the geometry that turns a mask into millilitres
//! ([`measure`]) and back into a NIfTI file aligned with the input ([`nifti::write_mask`]).
//! Pure Rust without Burn: the same code runs in the CLI and the browser, and fuzzes quickly.

pub mod channels;
pub mod diameters;
pub mod dicom;
pub mod error;
pub mod load;
pub mod measure;
pub mod nifti;
pub mod numbered;
pub mod series;
pub mod synth;
pub mod volume;
pub mod zip;

pub use channels::{Mode, Study, file_stem};
pub use error::{Error, Result};
pub use load::{Kind, Loaded, Loader, Problem, kind};
pub use measure::Summary;
pub use volume::Volume;
