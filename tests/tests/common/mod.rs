//! Helpers shared by the integration tests: the `brainseg` binary, tiny model files and
//! synthetic datasets in the Kaggle layout. Everything is made in code; no patient data.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use brainseg_core::model_file::{ModelMeta, WeightStorage, encode};
use brainseg_core::preprocess::Normalization;
use brainseg_core::synthetic::phantom;
use brainseg_core::UNetConfig;
use burn::prelude::*;

/// Path of the `brainseg` binary of this build profile, built on first use.
pub fn brainseg_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // The test binary lives in target/<profile>/deps/.
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>");
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        // All targets of the workspace, as `cargo test` builds them: the same feature set, so
        // this is a no-op after `cargo test` compiled, instead of a second build of Burn.
        let mut build = Command::new(env!("CARGO"));
        build.args(["build", "--quiet", "--all-targets"]);
        if release {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build");
        assert!(status.success(), "building the brainseg binary failed");
        profile_dir.join("brainseg")
    })
}

/// Runs `brainseg args...` and returns its output.
pub fn brainseg(args: &[&str]) -> Output {
    Command::new(brainseg_bin()).args(args).output().expect("run brainseg")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A small architecture that runs in milliseconds.
pub fn tiny_config() -> UNetConfig {
    UNetConfig::new().with_base_channels(8).with_depth(2).with_input_size(32)
}

/// Writes an untrained tiny model file and returns its path.
pub fn tiny_model(dir: &Path) -> PathBuf {
    let device = Device::flex();
    let bytes = encode(tiny_config().init(&device), ModelMeta::new(tiny_config(), Normalization::default()), WeightStorage::F32)
        .expect("encode");
    let path = dir.join("tiny.bsm");
    std::fs::write(&path, bytes).expect("write model");
    path
}

/// A Kaggle-layout folder: `patients` cases of `slices` phantom slices each, alternating
/// tumor/no tumor, written as `ext` (png, tif or webp).
pub fn synthetic_dataset(root: &Path, patients: usize, slices: usize, size: u32, ext: &str) {
    for p in 0..patients {
        let case = format!("SYN_{p:02}_20000101");
        let dir = root.join(&case);
        std::fs::create_dir_all(&dir).unwrap();
        for n in 1..=slices {
            let ph = phantom(size, size, (p * 1000 + n) as u64, n % 2 == 1);
            ph.image.save(dir.join(format!("{case}_{n}.{ext}"))).unwrap();
            ph.mask.save(dir.join(format!("{case}_{n}_mask.{ext}"))).unwrap();
        }
    }
}

/// The Python with highdicom and pydicom (scripts/setup-dicom-tools.sh), or `None` with the
/// skip message printed.
pub fn dicom_python() -> Option<PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-dicom/bin/python");
    if python.exists() {
        return Some(python);
    }
    eprintln!("skipped: no {} (scripts/setup-dicom-tools.sh installs highdicom and pydicom)", python.display());
    None
}

/// A Python script of `tests/standard_tools/`.
pub fn standard_tool(script: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("standard_tools").join(script)
}
