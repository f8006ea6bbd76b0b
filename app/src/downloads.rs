//! Masks and overlays as PNG files (and a study's NIfTI, DICOM SEG and PNG zip, which a worker
//! makes), handed to the browser's downloads.
//! Names follow `brainseg segment`: `<stem>_pred.png` for masks, `<stem>_overlay.png` for overlays.

use std::io::{Cursor, Write};

use brainseg_study::file_stem;
use image::{GrayImage, ImageFormat, RgbImage};
use zip::write::SimpleFileOptions;

use crate::browser::save_file;

/// `dir/slice_3.tif` -> `dir/slice_3<suffix>.png`
pub fn output_name(path: &str, suffix: &str) -> String {
    let (dir, file) = path.rsplit_once('/').map_or(("", path), |(d, f)| (d, f));
    let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
    let stem = if stem.is_empty() { "slice" } else { stem };
    if dir.is_empty() { format!("{stem}{suffix}.png") } else { format!("{dir}/{stem}{suffix}.png") }
}

/// Just the file part of [`output_name`]: a single download has no folder.
fn file_name(path: &str, suffix: &str) -> String {
    let name = output_name(path, suffix);
    name.rsplit('/').next().unwrap_or(&name).to_string()
}

fn png_of(encode: impl FnOnce(&mut Cursor<Vec<u8>>) -> image::ImageResult<()>) -> Result<Vec<u8>, String> {
    let mut out = Cursor::new(Vec::new());
    encode(&mut out).map_err(|e| format!("cannot encode the PNG: {e}"))?;
    Ok(out.into_inner())
}

/// Saves the mask (8-bit, 255 = tumor, the input's size).
pub fn save_mask(path: &str, mask: &GrayImage) -> Result<(), String> {
    let bytes = png_of(|out| mask.write_to(out, ImageFormat::Png))?;
    save_file(&file_name(path, "_pred"), &bytes, "image/png")
}

pub fn save_overlay(path: &str, overlay: &RgbImage) -> Result<(), String> {
    let bytes = png_of(|out| overlay.write_to(out, ImageFormat::Png))?;
    save_file(&file_name(path, "_overlay"), &bytes, "image/png")
}

/// A study's mask volume as NIfTI (gzipped), on the input's grid and geometry.
pub fn save_nifti(label: &str, bytes: &[u8]) -> Result<(), String> {
    save_file(&format!("{}_mask.nii.gz", file_stem(label)), bytes, "application/gzip")
}

/// A study's DICOM SEG (see `brainseg_study::dicom::seg`), named after the study.
pub fn save_seg(label: &str, bytes: &[u8]) -> Result<(), String> {
    save_file(&format!("{}_{}", file_stem(label), brainseg_study::dicom::seg::FILE_NAME), bytes, "application/dicom")
}

/// One zip of every mask, folders kept. Stored, not deflated: PNGs are compressed already.
pub fn save_all_masks(masks: &[(String, GrayImage)]) -> Result<(), String> {
    save_zip("brainseg_masks.zip", masks)
}

/// A zip of `masks` named `file`.
pub fn save_zip(file: &str, masks: &[(String, GrayImage)]) -> Result<(), String> {
    save_file(file, &zip_masks(masks)?, "application/zip")
}

/// A study's PNG masks as a zip (made in a worker).
pub fn save_study_pngs(label: &str, bytes: &[u8]) -> Result<(), String> {
    save_file(&format!("{}_masks.zip", file_stem(label)), bytes, "application/zip")
}

/// The zip of `masks` (`<name>_pred.png` each, folders kept).
pub fn zip_masks(masks: &[(String, GrayImage)]) -> Result<Vec<u8>, String> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut used = std::collections::HashSet::new();
    for (i, (path, mask)) in masks.iter().enumerate() {
        let mut name = output_name(path, "_pred");
        // The same file dropped twice would otherwise collide in the archive.
        if !used.insert(name.clone()) {
            name = output_name(path, &format!("_pred_{i}"));
        }
        let bytes = png_of(|out| mask.write_to(out, ImageFormat::Png))?;
        zip.start_file(name, options).map_err(|e| e.to_string())?;
        zip.write_all(&bytes).map_err(|e| e.to_string())?;
    }
    Ok(zip.finish().map_err(|e| e.to_string())?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_cli() {
        assert_eq!(output_name("p/TCGA_1.tif", "_pred"), "p/TCGA_1_pred.png");
        assert_eq!(file_name("p/TCGA_1.tif", "_overlay"), "TCGA_1_overlay.png");
        assert_eq!(output_name("noext", "_pred"), "noext_pred.png");
    }
}
