//! `brainseg segment` on a DICOM series writes `seg.dcm` beside `mask.nii.gz`: the same mask,
//! frames on the source slices with tumor, read back by our reader and (where installed by
//! scripts/setup-dicom-tools.sh) by highdicom and pydicom with validation on.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use brainseg_study::dicom::seg;
use brainseg_study::volume::Origin;
use brainseg_study::{Loader, Volume};
use common::{brainseg, brainseg_bin, dicom_python, standard_tool, text};

/// A DICOM series of phantom slices the shipped model finds tumor on (the `phantom` example).
fn phantom_series(dir: &Path) {
    let example = brainseg_bin().parent().unwrap().join("examples/phantom");
    let o = Command::new(&example).args(["--series", dir.to_str().unwrap(), "256", "11", "6"]).output().expect("run phantom");
    assert!(o.status.success(), "{}", text(&o.stderr));
}

fn load_series(dir: &Path) -> Volume {
    let mut loader = Loader::default();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        loader.add(path.file_name().unwrap().to_str().unwrap(), &std::fs::read(&path).unwrap());
    }
    loader.finish().studies.remove(0).flair
}

/// Segments `series` with the shipped model; the JSON report.
fn segment(series: &Path, out: &Path) -> serde_json::Value {
    let o = brainseg(&["segment", series.to_str().unwrap(), "-o", out.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    serde_json::from_str(text(&o.stdout).trim()).unwrap()
}

#[test]
fn seg_holds_the_masks_on_the_source_slices() {
    let dir = tempfile::tempdir().unwrap();
    let series = dir.path().join("series");
    phantom_series(&series);
    let report = segment(&series, &dir.path().join("out"));
    let seg_path = PathBuf::from(report["seg_dicom"].as_str().expect("a seg.dcm for a DICOM series with tumor"));
    assert_eq!(seg_path.file_name().unwrap(), seg::FILE_NAME);
    let read = seg::read(&std::fs::read(&seg_path).unwrap()).unwrap();
    let volume = load_series(&series);
    let Origin::Dicom(source) = &volume.origin else { panic!("not DICOM") };
    let mask = read.volume_mask(source).unwrap();
    // The slice PNGs are the volume's masks in slice order: the SEG must hold exactly them.
    let slices = seg_path.parent().unwrap().join("slices");
    let plane = 256 * 256;
    let mut with_tumor = 0;
    for k in 0..6 {
        let png = image::open(slices.join(format!("slice_{:03}_pred.png", k + 1))).unwrap().into_luma8();
        let expected: Vec<u8> = png.pixels().map(|p| u8::from(p[0] != 0)).collect();
        assert_eq!(mask[k * plane..(k + 1) * plane], expected[..], "slice {}", k + 1);
        with_tumor += usize::from(expected.contains(&1));
    }
    assert_eq!(read.frames.len(), with_tumor);
    assert_eq!(report["summary"]["slices_with_tumor"], with_tumor);
    assert!(with_tumor > 0);
    let sources: Vec<&str> = read.frames.iter().map(|f| f.source_instance.as_str()).collect();
    assert!(sources.iter().all(|s| source.slices.iter().any(|x| x.sop_instance_uid == *s)));
}

#[test]
fn standard_tools_open_our_seg() {
    let Some(python) = dicom_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let series = dir.path().join("series");
    phantom_series(&series);
    let first = segment(&series, &dir.path().join("a"));
    let second = segment(&series, &dir.path().join("b"));
    let script = standard_tool("check_seg.py");
    let o = Command::new(&python)
        .arg(&script)
        .arg(first["seg_dicom"].as_str().unwrap())
        .arg(&series)
        .arg(first["mask_nifti"].as_str().unwrap())
        .arg(second["seg_dicom"].as_str().unwrap())
        .output()
        .expect("run python");
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(text(&o.stdout).contains("same frames"), "{}", text(&o.stdout));
}

#[test]
fn nifti_inputs_and_tumor_free_series_get_no_seg_and_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let series = dir.path().join("series");
    std::fs::create_dir_all(&series).unwrap();
    // A head without tumor: the phantom's head of one uniform intensity, nothing bright in it.
    let mut p = brainseg_study::synth::phantom_volume([64, 64, 4], [2.0, 2.0, 5.0], 1);
    p.flair.iter_mut().filter(|v| **v > 0.0).for_each(|v| *v = 400.0);
    let spec = brainseg_study::synth::SeriesSpec::axial("AX FLAIR");
    for (k, bytes) in brainseg_study::synth::dicom_series(&p, &spec, brainseg_study::synth::Syntax::ExplicitLe).iter().enumerate() {
        std::fs::write(series.join(format!("IM{k}")), bytes).unwrap();
    }
    let report = segment(&series, &dir.path().join("out"));
    assert_eq!(report["summary"]["slices_with_tumor"], 0, "tumor in a uniform head: {report}");
    assert!(report["seg_dicom"].is_null());
    let notes = report["notes"].to_string();
    assert!(notes.contains("no tumor found: no seg.dcm"), "{notes}");
    let nifti = dir.path().join("flair.nii.gz");
    let affine = [[-2.0, 0.0, 0.0, 64.0], [0.0, -2.0, 0.0, 64.0], [0.0, 0.0, 5.0, -10.0]];
    std::fs::write(&nifti, brainseg_study::synth::nifti(&p, &affine, true)).unwrap();
    let report = segment(&nifti, &dir.path().join("out2"));
    assert!(report["seg_dicom"].is_null(), "{report}");
}
