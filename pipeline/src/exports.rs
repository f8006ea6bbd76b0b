//! A study's masks as files: the mask volume as NIfTI on the input's grid, a DICOM SEG of a
//! DICOM series, and one PNG per slice. The CLI writes them to disk, the page offers them as
//! downloads; the bytes are the same.

use std::io::Cursor;

use brainseg_study::dicom::seg::{self, SegInfo};
use brainseg_study::nifti;
use image::GrayImage;

use crate::intake::StudyHeader;
use crate::{Error, Result};

/// The masks one after another (slice order), as the NIfTI and SEG writers take them.
fn flat(header: &StudyHeader, masks: &[GrayImage], what: &'static str) -> Result<Vec<u8>> {
    if !header.uniform() || masks.len() != header.slices() {
        return Err(Error::MixedSizes(what));
    }
    Ok(masks.iter().flat_map(|m| m.as_raw().iter().copied()).collect())
}

/// `mask.nii.gz`: uint8, 1 = tumor, with the input's affine.
pub fn nifti(header: &StudyHeader, masks: &[GrayImage]) -> Result<Vec<u8>> {
    Ok(nifti::write_mask(&header.geometry, &flat(header, masks, "a NIfTI mask volume")?)?)
}

/// `seg.dcm` of a DICOM series; `Ok(None)` where there is no tumor (a SEG needs a frame).
pub fn dicom_seg(header: &StudyHeader, masks: &[GrayImage], info: &SegInfo) -> Result<Option<Vec<u8>>> {
    Ok(seg::write(&header.geometry, &flat(header, masks, "a DICOM SEG")?, info)?)
}

/// One slice's mask as an 8-bit PNG (255 = tumor).
pub fn png(mask: &GrayImage) -> Result<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    mask.write_to(&mut out, image::ImageFormat::Png).map_err(|e| Error::Png(e.to_string()))?;
    Ok(out.into_inner())
}
