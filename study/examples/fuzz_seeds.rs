//! Seed inputs for the fuzz targets (`study/fuzz`): small synthetic DICOM files in every
//! supported transfer syntax and NIfTI volumes, plain and gzipped, in several storage orders.
//! `cargo run -p brainseg-study --example fuzz_seeds -- study/fuzz/corpus`

use std::path::PathBuf;

use brainseg_study::synth::{SeriesSpec, Syntax, dicom_series, nifti, phantom_volume};

fn main() -> std::io::Result<()> {
    let root = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "study/fuzz/corpus".into()));
    let (dicom, nii) = (root.join("dicom"), root.join("nifti"));
    std::fs::create_dir_all(&dicom)?;
    std::fs::create_dir_all(&nii)?;
    let p = phantom_volume([12, 10, 2], [2.0, 2.0, 5.0], 1);
    for syntax in Syntax::ALL {
        let files = dicom_series(&p, &SeriesSpec::axial("FLAIR"), syntax);
        std::fs::write(dicom.join(format!("{syntax:?}")), &files[0])?;
    }
    let affines = [
        [[-2.0, 0.0, 0.0, 10.0], [0.0, -2.0, 0.0, 10.0], [0.0, 0.0, 5.0, 0.0]],
        [[0.0, 0.0, 5.0, 0.0], [2.0, 0.0, 0.0, -10.0], [0.0, -2.0, 0.0, 10.0]],
    ];
    for (i, affine) in affines.iter().enumerate() {
        std::fs::write(nii.join(format!("plain{i}.nii")), nifti(&p, affine, false))?;
        std::fs::write(nii.join(format!("gzip{i}.nii.gz")), nifti(&p, affine, true))?;
    }
    println!("wrote seeds to {}", root.display());
    Ok(())
}
