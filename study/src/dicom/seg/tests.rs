use super::*;
use crate::dicom::source::SourceSlice;
use crate::load::Loader;
use crate::synth::{SeriesSpec, Syntax, dicom_series, phantom_volume};

const INFO: SegInfo = SegInfo { model_sha256: "ab12", software_version: "0.0.0", uid_seed: 42, unix_seconds: 1_796_176_000, edited: false };

/// A synthetic series loaded as a user's files would be (files in shuffled order), and its truth
/// in the volume's slice order.
fn series() -> (Volume, Vec<u8>) {
    let p = phantom_volume([48, 40, 9], [2.0, 2.5, 4.0], 5);
    let files = dicom_series(&p, &SeriesSpec::axial("AX FLAIR"), Syntax::ExplicitLe);
    let mut loader = Loader::default();
    for k in [4, 0, 8, 2, 6, 1, 7, 3, 5] {
        loader.add(&format!("IM{k}"), &files[k]);
    }
    let loaded = loader.finish();
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    (loaded.studies.into_iter().next().unwrap().flair, p.truth)
}

fn source(v: &Volume) -> &DicomSource {
    match &v.origin {
        Origin::Dicom(s) => s,
        other => panic!("{other:?}"),
    }
}

#[test]
fn frames_positions_and_references_are_the_source_series() {
    let (volume, truth) = series();
    let bytes = write(&volume, &truth, &INFO).unwrap().expect("the phantom has tumor");
    let seg = read(&bytes).unwrap();
    let src = source(&volume);
    let plane = 48 * 40;
    let with_tumor: Vec<usize> = (0..9).filter(|&k| truth[k * plane..(k + 1) * plane].contains(&1)).collect();
    assert!(!with_tumor.is_empty() && with_tumor.len() < 9, "{with_tumor:?}");
    assert_eq!((seg.rows, seg.columns), (40, 48));
    assert_eq!(seg.frames.len(), with_tumor.len());
    for (frame, &k) in seg.frames.iter().zip(&with_tumor) {
        assert_eq!(frame.source_instance, src.slices[k].sop_instance_uid);
        assert_eq!(frame.source_frame, None);
        assert_eq!(frame.segment, 1);
        let (got, want) = (frame.position.unwrap(), src.slices[k].position.unwrap());
        assert!((0..3).all(|i| (got[i] - want[i]).abs() < 1e-6), "{got:?} vs {want:?}");
        assert_eq!(frame.mask, truth[k * plane..(k + 1) * plane]);
    }
    assert_eq!(seg.volume_mask(src).unwrap(), truth);
    // Filed under the source's patient, study and frame of reference; a series of its own.
    assert_eq!((seg.patient_name.as_str(), seg.patient_id.as_str()), ("Phantom^Synthetic", "PHANTOM-1"));
    assert_eq!(seg.study_uid, src.study_uid);
    assert_eq!(seg.frame_of_reference_uid, src.frame_of_reference_uid);
    assert_eq!(seg.referenced_series, [src.series_uid.clone()]);
    assert_ne!(seg.series_uid, src.series_uid);
    assert_eq!(seg.segment_labels, ["Tumor"]);
}

#[test]
fn each_run_gets_new_uids() {
    let (volume, truth) = series();
    let a = read(&write(&volume, &truth, &INFO).unwrap().unwrap()).unwrap();
    let b = read(&write(&volume, &truth, &SegInfo { uid_seed: 43, ..INFO }).unwrap().unwrap()).unwrap();
    assert_ne!(a.series_uid, b.series_uid);
    assert_ne!(a.sop_instance_uid, b.sop_instance_uid);
    assert_ne!(a.series_uid, a.sop_instance_uid);
    for u in [&a.series_uid, &a.sop_instance_uid] {
        assert!(u.starts_with("2.25.") && u.len() <= 64 && !u[5..].starts_with('0'), "{u}");
    }
    assert_eq!(a.frames, b.frames);
}

