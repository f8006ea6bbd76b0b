//! What an object derived from a series (our DICOM SEG) must carry over from it: the patient and
//! study attributes that file it under the same patient and study in a viewer or archive, and
//! which instance (and frame) each slice of the volume came from.

use serde::{Deserialize, Serialize};

/// Patient and study attributes copied verbatim, with their value representations (files in
/// implicit VR do not state them). `true`: type 2 in the SEG, written empty where the source has
/// none.
pub const IDENTITY: [(u32, [u8; 2], bool); 11] = [
    (0x0008_0005, *b"CS", false), // Specific Character Set: how the names below are encoded
    (0x0008_0020, *b"DA", true),  // Study Date
    (0x0008_0030, *b"TM", true),  // Study Time
    (0x0008_0050, *b"SH", true),  // Accession Number
    (0x0008_0090, *b"PN", true),  // Referring Physician's Name
    (0x0008_1030, *b"LO", false), // Study Description
    (0x0010_0010, *b"PN", true),  // Patient's Name
    (0x0010_0020, *b"LO", true),  // Patient ID
    (0x0010_0030, *b"DA", true),  // Patient's Birth Date
    (0x0010_0040, *b"CS", true),  // Patient's Sex
    (0x0020_0010, *b"SH", true),  // Study ID
];

/// One slice of a volume as the archive knows it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SourceSlice {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    /// The frame (from 1) where the slice is one frame of a multi-frame file.
    pub frame: Option<usize>,
    /// Image Position (Patient) of the slice, LPS millimetres.
    pub position: Option<[f64; 3]>,
}

/// The series a DICOM volume was stacked from, as far as a derived object needs it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DicomSource {
    pub study_uid: String,
    pub series_uid: String,
    pub series_number: Option<i64>,
    pub frame_of_reference_uid: String,
    /// [`IDENTITY`] attributes the source has: tag and raw value.
    pub identity: Vec<(u32, Vec<u8>)>,
    /// Image Orientation (Patient): row direction, then column direction.
    pub orientation: Option<[f64; 6]>,
    /// Pixel Spacing as the file gives it: between rows, then between columns.
    pub pixel_spacing: Option<[f64; 2]>,
    pub slice_thickness: Option<f64>,
    /// How many files the series was stacked from.
    pub files: usize,
    /// Per slice of the volume, in the volume's order.
    pub slices: Vec<SourceSlice>,
}
