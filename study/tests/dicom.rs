//! DICOM series built in code: ordering, geometry, millilitres, and every bad-input class.

use brainseg_study::Loader;
use brainseg_study::dicom::{self, DicomImage};
use brainseg_study::error::Error;
use brainseg_study::measure::summarize;
use brainseg_study::synth::{BASIC_TEXT_SR, DicomWriter, MR_IMAGE, SeriesSpec, Syntax, dicom_series, phantom_volume};

const DIMS: [usize; 3] = [64, 56, 12];
const SPACING: [f64; 3] = [2.5, 2.5, 5.0];

/// A fixed shuffle, so file order never matches slice order.
fn shuffled<T>(mut items: Vec<T>) -> Vec<T> {
    let n = items.len();
    for i in 0..n {
        items.swap(i, (i * 7 + 3) % n);
    }
    items
}

fn load(files: &[(String, Vec<u8>)]) -> brainseg_study::Loaded {
    let mut loader = Loader::default();
    for (name, bytes) in files {
        loader.add(name, bytes);
    }
    loader.finish()
}

fn named(prefix: &str, files: Vec<Vec<u8>>) -> Vec<(String, Vec<u8>)> {
    files.into_iter().enumerate().map(|(i, b)| (format!("{prefix}/IM{:04}", (i * 37) % 1000), b)).collect()
}

#[test]
fn every_syntax_orders_slices_by_position_and_keeps_intensities() {
    let p = phantom_volume(DIMS, SPACING, 1);
    for syntax in Syntax::ALL {
        let files = shuffled(named("s", dicom_series(&p, &SeriesSpec::axial("AX FLAIR"), syntax)));
        let loaded = load(&files);
        assert!(loaded.problems.is_empty(), "{syntax:?}: {:?}", loaded.problems);
        assert_eq!(loaded.studies.len(), 1, "{syntax:?}");
        let v = &loaded.studies[0].flair;
        assert_eq!(v.dims, DIMS, "{syntax:?}");
        let expected: Vec<f32> = p.flair.iter().map(|x| x.round().clamp(0.0, 4095.0)).collect();
        assert_eq!(v.voxels, expected, "{syntax:?}: slices out of order or samples misread");
        assert!(v.notes.is_empty(), "{:?}", v.notes);
    }
}

#[test]
fn geometry_gives_the_known_tumor_volume() {
    let p = phantom_volume(DIMS, SPACING, 2);
    let loaded = load(&shuffled(named("s", dicom_series(&p, &SeriesSpec::axial("FLAIR"), Syntax::ExplicitLe))));
    let v = &loaded.studies[0].flair;
    assert_eq!(v.pixel_spacing, Some([2.5, 2.5]));
    let slices: Vec<&[u8]> = p.truth.chunks(DIMS[0] * DIMS[1]).collect();
    let s = summarize(v, &slices);
    let known = p.tumor_ml();
    assert!(known > 5.0, "phantom tumor too small: {known} mL");
    assert!((s.volume_ml.unwrap() - known).abs() < 1e-9, "{:?} vs {known}", s.volume_ml);
    // An 18 x 14 x 12 mm ellipsoid: 4/3 pi abc = 12.67 mL; voxelised within 10%.
    assert!((known - 12.67).abs() < 1.3, "{known}");
    assert!((34.0..40.0).contains(&s.largest_diameter_mm.unwrap()), "{s:?}");
    // LPS origin (-100, -110, -30) is RAS (100, 110, -30); x and y point to L and P.
    let a = v.affine.unwrap();
    assert_eq!([a[0][3], a[1][3], a[2][3]], [100.0, 110.0, -30.0]);
    assert_eq!([a[0][0], a[1][1], a[2][2]], [-2.5, -2.5, 5.0]);
}

#[test]
fn missing_and_uneven_slices_are_reported_and_measured_per_slice() {
    let p = phantom_volume(DIMS, SPACING, 3);
    let mut files = named("s", dicom_series(&p, &SeriesSpec::axial("FLAIR"), Syntax::ExplicitLe));
    files.remove(5);
    let loaded = load(&files);
    let v = &loaded.studies[0].flair;
    assert_eq!(v.dims[2], DIMS[2] - 1);
    assert!(v.notes.iter().any(|n| n.contains("inconsistent slice spacing")), "{:?}", v.notes);
    let extents = v.slice_extents().unwrap();
    assert_eq!(extents[4], 7.5); // the slice before the gap stands for half of 10 mm more
    assert!((extents.iter().sum::<f64>() - 12.0 * 5.0).abs() < 1e-9);
}

