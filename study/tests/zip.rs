//! Zipped studies read in place: nested folders, DICOMDIR or not, stored or deflated, and the
//! archives that must be refused (zip bombs, truncation, nesting) with a message, never a panic.

use brainseg_study::synth::zip::zip;
use brainseg_study::synth::{DicomWriter, SeriesSpec, Syntax, dicom_series, nifti, phantom_volume};
use brainseg_study::{Loaded, Loader};

const DIMS: [usize; 3] = [32, 28, 6];
const SPACING: [f64; 3] = [2.5, 2.5, 5.0];

fn load(name: &str, bytes: &[u8]) -> Loaded {
    let mut loader = Loader::default();
    loader.add(name, bytes);
    loader.finish()
}

/// A CD-style export: DICOM/PAT1/ST1/SE1/IMxxxx (compressed), an optional DICOMDIR, a README.
fn export(dicomdir: bool, syntax: Syntax) -> Vec<(String, Vec<u8>)> {
    let p = phantom_volume(DIMS, SPACING, 1);
    let mut files: Vec<(String, Vec<u8>)> = dicom_series(&p, &SeriesSpec::axial("AX FLAIR"), syntax)
        .into_iter()
        .enumerate()
        .map(|(i, b)| (format!("DICOM/PAT1/ST1/SE1/IM{:04}", (i * 5 + 2) % DIMS[2]), b))
        .collect();
    files.push(("README.TXT".into(), b"Exported by a viewer".to_vec()));
    if dicomdir {
        files.push(("DICOMDIR".into(), DicomWriter::new(Syntax::ExplicitLe, "1.2.840.10008.1.3.10").finish()));
    }
    files
}

#[test]
fn a_zipped_export_loads_like_its_folder() {
    let p = phantom_volume(DIMS, SPACING, 1);
    let expected: Vec<f32> = p.flair.iter().map(|x| x.round().clamp(0.0, 4095.0)).collect();
    for (dicomdir, deflate, syntax) in
        [(true, true, Syntax::JpegLossless), (false, false, Syntax::ExplicitLe), (true, false, Syntax::JpegLs)]
    {
        let loaded = load("export.zip", &zip(&export(dicomdir, syntax), deflate));
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        assert_eq!(loaded.studies.len(), 1);
        assert_eq!(loaded.studies[0].flair.voxels, expected, "{syntax:?}");
    }
}

#[test]
fn nifti_in_zip_folders_groups_by_folder_and_names_carry_the_zip() {
    let p = phantom_volume(DIMS, SPACING, 2);
    let affine = [[-2.5, 0.0, 0.0, 40.0], [0.0, -2.5, 0.0, 35.0], [0.0, 0.0, 5.0, 0.0]];
    let files = vec![
        ("a/flair.nii.gz".to_string(), nifti(&p, &affine, true)),
        ("b/deeper/flair.nii".to_string(), nifti(&p, &affine, false)),
        ("../../escape/broken.nii".to_string(), b"not a volume".to_vec()),
    ];
    let loaded = load("up/load.zip", &zip(&files, true));
    assert_eq!(loaded.studies.len(), 2);
    let problems: Vec<String> = loaded.problems.iter().map(|p| p.file.clone()).collect();
    assert_eq!(problems, ["up/load.zip/escape/broken.nii"], "names must not climb out of the archive");
}

#[test]
fn zip_bombs_are_refused_with_a_message() {
    let small = vec![("a.dcm".to_string(), vec![0u8; 64]), ("b.dcm".to_string(), vec![0u8; 64])];
    // Directory sizes that add up past the limit: refused before anything is expanded.
    let mut bytes = zip(&[small.clone(), small.clone(), small.clone(), small.clone()].concat(), true);
    let directory = bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    for at in (directory..bytes.len() - 4).filter(|&i| &bytes[i..i + 4] == b"PK\x01\x02").collect::<Vec<_>>() {
        bytes[at + 24..at + 28].copy_from_slice(&0xFFFF_FF00u32.to_le_bytes());
    }
    let loaded = load("bomb.zip", &bytes);
    assert!(loaded.studies.is_empty());
    assert!(loaded.problems[0].reason.contains("zip bomb"), "{:?}", loaded.problems);

    // An entry that expands past the size its directory gives: stopped there.
    let mut liar = zip(&[("big.dcm".to_string(), vec![0u8; 4 << 20])], true);
    for sig in [&b"PK\x03\x04"[..], b"PK\x01\x02"] {
        let at = liar.windows(4).position(|w| w == sig).unwrap();
        let field = if sig == b"PK\x03\x04" { at + 22 } else { at + 24 };
        liar[field..field + 4].copy_from_slice(&1000u32.to_le_bytes());
    }
    let loaded = load("liar.zip", &liar);
    assert!(
        loaded.problems.iter().any(|p| p.file == "liar.zip/big.dcm" && p.reason.contains("zip bomb")),
        "{:?}",
        loaded.problems
    );

    // Many directory entries pointing at the same compressed bytes (an overlapping bomb).
    let one = zip(&[("x.dcm".to_string(), vec![7u8; 1000])], true);
    let cd = one.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    let end = one.windows(4).position(|w| w == b"PK\x05\x06").unwrap();
    let mut overlapping = one[..cd].to_vec();
    let record = &one[cd..end];
    for _ in 0..3 {
        overlapping.extend(record);
    }
    let mut eocd = one[end..].to_vec();
    eocd[8..10].copy_from_slice(&3u16.to_le_bytes());
    eocd[10..12].copy_from_slice(&3u16.to_le_bytes());
    eocd[12..16].copy_from_slice(&(3 * record.len() as u32).to_le_bytes());
    overlapping.extend(eocd);
    let loaded = load("overlap.zip", &overlapping);
    assert!(loaded.problems[0].reason.contains("share their compressed bytes"), "{:?}", loaded.problems);

    // A zip inside the zip is not opened.
    let inner = zip(&small, false);
    let loaded = load("outer.zip", &zip(&[("inner.zip".to_string(), inner)], false));
    assert!(loaded.problems[0].reason.contains("zip inside a zip"), "{:?}", loaded.problems);
}

#[test]
fn truncated_and_damaged_zips_are_errors_not_panics() {
    let bytes = zip(&export(true, Syntax::JpegLossless), true);
    let loaded = load("cut.zip", &bytes[..bytes.len() / 2]);
    assert!(loaded.studies.is_empty());
    assert!(loaded.problems[0].reason.contains("truncated"), "{:?}", loaded.problems);
    for cut in (0..bytes.len()).step_by(97) {
        let _ = load("cut.zip", &bytes[..cut]);
    }
    for at in (0..bytes.len()).step_by(13) {
        let mut bad = bytes.clone();
        bad[at] ^= 0x5A;
        let loaded = load("flipped.zip", &bad);
        for study in &loaded.studies {
            assert_eq!(study.rgb_slice(0).len(), study.width() * study.height() * 3);
        }
    }
}
