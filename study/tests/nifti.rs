//! NIfTI volumes built in code: any storage order comes out in display orientation, masks go
//! back with the input's geometry, and bad files get a reason.

use brainseg_study::Loader;
use brainseg_study::measure::summarize;
use brainseg_study::nifti::{self, Header};
use brainseg_study::synth::{PhantomVolume, SeriesSpec, Syntax, dicom_series, phantom_volume};
use brainseg_study::volume::{Affine, Reorient};

const DIMS: [usize; 3] = [64, 56, 12];
const SPACING: [f64; 3] = [2.5, 2.5, 5.0];

/// Display orientation in RAS: columns toward L, rows toward P, slices toward S.
fn display_affine() -> Affine {
    [[-2.5, 0.0, 0.0, 100.0], [0.0, -2.5, 0.0, 110.0], [0.0, 0.0, 5.0, -30.0]]
}

/// The phantom stored with display axis `d` on file axis `r.axes[d]` (reversed where flipped),
/// and the affine that keeps every voxel at the same place in the body.
fn stored(p: &PhantomVolume, r: Reorient) -> ([usize; 3], Affine, Vec<f32>) {
    let mut file = [0; 3];
    for d in 0..3 {
        file[r.axes[d]] = p.dims[d];
    }
    let mut values = vec![0f32; p.flair.len()];
    for (&v, o) in p.flair.iter().zip(r.file_offsets(file)) {
        values[o] = v;
    }
    let d = display_affine();
    let mut a = [[0.0; 4]; 3];
    for row in 0..3 {
        a[row][3] = d[row][3];
        for axis in 0..3 {
            let sign = if r.flip[axis] { -1.0 } else { 1.0 };
            a[row][r.axes[axis]] = sign * d[row][axis];
            if r.flip[axis] {
                a[row][3] += d[row][axis] * (p.dims[axis] - 1) as f64;
            }
        }
    }
    (file, a, values)
}

const ORDERS: [Reorient; 4] = [
    Reorient::IDENTITY,
    // RAS storage (as most tools save): x and y reversed.
    Reorient { axes: [0, 1, 2], flip: [true, true, false] },
    // Slices first, rows reversed, slices reversed: an odd but legal layout.
    Reorient { axes: [1, 2, 0], flip: [false, true, true] },
    Reorient { axes: [2, 0, 1], flip: [true, false, true] },
];

#[test]
fn any_storage_order_reads_back_in_display_orientation() {
    let p = phantom_volume(DIMS, SPACING, 1);
    for (n, order) in ORDERS.iter().enumerate() {
        for gzip in [false, true] {
            let (file, affine, values) = stored(&p, *order);
            let bytes = nifti::write_volume(file, &affine, &values, gzip);
            let v = nifti::read("flair.nii", &bytes).unwrap();
            assert_eq!(v.dims, DIMS, "order {n}");
            assert_eq!(v.voxels, p.flair, "order {n} gzip {gzip}");
            assert_eq!(v.pixel_spacing, Some([2.5, 2.5]));
            let a = v.affine.unwrap();
            for (row, expected) in a.iter().zip(display_affine()) {
                for (x, e) in row.iter().zip(expected) {
                    assert!((x - e).abs() < 1e-4, "order {n}: {a:?}");
                }
            }
            let truth: Vec<&[u8]> = p.truth.chunks(DIMS[0] * DIMS[1]).collect();
            let ml = summarize(&v, &truth).volume_ml.unwrap();
            assert!((ml - p.tumor_ml()).abs() < 1e-6, "{ml} vs {}", p.tumor_ml());
        }
    }
}

#[test]
fn exported_masks_keep_the_input_grid_and_geometry() {
    let p = phantom_volume(DIMS, SPACING, 2);
    for order in ORDERS {
        let (file, affine, _) = stored(&p, order);
        let truth_values: Vec<f32> = p.truth.iter().map(|&t| f32::from(t)).collect();
        let as_phantom = PhantomVolume { flair: truth_values, ..phantom_volume(DIMS, SPACING, 2) };
        let (_, _, truth_in_file) = stored(&as_phantom, order);
        let input = nifti::write_volume(file, &affine, &stored(&p, order).2, true);
        let volume = nifti::read("scan.nii.gz", &input).unwrap();

        let out = nifti::write_mask(&volume, &p.truth).unwrap();
        let back = read_raw(&out);
        let header = Header::parse(&back).unwrap();
        assert_eq!((header.datatype, &header.dim[..4]), (2, &[3, file[0] as i16, file[1] as i16, file[2] as i16][..]));
        assert_eq!(header.affine(), Header::parse(&read_raw(&input)).unwrap().affine());
        let mask: Vec<f32> = back[352..].iter().map(|&b| f32::from(b)).collect();
        assert_eq!(mask, truth_in_file);
    }
}