#[test]
fn two_series_in_one_folder_stay_apart_and_three_sequences_fill_the_channels() {
    let p = phantom_volume(DIMS, SPACING, 4);
    let mut files = Vec::new();
    for (i, name) in ["AX T1 PRE", "AX FLAIR", "AX T1 POST GD"].iter().enumerate() {
        let spec = SeriesSpec { series_uid: format!("1.2.3.{i}"), series_number: i as i64 + 1, ..SeriesSpec::axial(name) };
        files.extend(named(&format!("s{i}"), dicom_series(&p, &spec, Syntax::ExplicitLe)));
    }
    let loaded = load(&shuffled(files.clone()));
    assert_eq!(loaded.studies.len(), 1);
    let study = &loaded.studies[0];
    assert_eq!(study.mode, brainseg_study::Mode::ThreeSequences);
    assert_eq!(study.slices(), DIMS[2]);
    assert_eq!(study.rgb_slice(6).len(), DIMS[0] * DIMS[1] * 3);

    // Without the post-contrast series: FLAIR only, and the unused series is named.
    files.retain(|(name, _)| !name.starts_with("s2/"));
    let loaded = load(&files);
    let study = &loaded.studies[0];
    assert_eq!(study.mode, brainseg_study::Mode::FlairOnly);
    assert!(study.notes.iter().any(|n| n.contains("not used") && n.contains("T1 PRE")), "{:?}", study.notes);
}

#[test]
fn a_foreign_slice_in_a_series_is_skipped_by_name() {
    let p = phantom_volume(DIMS, SPACING, 5);
    let mut files = named("s", dicom_series(&p, &SeriesSpec::axial("FLAIR"), Syntax::ExplicitLe));
    let small = phantom_volume([16, 16, 1], SPACING, 5);
    files.push(("s/odd".into(), dicom_series(&small, &SeriesSpec::axial("FLAIR"), Syntax::ExplicitLe).remove(0)));
    let duplicate = files[3].1.clone();
    files.push(("s/dup".into(), duplicate));
    let loaded = load(&files);
    assert_eq!(loaded.studies[0].flair.dims, DIMS);
    let problems: Vec<String> = loaded.problems.iter().map(ToString::to_string).collect();
    assert!(problems.iter().any(|p| p.starts_with("s/odd: 16x16")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("same slice position")), "{problems:?}");
}

fn single(syntax: Syntax) -> Vec<u8> {
    let p = phantom_volume([8, 8, 1], SPACING, 6);
    dicom_series(&p, &SeriesSpec::axial("FLAIR"), syntax).remove(0)
}

#[test]
fn bad_files_get_a_reason_and_the_rest_of_the_study_loads() {
    let p = phantom_volume(DIMS, SPACING, 7);
    let mut files = named("s", dicom_series(&p, &SeriesSpec::axial("FLAIR"), Syntax::ExplicitLe));
    let good = files.len();
    let mut truncated = single(Syntax::ExplicitLe);
    truncated.truncate(truncated.len() - 40);
    let report = DicomWriter::new(Syntax::ExplicitLe, BASIC_TEXT_SR).finish();
    let rt_structures = DicomWriter::new(Syntax::ImplicitLe, "1.2.840.10008.5.1.4.1.1.481.3").finish();
    let no_pixels = {
        let mut w = DicomWriter::new(Syntax::ExplicitLe, MR_IMAGE);
        w.us(0x0028_0010, 8);
        w.finish()
    };
    files.extend([
        ("bad/truncated.dcm".to_string(), truncated),
        ("bad/report.dcm".to_string(), report),
        ("bad/RTSTRUCT".to_string(), rt_structures),
        ("bad/nopixels.dcm".to_string(), no_pixels),
        ("bad/empty.dcm".to_string(), Vec::new()),
        ("bad/text.dcm".to_string(), b"hello, not a scan".to_vec()),
    ]);
    let loaded = load(&files);
    assert_eq!(loaded.studies.len(), 1);
    assert_eq!(loaded.studies[0].slices(), good);
    let reason = |file: &str| loaded.problems.iter().find(|p| p.file == file).map(|p| p.reason.clone()).unwrap_or_default();
    assert!(reason("bad/truncated.dcm").contains("truncated"), "{:?}", loaded.problems);
    assert!(reason("bad/report.dcm").contains("Structured Report"), "{:?}", loaded.problems);
    assert!(reason("bad/RTSTRUCT").contains("Radiotherapy"), "{:?}", loaded.problems);
    assert!(reason("bad/nopixels.dcm").contains("no pixel data"), "{:?}", loaded.problems);
    assert!(reason("bad/empty.dcm").contains("empty"), "{:?}", loaded.problems);
    assert!(reason("bad/text.dcm").contains("not a DICOM"), "{:?}", loaded.problems);
}

