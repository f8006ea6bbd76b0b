//! brainseg-pipeline: what happens to one study, written once for the `brainseg` command and the
//! page's workers.
//!
//! ```text
//! files ──► intake (scan or image, by content; numbered slices as volumes) ──► StudyInput
//!       ──► per-slice probabilities (Segmenter; the page spreads the slices over its workers)
//!       ──► assemble (per-slice masks, the 3D step, the figures) ──► StudyResult
//!       ──► exports (mask.nii.gz, seg.dcm, slice PNGs)
//! ```
//! [`segment_study`] runs the middle two in one call (the CLI); the page's workers run
//! [`Segmenter::slice_probabilities_async`](brainseg_core::Segmenter) per slice and then
//! [`assemble`] on the probabilities, so both end in the same function.

pub mod assemble;
pub mod edit;
pub mod error;
pub mod exports;
pub mod grid;
pub mod intake;

pub use assemble::{StudyResult, assemble, measure, segment_study};
pub use edit::EditedMask;
pub use error::{Error, Result};
pub use intake::{FileKind, Intake, Reader, StudyHeader, StudyInput, StudyKind, classify};