fn read_raw(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

#[test]
fn dicom_masks_export_with_the_series_geometry() {
    let p = phantom_volume(DIMS, SPACING, 3);
    let mut loader = Loader::default();
    for (i, f) in dicom_series(&p, &SeriesSpec::axial("FLAIR"), Syntax::ExplicitLe).iter().enumerate() {
        loader.add(&format!("s/{i}"), f);
    }
    let study = loader.finish().studies.remove(0);
    let out = nifti::write_mask(&study.flair, &p.truth).unwrap();
    let back = nifti::read("mask.nii.gz", &out).unwrap();
    assert_eq!(back.dims, DIMS);
    assert_eq!(back.voxels, p.truth.iter().map(|&t| f32::from(t)).collect::<Vec<_>>());
    assert_eq!(back.affine, study.flair.affine);
}

#[test]
fn brats_style_files_in_one_folder_fill_three_channels() {
    let p = phantom_volume(DIMS, SPACING, 4);
    let bytes = nifti::write_volume(DIMS, &display_affine(), &p.flair, true);
    let mut loader = Loader::default();
    for seq in ["t1", "flair", "t1ce", "t2"] {
        loader.add(&format!("case1/case1_{seq}.nii.gz"), &bytes);
    }
    loader.add("case2/scan.nii", &nifti::write_volume(DIMS, &display_affine(), &p.flair, false));
    let loaded = loader.finish();
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    assert_eq!(loaded.studies.len(), 2);
    assert_eq!(loaded.studies[0].mode, brainseg_study::Mode::ThreeSequences);
    assert!(loaded.studies[0].notes.iter().any(|n| n.contains("case1_t2")), "{:?}", loaded.studies[0].notes);
    assert_eq!(loaded.studies[1].mode, brainseg_study::Mode::FlairOnly);
}

#[test]
fn a_2d_image_with_junk_in_unused_dimensions_exports_a_readable_mask() {
    // Found by the fuzzer: dim[0] = 2 with dim[3] = 7 made the export's header claim 7 slices.
    let p = phantom_volume([8, 8, 1], SPACING, 6);
    let mut bytes = nifti::write_volume(p.dims, &display_affine(), &p.flair, false);
    bytes[40..42].copy_from_slice(&2i16.to_le_bytes());
    bytes[46..48].copy_from_slice(&7i16.to_le_bytes());
    let v = nifti::read("slice.nii", &bytes).unwrap();
    assert_eq!(v.dims, [8, 8, 1]);
    let back = nifti::read("mask.nii.gz", &nifti::write_mask(&v, &[1; 64]).unwrap()).unwrap();
    assert_eq!(back.voxels, vec![1.0; 64]);
}

#[test]
fn bad_volumes_are_named_and_never_panic() {
    let p = phantom_volume([8, 8, 4], SPACING, 5);
    let good = nifti::write_volume(p.dims, &display_affine(), &p.flair, false);
    let with = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        edit(&mut b);
        b
    };
    let four_d = with(&|b| {
        b[40..42].copy_from_slice(&4i16.to_le_bytes());
        b[48..50].copy_from_slice(&3i16.to_le_bytes());
    });
    let rgb = with(&|b| b[70..72].copy_from_slice(&128i16.to_le_bytes()));
    let nifti2 = with(&|b| b[..4].copy_from_slice(&540i32.to_le_bytes()));
    let mut corrupt_gz = nifti::write_volume(p.dims, &display_affine(), &p.flair, true);
    let mid = corrupt_gz.len() / 2;
    corrupt_gz[mid..mid + 8].copy_from_slice(&[0xFF; 8]);
    let cases: [(&str, Vec<u8>, &str); 6] = [
        ("4d.nii", four_d, "4D series of 3 volumes"),
        ("rgb.nii", rgb, "RGB"),
        ("v2.nii", nifti2, "NIfTI-2"),
        ("short.nii", good[..good.len() - 10].to_vec(), "truncated"),
        ("bad.nii.gz", corrupt_gz, "decompress"),
        ("empty.nii", Vec::new(), "empty"),
    ];
    for (name, bytes, expected) in cases {
        let e = nifti::read(name, &bytes).unwrap_err().to_string();
        assert!(e.contains(expected), "{name}: {e}");
    }
    for cut in 0..good.len() {
        assert!(nifti::read("cut.nii", &good[..cut]).is_err(), "cut at {cut}");
    }
    let gz = nifti::write_volume(p.dims, &display_affine(), &p.flair, true);
    for cut in 0..gz.len() {
        assert!(nifti::read("cut.nii.gz", &gz[..cut]).is_err(), "gz cut at {cut}");
    }
}