#[test]
fn an_edited_mask_is_semiautomatic_with_the_model_still_named() {
    let (volume, truth) = series();
    let has = |bytes: &[u8], text: &[u8]| bytes.windows(text.len()).any(|w| w == text);
    let automatic = write(&volume, &truth, &INFO).unwrap().unwrap();
    let edited = write(&volume, &truth, &SegInfo { edited: true, ..INFO }).unwrap().unwrap();
    assert!(has(&automatic, b"AUTOMATIC") && !has(&automatic, b"SEMIAUTOMATIC"));
    assert!(has(&edited, b"SEMIAUTOMATIC") && has(&edited, b"brainseg") && has(&edited, b"ab12"));
}

/// A volume of `dims` whose slices are frames of one multi-frame file.
fn multi_frame(dims: [usize; 3]) -> Volume {
    let mut v = Volume::of_images("odd", dims[0], dims[1], dims[2]);
    v.origin = Origin::Dicom(Box::new(DicomSource {
        study_uid: "1.2.3".into(),
        series_uid: "1.2.3.4".into(),
        frame_of_reference_uid: "1.2.3.5".into(),
        orientation: Some([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
        pixel_spacing: Some([0.9, 0.8]),
        files: 1,
        slices: (0..dims[2])
            .map(|k| SourceSlice {
                sop_class_uid: "1.2.840.10008.5.1.4.1.1.4.1".into(),
                sop_instance_uid: "1.2.3.4.1".into(),
                frame: Some(k + 1),
                position: Some([0.0, 0.0, 3.0 * k as f64]),
            })
            .collect(),
        ..DicomSource::default()
    }));
    v
}

#[test]
fn odd_sizes_pack_across_byte_boundaries() {
    let dims = [255, 257, 3];
    let volume = multi_frame(dims);
    let n = dims.iter().product::<usize>();
    // Frame bits are not byte aligned (255 x 257 is odd): every pixel must land where it was.
    let mask: Vec<u8> = (0..n).map(|i| u8::from((i * 7919) % 13 < 4 || i == n - 1)).collect();
    let bytes = write(&volume, &mask, &INFO).unwrap().unwrap();
    let seg = read(&bytes).unwrap();
    assert_eq!(seg.frames.len(), 3);
    assert_eq!(seg.frames.iter().map(|f| f.source_frame).collect::<Vec<_>>(), [Some(1), Some(2), Some(3)]);
    assert_eq!(seg.volume_mask(source(&volume)).unwrap(), mask);
    assert_eq!(bytes.len() % 2, 0);
}

#[test]
fn bits_go_lowest_first_frames_back_to_back() {
    let bits = [true, false, false, false, false, false, false, false, false, true, true];
    assert_eq!(pack_bits(bits.into_iter()), [0b0000_0001, 0b0000_0110]);
    assert_eq!(pack_bits([true].into_iter()), [1, 0]);
}

#[test]
fn no_tumor_writes_no_seg_and_other_inputs_are_refused() {
    let (volume, truth) = series();
    assert_eq!(write(&volume, &vec![0; truth.len()], &INFO), Ok(None));
    assert!(matches!(write(&volume, &truth[1..], &INFO), Err(Error::NoSeg(_))));
    let images = Volume::of_images("case", 4, 4, 2);
    let err = write(&images, &[1; 32], &INFO).unwrap_err();
    assert!(err.to_string().contains("not a DICOM series"), "{err}");
    let mut unplaced = multi_frame([4, 4, 2]);
    if let Origin::Dicom(s) = &mut unplaced.origin {
        s.slices[1].position = None;
    }
    assert!(matches!(write(&unplaced, &[1; 32], &INFO), Err(Error::NoSeg(_))));
}

#[test]
fn dates_are_utc_calendar_days() {
    assert_eq!(date_time(0), ("19700101".into(), "000000".into()));
    assert_eq!(date_time(951_868_799), ("20000229".into(), "235959".into()));
    assert_eq!(date_time(1_796_176_000), ("20261202".into(), "014640".into()));
}

#[test]
fn damaged_segs_are_errors() {
    let (volume, truth) = series();
    let bytes = write(&volume, &truth, &INFO).unwrap().unwrap();
    for cut in [0, 131, 400, bytes.len() / 2, bytes.len() - 3] {
        assert!(read(&bytes[..cut]).is_err(), "cut at {cut}");
    }
}
