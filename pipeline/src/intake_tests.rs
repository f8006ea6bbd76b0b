use std::io::Cursor;

use brainseg_core::postprocess::{PostProcess, VolumeRule};
use brainseg_study::synth::{SeriesSpec, Syntax, dicom_series, phantom_volume};
use image::{GrayImage, RgbImage};

use super::*;
use crate::assemble;

fn png(w: u32, h: u32, value: u8) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    RgbImage::from_pixel(w, h, image::Rgb([value, value, value])).write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn series() -> Vec<Vec<u8>> {
    let p = phantom_volume([32, 32, 6], [1.0, 1.0, 5.0], 3);
    dicom_series(&p, &SeriesSpec::axial("AX FLAIR"), Syntax::ExplicitLe)
}

#[test]
fn scans_are_told_by_content_whatever_their_name() {
    let dicom = series().remove(0);
    assert_eq!(classify("export/IM0001", &dicom), Some(FileKind::Scan));
    assert_eq!(classify("export/1.3.12.2.1107", &dicom), Some(FileKind::Scan));
    assert_eq!(classify("export/slice.bin", &dicom), Some(FileKind::Scan), "the page once judged this by name");
    assert_eq!(classify("cd/study.zip", b"PK\x03\x04rest"), Some(FileKind::Scan));
    assert_eq!(classify("p/flair.nii.gz", &[0x1f, 0x8b]), Some(FileKind::Scan));
    assert_eq!(classify("p/slice_1.png", &png(4, 4, 1)), Some(FileKind::Image));
    assert_eq!(classify("p/slice_1_mask.png", &png(4, 4, 1)), None);
    assert_eq!(classify("p/report.pdf", b"%PDF-1.7"), None);
}

#[test]
fn a_folder_of_scans_images_and_other_files_becomes_studies() {
    let mut reader = Reader::default();
    for (k, bytes) in series().iter().enumerate() {
        reader.add(&format!("mr/IM{k:04}"), bytes, false);
    }
    for k in [3, 1, 2] {
        reader.add(&format!("pngs/case_{k}.png"), &png(8, 8, k as u8), false);
    }
    reader.add("pngs/overview.png", &png(8, 6, 9), false);
    reader.add("pngs/notes.txt", b"not a slice", false);
    reader.add("named.txt", b"not a slice either", true);
    let intake = reader.finish();
    let kinds: Vec<(StudyKind, usize)> = intake.studies.iter().map(|s| (s.header.kind, s.slices.len())).collect();
    assert_eq!(kinds, [(StudyKind::Scan, 6), (StudyKind::Numbered, 3), (StudyKind::Single, 1)]);
    let numbered = &intake.studies[1].header;
    assert_eq!(numbered.slice_names, ["pngs/case_1.png", "pngs/case_2.png", "pngs/case_3.png"]);
    assert_eq!(intake.studies[1].slices[0].get_pixel(0, 0).0, [1, 1, 1], "slice order is the number's");
    // The file in the folder is passed over, the one the user named is reported.
    assert_eq!(intake.problems.len(), 1);
    assert_eq!(intake.problems[0].file, "named.txt");
    assert!(intake.problems[0].reason.contains("not an image"), "{}", intake.problems[0].reason);
}

#[test]
fn numbered_slices_of_mixed_sizes_are_one_volume_without_figures() {
    let mut reader = Reader::default();
    reader.add("f/s_1.png", &png(8, 8, 1), false);
    reader.add("f/s_2.png", &png(12, 10, 2), false);
    let intake = reader.finish();
    assert_eq!(intake.studies.len(), 1);
    let header = &intake.studies[0].header;
    assert_eq!(header.kind, StudyKind::Numbered);
    assert!(!header.uniform());
    // Two slices with the same tumor square at the model's grid: each mask at its own size.
    let size = 4u32;
    let mut p = vec![0f32; 16];
    p[5] = 0.9;
    let post = PostProcess { volume: VolumeRule::Largest, ..PostProcess::slice(0.5, 0) };
    let result = assemble(header, &[p.clone(), p], size, &post).unwrap();
    let dims: Vec<(u32, u32)> = result.masks.iter().map(GrayImage::dimensions).collect();
    assert_eq!(dims, [(8, 8), (12, 10)]);
    assert!(result.masks.iter().all(|m| m.pixels().any(|v| v.0[0] == 255)));
    assert_eq!(result.summary, None);
    assert!(crate::exports::nifti(header, &result.masks).is_err());
}

#[test]
fn a_lone_image_is_a_one_slice_study_without_the_3d_step() {
    let mut reader = Reader::default();
    reader.add("x.png", &png(4, 4, 7), true);
    let study = reader.finish().studies.remove(0);
    assert_eq!(study.header.kind, StudyKind::Single);
    // Two separate blobs: a 3D rule keeping the largest would drop one; a lone image keeps both.
    let mut p = vec![0f32; 16];
    p[0] = 0.9;
    p[10] = 0.9;
    p[11] = 0.9;
    let post = PostProcess { volume: VolumeRule::Largest, ..PostProcess::slice(0.5, 0) };
    let result = assemble(&study.header, &[p], 4, &post).unwrap();
    assert_eq!(result.masks[0].pixels().filter(|v| v.0[0] == 255).count(), 3);
    assert_eq!(result.summary.map(|s| s.tumor_voxels), Some(3));
}

#[test]
fn a_dicom_series_assembles_into_figures_nifti_and_seg() {
    let mut reader = Reader::default();
    for (k, bytes) in series().iter().enumerate().rev() {
        reader.add(&format!("mr/{k}.dcm"), bytes, false);
    }
    let study = reader.finish().studies.remove(0);
    assert!(study.header.is_dicom());
    assert_eq!(study.header.dims, vec![(32, 32); 6]);
    // A 2x2 tumor on slices 2 and 3 at an 8x8 model grid: 4 px each at the 32x32 scan.
    let size = 8u32;
    let mut probs = vec![vec![0f32; 64]; 6];
    for p in &mut probs[2..4] {
        for i in [27, 28, 35, 36] {
            p[i] = 0.9;
        }
    }
    let result = assemble(&study.header, &probs, size, &PostProcess::slice(0.5, 0)).unwrap();
    let summary = result.summary.clone().unwrap();
    assert_eq!(summary.slices_with_tumor, 2);
    assert!(summary.volume_ml.is_some());
    let nii = crate::exports::nifti(&study.header, &result.masks).unwrap();
    assert!(nii.starts_with(&[0x1f, 0x8b]));
    let info = brainseg_study::dicom::seg::SegInfo { model_sha256: "ab", software_version: "0", uid_seed: 1, unix_seconds: 0, edited: false };
    assert!(crate::exports::dicom_seg(&study.header, &result.masks, &info).unwrap().is_some());
    // Wrong counts are refused, not half-used.
    assert!(assemble(&study.header, &probs[..5], size, &PostProcess::slice(0.5, 0)).is_err());
}
