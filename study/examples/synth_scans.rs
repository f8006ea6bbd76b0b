//! Writes synthetic scans for manual checks and the browser end-to-end test:
//! `cargo run -p brainseg-study --example synth_scans -- OUT` makes
//! `OUT/dicom/IM*` (one axial FLAIR series, files named out of slice order),
//! `OUT/flair.nii.gz` (the same phantom in RAS storage order), `OUT/compressed.zip` (the same
//! phantom as a JPEG Lossless series of its own in a CD-style export: nested folders and a
//! DICOMDIR), `OUT/enhanced.dcm` (the same phantom as one Enhanced MR multi-frame file, geometry
//! in functional groups, frames shuffled) and `OUT/truth.json` (the phantom's tumor volume in millilitres and its slices with
//! tumor).

use std::path::PathBuf;

use brainseg_study::synth::enhanced::enhanced_mr;
use brainseg_study::synth::zip::zip;
use brainseg_study::synth::{DicomWriter, SeriesSpec, Syntax, dicom_series, nifti, phantom_volume};

fn main() -> std::io::Result<()> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "synthetic-scans".into()));
    let dims = [128, 128, 12];
    let p = phantom_volume(dims, [1.8, 1.8, 4.0], 3);
    let dicom = out.join("dicom");
    std::fs::create_dir_all(&dicom)?;
    let files = dicom_series(&p, &SeriesSpec::axial("AX T2 FLAIR"), Syntax::ExplicitLe);
    let n = files.len();
    for (k, bytes) in files.into_iter().enumerate() {
        // File names deliberately out of slice order: ordering must come from positions.
        std::fs::write(dicom.join(format!("IM{:04}", (k * 7 + 3) % n)), bytes)?;
    }
    let spec = SeriesSpec {
        study_uid: "1.2.826.0.1.3680043.2.1125.2".into(),
        series_uid: "1.2.826.0.1.3680043.2.1125.2.1".into(),
        ..SeriesSpec::axial("AX FLAIR JPEG LOSSLESS")
    };
    let mut export: Vec<(String, Vec<u8>)> = dicom_series(&p, &spec, Syntax::JpegLossless)
        .into_iter()
        .enumerate()
        .map(|(k, bytes)| (format!("DICOM/PAT00001/STD00001/SER00001/IMG{:05}", (k * 5 + 1) % n), bytes))
        .collect();
    export.push(("DICOMDIR".into(), DicomWriter::new(Syntax::ExplicitLe, "1.2.840.10008.1.3.10").finish()));
    std::fs::write(out.join("compressed.zip"), zip(&export, true))?;
    let spec = SeriesSpec {
        study_uid: "1.2.826.0.1.3680043.2.1125.3".into(),
        series_uid: "1.2.826.0.1.3680043.2.1125.3.1".into(),
        ..SeriesSpec::axial("AX FLAIR ENHANCED")
    };
    std::fs::write(out.join("enhanced.dcm"), enhanced_mr(&[&p], &spec))?;
    let affine = [[-1.8, 0.0, 0.0, 115.0], [0.0, -1.8, 0.0, 115.0], [0.0, 0.0, 4.0, -40.0]];
    std::fs::write(out.join("flair.nii.gz"), nifti(&p, &affine, true))?;
    let per_slice = dims[0] * dims[1];
    let with_tumor = p.truth.chunks(per_slice).filter(|s| s.iter().any(|&t| t != 0)).count();
    let truth = format!("{{\"tumor_ml\": {:.4}, \"slices\": {}, \"slices_with_tumor\": {with_tumor}}}\n", p.tumor_ml(), dims[2]);
    std::fs::write(out.join("truth.json"), truth)?;
    println!("wrote {}", out.display());
    Ok(())
}
