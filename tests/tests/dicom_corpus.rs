//! pydicom's test files (other writers' DICOM: dcmtk, GDCM, pydicom itself) read by brainseg:
//! the same pixels as pydicom decodes, or refused for a reason the README lists
//! (tests/standard_tools/corpus.py). Skipped with a message where pydicom is not installed.

mod common;

use std::process::Command;

use common::{brainseg_bin, dicom_python, standard_tool, text};

#[test]
fn pydicom_test_files_read_as_pydicom_reads_them_or_are_refused_by_name() {
    let Some(python) = dicom_python() else { return };
    let example = brainseg_bin().parent().unwrap().join("examples/dicom_pixels");
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(python).arg(standard_tool("corpus.py")).arg(&example).arg(out.path()).output().expect("run python");
    let report = text(&o.stdout);
    assert!(o.status.success(), "{report}{}", text(&o.stderr));
    eprintln!("{}", report.lines().last().unwrap_or_default());
    // The corpus holds a couple of dozen grayscale images: most must be compared, not refused.
    let compared: usize = report.lines().filter(|l| l.contains("same pixels as pydicom")).count();
    assert!(compared >= 20, "{report}");
}
