//! Enhanced MR (one multi-frame file, geometry only in functional groups, frames shuffled,
//! several stacks) reads as the same volume as the same series written as single frames.

use brainseg_study::Loader;
use brainseg_study::dicom::seg::{self, SegInfo};
use brainseg_study::measure::summarize;
use brainseg_study::nifti;
use brainseg_study::synth::enhanced::enhanced_mr;
use brainseg_study::synth::{SeriesSpec, Syntax, dicom_series, phantom_volume};
use brainseg_study::volume::Origin;

const DIMS: [usize; 3] = [40, 36, 8];
const SPACING: [f64; 3] = [2.0, 2.5, 5.0];

fn load(files: Vec<(String, Vec<u8>)>) -> brainseg_study::Loaded {
    let mut loader = Loader::default();
    for (name, bytes) in files {
        loader.add(&name, &bytes);
    }
    loader.finish()
}

#[test]
fn enhanced_mr_stacks_read_as_the_single_frame_series() {
    let (a, b) = (phantom_volume(DIMS, SPACING, 3), phantom_volume(DIMS, SPACING, 8));
    let spec = SeriesSpec::axial("AX FLAIR");
    let singles = load(dicom_series(&a, &spec, Syntax::ExplicitLe).into_iter().enumerate().map(|(k, f)| (format!("IM{k}"), f)).collect());
    let enhanced = load(vec![("enhanced.dcm".into(), enhanced_mr(&[&a, &b], &spec))]);
    assert!(enhanced.problems.is_empty(), "{:?}", enhanced.problems);
    // Two stacks: two series to the user, named by stack.
    let labels: Vec<&str> = enhanced.studies.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["AX FLAIR (series 3, stack 1)", "AX FLAIR (series 3, stack 2)"]);
    let (single, multi) = (&singles.studies[0].flair, &enhanced.studies[0].flair);
    assert_eq!(multi.dims, DIMS);
    assert_eq!(multi.voxels, single.voxels, "frames in spatial order, rescaled once");
    assert_eq!(multi.pixel_spacing, single.pixel_spacing);
    assert_eq!(multi.slice_positions, single.slice_positions);
    assert_eq!(multi.affine, single.affine);
    assert!(!multi.notes.iter().any(|n| n.contains("spacing") || n.contains("contiguous")), "{:?}", multi.notes);
    assert_eq!(enhanced.studies[1].flair.voxels.len(), single.voxels.len());
    assert_ne!(enhanced.studies[1].flair.voxels, single.voxels);

    // The same mask gives the same millilitres and the same NIfTI file.
    let plane = DIMS[0] * DIMS[1];
    let slices: Vec<&[u8]> = a.truth.chunks(plane).collect();
    assert_eq!(summarize(multi, &slices), summarize(single, &slices));
    assert!(summarize(multi, &slices).volume_ml.is_some_and(|ml| (ml - a.tumor_ml()).abs() < 1e-9));
    assert_eq!(nifti::write_mask(multi, &a.truth).unwrap(), nifti::write_mask(single, &a.truth).unwrap());

    // A SEG of it references the one instance, frame by frame.
    let Origin::Dicom(source) = &multi.origin else { panic!("not DICOM") };
    assert_eq!(source.files, 1);
    let info = SegInfo { model_sha256: "0", software_version: "test", uid_seed: 9, unix_seconds: 0, edited: false };
    let read = seg::read(&seg::write(multi, &a.truth, &info).unwrap().unwrap()).unwrap();
    assert!(read.frames.iter().all(|f| f.source_instance == source.slices[0].sop_instance_uid && f.source_frame.is_some()));
    assert_eq!(read.volume_mask(source).unwrap(), a.truth);
}

#[test]
fn damaged_functional_groups_are_errors_not_panics() {
    let a = phantom_volume([8, 8, 3], SPACING, 1);
    let bytes = enhanced_mr(&[&a], &SeriesSpec::axial("AX FLAIR"));
    for cut in (0..bytes.len()).step_by(7) {
        assert!(brainseg_study::dicom::parse(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut flipped = bytes.clone();
    for i in (200..flipped.len().min(2000)).step_by(13) {
        flipped[i] ^= 0x5A;
        let loaded = load(vec![("x.dcm".into(), flipped.clone())]);
        assert_eq!(loaded.studies.len() + loaded.problems.len().min(1), 1, "a study or a problem");
    }
}

#[test]
fn raw_functional_groups_make_the_same_stacks() {
    // What the `enhanced` fuzz target builds from its seed: two stacks of two frames.
    let p = phantom_volume([12, 10, 2], SPACING, 1);
    let (shared, per_frame) = brainseg_study::synth::enhanced::raw_groups(&[&p, &p], &SeriesSpec::axial("FLAIR"));
    let file = brainseg_study::synth::enhanced::with_raw_groups(4, &shared, &per_frame);
    let loaded = load(vec![("seed.dcm".into(), file)]);
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    assert_eq!(loaded.studies.len(), 2);
    assert!(loaded.studies.iter().all(|s| s.flair.dims == [4, 4, 2] && s.flair.slice_positions.is_some()));
}

/// The page's workers hand each study's geometry to the page as JSON: DICOM (Enhanced MR and
/// single frames, with their SEG references) and NIfTI geometry must come back unchanged.
#[test]
fn study_geometry_survives_json() {
    let a = phantom_volume(DIMS, SPACING, 3);
    let spec = SeriesSpec::axial("AX FLAIR");
    let singles = dicom_series(&a, &spec, Syntax::ExplicitLe).into_iter().enumerate().map(|(k, f)| (format!("IM{k}"), f)).collect();
    let affine = [[2.0, 0.0, 0.0, -40.0], [0.0, 2.5, 0.0, -45.0], [0.0, 0.0, 5.0, -20.0]];
    let sets = [
        singles,
        vec![("enhanced.dcm".into(), enhanced_mr(&[&a], &spec))],
        vec![("flair.nii.gz".into(), brainseg_study::synth::nifti(&a, &affine, true))],
    ];
    for files in sets {
        let loaded = load(files);
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        assert_eq!(loaded.studies.len(), 1);
        check_json(&loaded);
    }
}

fn check_json(loaded: &brainseg_study::Loaded) {
    for study in &loaded.studies {
        let geometry = study.flair.geometry();
        let json = serde_json::to_string(&geometry).expect("serializes");
        let back: brainseg_study::Volume = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, geometry, "{}", study.label);
    }
}
