//! Checks on the real LGG folder, when this machine has it (`../shared/datasets/...`); skipped
//! with a message otherwise. Nothing from it is written anywhere.

use std::path::PathBuf;

use brainseg_trainer::dataset::{load, scan};

fn data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/datasets/lgg-mri-segmentation/kaggle_3m");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: {} is absent on this machine", dir.display());
        None
    }
}

#[test]
fn real_folder_scans_completely_and_slices_decode() {
    let Some(dir) = data_dir() else { return };
    let (patients, problems) = scan(&dir).expect("scan");
    assert!(problems.is_empty(), "{problems:?}");
    assert!(patients.len() >= 80, "{} patients", patients.len());
    let first = &patients[..1];
    assert!(first[0].slices.windows(2).all(|w| w[0].index + 1 == w[1].index), "contiguous slice numbers");
    let (samples, problems) = load(first, None);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(samples.len(), first[0].slices.len());
    for s in &samples {
        assert_eq!(s.image.dimensions(), (256, 256));
        assert!(s.mask.pixels().all(|p| p.0[0] == 0 || p.0[0] == 255));
    }
}