/// An image object of `modality` (and `sop_class`): a slice's pixels, no geometry.
fn image_of(sop_class: &str, modality: Option<&str>) -> Vec<u8> {
    let mut w = DicomWriter::new(Syntax::ExplicitLe, sop_class);
    if let Some(m) = modality {
        w.text(0x0008_0060, b"CS", m);
    }
    w.pixels(8, 8, &[100; 64]);
    w.finish()
}

#[test]
fn only_mr_images_are_segmented_and_others_are_refused_by_modality() {
    let ct_image = "1.2.840.10008.5.1.4.1.1.2";
    let rt_dose = "1.2.840.10008.5.1.4.1.1.481.2";
    let secondary_capture = "1.2.840.10008.5.1.4.1.1.7";
    let files = vec![
        ("ct.dcm".to_string(), image_of(ct_image, Some("CT"))),
        ("dose.dcm".to_string(), image_of(rt_dose, Some("RTDOSE"))),
        ("pet.dcm".to_string(), image_of("1.2.840.10008.5.1.4.1.1.128", Some("PT"))),
        ("screenshot.dcm".to_string(), image_of(secondary_capture, Some("MR"))),
        ("odd.dcm".to_string(), image_of(MR_IMAGE, Some("XYZ"))),
        ("anonymous.dcm".to_string(), image_of(MR_IMAGE, None)),
    ];
    let loaded = load(&files);
    let reason = |file: &str| loaded.problems.iter().find(|p| p.file == file).map(|p| p.reason.clone()).unwrap_or_default();
    assert!(reason("ct.dcm").contains("modality CT (computed tomography)"), "{:?}", loaded.problems);
    assert!(reason("dose.dcm").contains("RTDOSE (radiotherapy dose)"), "{:?}", loaded.problems);
    assert!(reason("pet.dcm").contains("modality PT (PET)"), "{:?}", loaded.problems);
    assert!(reason("screenshot.dcm").contains("secondary capture"), "{:?}", loaded.problems);
    assert!(reason("odd.dcm").contains("modality XYZ"), "{:?}", loaded.problems);
    assert!(loaded.problems.iter().all(|p| p.reason.contains("brain MR only")), "{:?}", loaded.problems);
    // No Modality at all: read as MR, and the study says so.
    assert_eq!(loaded.problems.len(), 5);
    assert_eq!(loaded.studies.len(), 1);
    assert!(loaded.studies[0].notes.iter().any(|n| n.contains("no Modality")), "{:?}", loaded.studies[0].notes);
}

#[test]
fn compressed_syntax_is_named_in_the_message() {
    let mut w = DicomWriter::new(Syntax::ExplicitLe, MR_IMAGE);
    w.pixels(8, 8, &[0; 64]);
    let mut bytes = w.finish();
    // Swap the transfer syntax for JPEG 2000 (same length after the writer's padding).
    let from = b"1.2.840.10008.1.2.1\0";
    let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
    bytes[at..at + from.len()].copy_from_slice(b"1.2.840.10008.1.2.4.");
    let e = dicom::parse(&bytes).unwrap_err();
    assert!(matches!(e, Error::CompressedSyntax { .. }), "{e}");
    assert!(e.to_string().contains("JPEG") && e.to_string().contains("not supported"), "{e}");
}

#[test]
fn every_truncation_of_every_syntax_is_an_error_not_a_panic() {
    for syntax in Syntax::ALL {
        let bytes = single(syntax);
        for cut in (0..bytes.len()).step_by(3) {
            let r: Result<DicomImage, _> = dicom::parse(&bytes[..cut]);
            assert!(r.is_err(), "{syntax:?} cut at {cut} parsed");
        }
        // Flipped bytes must not panic either (they may still parse).
        for at in (0..bytes.len()).step_by(5) {
            let mut b = bytes.clone();
            b[at] ^= 0xA5;
            let _ = dicom::parse(&b);
        }
    }
}
