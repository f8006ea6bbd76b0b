//! Only MR images are segmented: a tumor figure on a CT slice, a dose grid or a screenshot is a
//! wrong answer a user may believe. Other objects are refused by name; a file without a Modality
//! is read as MR with a note (old or anonymised exports drop it).

use crate::dicom::DicomImage;
use crate::error::{Error, Result};

/// Secondary Capture image storage (all its variants): screenshots and scanned pictures.
const SECONDARY_CAPTURE: &str = "1.2.840.10008.5.1.4.1.1.7";

fn name(modality: &str) -> Option<&'static str> {
    Some(match modality {
        "CT" => "computed tomography",
        "PT" => "PET",
        "NM" => "nuclear medicine",
        "US" => "ultrasound",
        "CR" | "DX" | "DR" => "radiograph",
        "MG" => "mammogram",
        "XA" | "RF" => "X-ray angiography or fluoroscopy",
        "RTDOSE" => "radiotherapy dose",
        "RTIMAGE" => "radiotherapy image",
        "RTSTRUCT" | "RTPLAN" | "RTRECORD" => "radiotherapy object",
        "SEG" => "segmentation",
        "OT" => "other (often a secondary capture)",
        "OP" | "OPT" | "XC" | "ES" | "SM" | "GM" => "photograph or microscopy",
        _ => return None,
    })
}

/// Whether brainseg segments an image of `sop_class` and `modality`: MR, or no Modality at all
/// (see [`missing`]).
pub fn check(sop_class: &str, modality: &str) -> Result<()> {
    if sop_class.starts_with(SECONDARY_CAPTURE) {
        return Err(Error::NotMr(format!("a secondary capture (a screenshot or scanned picture, modality {modality:?})")));
    }
    match modality {
        "MR" | "" => Ok(()),
        other => {
            let what = name(other).map_or_else(|| format!("modality {other}"), |n| format!("modality {other} ({n})"));
            Err(Error::NotMr(what))
        }
    }
}

/// The note for a series whose files carry no Modality.
pub fn missing(image: &DicomImage) -> Option<String> {
    image.modality.is_empty().then(|| "no Modality in the files: read as MR".to_string())
}
