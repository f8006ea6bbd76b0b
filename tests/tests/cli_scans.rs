//! `brainseg segment` on DICOM series and NIfTI volumes built in code: outputs, geometry of the
//! exported mask, the summary's figures, and bad files reported by name while the rest loads.

mod common;

use std::path::Path;

use brainseg_study::nifti;
use brainseg_study::synth::{PhantomVolume, SeriesSpec, Syntax, dicom_series, phantom_volume};
use common::{brainseg, text, tiny_model};

const DIMS: [usize; 3] = [64, 48, 10];
const SPACING: [f64; 3] = [2.0, 2.5, 4.0];
const AFFINE: [[f64; 4]; 3] = [[-2.0, 0.0, 0.0, 64.0], [0.0, -2.5, 0.0, 60.0], [0.0, 0.0, 4.0, -20.0]];

fn write_inputs(root: &Path, p: &PhantomVolume) {
    let dicom = root.join("study/series");
    std::fs::create_dir_all(&dicom).unwrap();
    // The same place in the body as AFFINE (RAS), in DICOM's LPS.
    let spec = SeriesSpec { origin: [-AFFINE[0][3], -AFFINE[1][3], AFFINE[2][3]], ..SeriesSpec::axial("AX FLAIR") };
    let files = dicom_series(p, &spec, Syntax::ImplicitLe);
    for (k, bytes) in files.into_iter().enumerate() {
        // Names out of slice order and without extension, as PACS exports are.
        std::fs::write(dicom.join(format!("IM{}", (k * 3 + 1) % DIMS[2])), bytes).unwrap();
    }
    std::fs::write(root.join("flair.nii.gz"), brainseg_study::synth::nifti(p, &AFFINE, true)).unwrap();
}

/// Tumor millilitres of an exported mask, from its own header.
fn mask_ml(path: &Path) -> (brainseg_study::Volume, f64) {
    let v = nifti::read("mask", &std::fs::read(path).unwrap()).unwrap();
    let s = v.pixel_spacing.unwrap();
    let dz = v.slice_extents().unwrap()[0];
    let ml = v.voxels.iter().filter(|&&x| x != 0.0).count() as f64 * s[0] * s[1] * dz / 1000.0;
    (v, ml)
}

#[test]
fn dicom_folder_and_nifti_give_masks_with_the_input_geometry() {
    let dir = tempfile::tempdir().unwrap();
    let p = phantom_volume(DIMS, SPACING, 1);
    write_inputs(dir.path(), &p);
    let model = tiny_model(dir.path());
    let out = dir.path().join("out");
    let args = |input: &str| {
        let input = dir.path().join(input);
        brainseg(&["segment", input.to_str().unwrap(), "-o", out.to_str().unwrap(), "--json", "--model", model.to_str().unwrap()])
    };
    for (input, mask_dir) in [("study", "study/AX_FLAIR__series_3"), ("flair.nii.gz", "files/flair.nii.gz")] {
        let o = args(input);
        assert!(o.status.success(), "{input}: {}", text(&o.stderr));
        let report: serde_json::Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
        assert_eq!(report["mode"], "FlairOnly");
        assert_eq!(report["summary"]["slices"], DIMS[2]);
        let mask = out.join(mask_dir).join("mask.nii.gz");
        assert_eq!(report["mask_nifti"], mask.display().to_string());
        let (mask_volume, ml) = mask_ml(&mask);
        assert_eq!(mask_volume.dims, DIMS, "{input}");
        let reported = report["summary"]["volume_ml"].as_f64().unwrap();
        assert!((reported - ml).abs() < 1e-6, "{input}: summary {reported} mL, mask file {ml} mL");
        let affine = mask_volume.affine.unwrap();
        for (row, expected) in affine.iter().zip(AFFINE) {
            for (a, e) in row.iter().zip(expected) {
                assert!((a - e).abs() < 1e-4, "{input}: mask affine {affine:?}");
            }
        }
        let pngs = std::fs::read_dir(out.join(mask_dir).join("slices")).unwrap().count();
        assert_eq!(pngs, DIMS[2]);
    }
}

#[test]
fn text_summary_names_the_mode_and_bad_files_fail_by_name_while_the_rest_loads() {
    let dir = tempfile::tempdir().unwrap();
    let p = phantom_volume(DIMS, SPACING, 2);
    write_inputs(dir.path(), &p);
    let series = dir.path().join("study/series");
    std::fs::write(series.join("broken.dcm"), b"DICM but not really").unwrap();
    // IM6 holds slice 6 of 10 (see write_inputs): a gap in the middle of the stack.
    let mut truncated = std::fs::read(series.join("IM6")).unwrap();
    truncated.truncate(truncated.len() / 2);
    std::fs::write(series.join("IM6"), truncated).unwrap();
    std::fs::write(series.join("notes.txt"), b"ignored: neither image nor scan").unwrap();
    let model = tiny_model(dir.path());
    let out = dir.path().join("out");
    let o = brainseg(&["segment", dir.path().join("study").to_str().unwrap(), "-o", out.to_str().unwrap(), "--model", model.to_str().unwrap()]);
    let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
    assert!(!o.status.success(), "bad files must make the run fail: {stderr}");
    assert!(stderr.contains("broken.dcm: not a DICOM file"), "{stderr}");
    assert!(stderr.contains("IM6: truncated"), "{stderr}");
    assert!(!stderr.contains("notes.txt"), "{stderr}");
    let line = stdout.lines().find(|l| l.contains("AX FLAIR")).unwrap_or_else(|| panic!("no summary: {stdout}"));
    assert!(line.contains("FLAIR only") && line.contains(" mL tumor on ") && line.contains(&format!("/{} slices", DIMS[2] - 1)), "{line}");
    assert!(stderr.contains("inconsistent slice spacing"), "the missing slice must be reported: {stderr}");
}

#[test]
fn a_4d_volume_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let p = phantom_volume([8, 8, 2], SPACING, 3);
    let mut bytes = nifti::write_volume(p.dims, &AFFINE, &p.flair, false);
    bytes[40..42].copy_from_slice(&4i16.to_le_bytes());
    bytes[48..50].copy_from_slice(&2i16.to_le_bytes());
    let path = dir.path().join("bold.nii");
    std::fs::write(&path, bytes).unwrap();
    let o = brainseg(&["segment", path.to_str().unwrap(), "-o", dir.path().join("out").to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("bold.nii: unsupported NIfTI: a 4D series of 2 volumes"), "{}", text(&o.stderr));
}

#[test]
fn a_ct_slice_in_a_series_folder_is_refused_by_modality_and_the_mr_series_segmented() {
    let dir = tempfile::tempdir().unwrap();
    let p = phantom_volume(DIMS, SPACING, 4);
    write_inputs(dir.path(), &p);
    let mut ct = brainseg_study::synth::DicomWriter::new(Syntax::ExplicitLe, "1.2.840.10008.5.1.4.1.1.2");
    ct.text(0x0008_0060, b"CS", "CT").pixels(8, 8, &[1000; 64]);
    std::fs::write(dir.path().join("study/series/CT0001"), ct.finish()).unwrap();
    let model = tiny_model(dir.path());
    let o = brainseg(&["segment", dir.path().join("study").to_str().unwrap(), "-o", dir.path().join("out").to_str().unwrap(), "--model", model.to_str().unwrap()]);
    let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
    assert!(!o.status.success(), "{stderr}");
    assert!(stderr.contains("CT0001: not an MR image: modality CT (computed tomography)"), "{stderr}");
    assert!(stdout.contains("AX FLAIR") && stdout.contains(&format!("/{} slices", DIMS[2])), "{stdout}");
}
