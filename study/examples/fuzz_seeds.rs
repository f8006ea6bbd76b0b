//! Seed inputs for the fuzz targets (`study/fuzz`): small synthetic DICOM files in every
//! supported transfer syntax, an Enhanced MR multi-frame file (functional groups, two stacks) and
//! a DICOM SEG (for the SEG reader), NIfTI volumes (plain and gzipped, in several storage orders), zips
//! of a series, and single compressed frames for the `frames` target (a first byte picking the
//! codec, as that target reads it, then the codestream).
//! `cargo run -p brainseg-study --example fuzz_seeds -- study/fuzz/corpus`

use std::path::PathBuf;

use brainseg_study::dicom::seg::{self, SegInfo};
use brainseg_study::synth::enhanced::{enhanced_mr, raw_groups};
use brainseg_study::synth::zip::zip;
use brainseg_study::synth::{SeriesSpec, Syntax, dicom_series, encode, nifti, phantom_volume};

fn main() -> std::io::Result<()> {
    let root = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "study/fuzz/corpus".into()));
    let (dicom, nii) = (root.join("dicom"), root.join("nifti"));
    std::fs::create_dir_all(&dicom)?;
    std::fs::create_dir_all(&nii)?;
    let (zips, frames) = (root.join("zip"), root.join("frames"));
    std::fs::create_dir_all(&zips)?;
    std::fs::create_dir_all(&frames)?;
    let p = phantom_volume([12, 10, 2], [2.0, 2.0, 5.0], 1);
    for syntax in Syntax::ALL {
        let files = dicom_series(&p, &SeriesSpec::axial("FLAIR"), syntax);
        std::fs::write(dicom.join(format!("{syntax:?}")), &files[0])?;
    }
    let enhanced = enhanced_mr(&[&p, &p], &SeriesSpec::axial("FLAIR"));
    // The `enhanced` target: frame count - 1, where the shared groups end, then both values.
    let groups = root.join("enhanced");
    std::fs::create_dir_all(&groups)?;
    let (shared, per_frame) = raw_groups(&[&p, &p], &SeriesSpec::axial("FLAIR"));
    let head = [vec![3], (shared.len() as u16).to_le_bytes().to_vec()].concat();
    std::fs::write(groups.join("two-stacks"), [head, shared, per_frame].concat())?;
    std::fs::write(dicom.join("EnhancedMr"), &enhanced)?;
    let mut loader = brainseg_study::Loader::default();
    loader.add("enhanced", &enhanced);
    let volume = loader.finish().studies.remove(0).flair;
    let info = SegInfo { model_sha256: "0", software_version: "seed", uid_seed: 1, unix_seconds: 0, edited: false };
    if let Ok(Some(bytes)) = seg::write(&volume, &p.truth, &info) {
        std::fs::write(dicom.join("Seg"), bytes)?;
    }
    let series = dicom_series(&p, &SeriesSpec::axial("FLAIR"), Syntax::JpegLossless);
    let named: Vec<(String, Vec<u8>)> = series.into_iter().enumerate().map(|(i, b)| (format!("DICOM/S1/IM{i}"), b)).collect();
    std::fs::write(zips.join("stored.zip"), zip(&named, false))?;
    std::fs::write(zips.join("deflated.zip"), zip(&named, true))?;
    // 32x32 frames, 16 bits; the first byte picks the codec in fuzz_targets/frames.rs.
    let big = phantom_volume([32, 32, 1], [2.0, 2.0, 5.0], 2);
    let samples: Vec<u16> = big.flair.iter().map(|v| v.round().clamp(0.0, 65535.0) as u16).collect();
    let seed = |pick: u8, stream: Vec<u8>, name: &str| std::fs::write(frames.join(name), [vec![pick], stream].concat());
    seed(1, encode::jpeg_lossless(&samples, 32, 32, 16, 1), "jpeg-lossless")?;
    seed(2, encode::jpeg_ls(&samples, 32, 32, 16, 0), "jpeg-ls")?;
    seed(4, encode::rle_frame(&samples, 2), "rle")?;
    seed(5, encode::jpeg_lossless(&samples, 32, 32, 16, 7), "jpeg-lossless-average")?;
    let j2k = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/j2k/lossless_16u_0.j2k");
    seed(3, std::fs::read(j2k)?, "jpeg2000")?;
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
