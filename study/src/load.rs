//! Files in, studies out: DICOM files are grouped into series and studies, NIfTI files by the
//! folder they came from, zip archives are opened in place and their entries read as files. A
//! file that cannot be read becomes a [`Problem`] naming it; the rest of the study still loads.

use std::collections::BTreeMap;
use std::fmt;

use crate::channels::{Study, assemble};
use crate::dicom::{self, DicomImage};
use crate::nifti;
use crate::series;
use crate::volume::Volume;
use crate::zip;

/// A file (or slice) that was not used, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub file: String,
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.reason)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dicom,
    Nifti,
    /// A zip archive of scans (a PACS or CD export), read in place.
    Zip,
    /// Anything else (PNG slices go through the image path).
    Other,
}

fn has_dicom_extension(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".dcm", ".dicom", ".ima"].iter().any(|e| lower.ends_with(e))
}

/// What a file is, from its name and first bytes (132 are enough).
pub fn kind(name: &str, head: &[u8]) -> Kind {
    if nifti::has_extension(name) {
        Kind::Nifti
    } else if zip::is_zip(name, head) {
        Kind::Zip
    } else if has_dicom_extension(name) || dicom::sniff(head) {
        Kind::Dicom
    } else {
        Kind::Other
    }
}

/// Collects files one at a time (so their bytes can be dropped), then builds the studies.
#[derive(Default)]
pub struct Loader {
    dicom: Vec<(String, DicomImage)>,
    /// NIfTI volumes by the folder they were found in.
    nifti: BTreeMap<String, Vec<Volume>>,
    problems: Vec<Problem>,
}

pub struct Loaded {
    pub studies: Vec<Study>,
    pub problems: Vec<Problem>,
}

fn folder_of(name: &str) -> String {
    name.rsplit_once('/').map_or("", |(d, _)| d).to_string()
}

fn file_part(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// A DICOMDIR only indexes the files beside it, which are read for themselves.
fn is_dicomdir(name: &str) -> bool {
    file_part(name).eq_ignore_ascii_case("DICOMDIR")
}

impl Loader {
    /// Reads one DICOM or NIfTI file, or every scan in a zip; a failure is kept as a problem for
    /// [`Loader::finish`].
    pub fn add(&mut self, name: &str, bytes: &[u8]) {
        let result = match kind(name, bytes) {
            Kind::Zip => return self.add_zip(name, bytes),
            _ if is_dicomdir(name) => Ok(()),
            Kind::Nifti => nifti::read(file_part(name), bytes).map(|v| self.nifti.entry(folder_of(name)).or_default().push(v)),
            Kind::Dicom | Kind::Other => dicom::parse(bytes).map(|image| {
                    let frames = dicom::functional::split(image);
                    let several = frames.len() > 1;
                    self.dicom.extend(frames.into_iter().map(|i| match i.frame_number {
                        Some(k) if several => (format!("{name} (frame {k})"), i),
                        _ => (name.to_string(), i),
                    }));
                }),
        };
        if let Err(e) = result {
            self.problem(name, e.to_string());
        }
    }

    /// Reads the scans in a zip, named `<zip>/<path inside>`, as a folder of them would be read:
    /// files that are not scans are passed over, one entry at a time so its bytes can go.
    fn add_zip(&mut self, name: &str, bytes: &[u8]) {
        let entries = match zip::entries(bytes) {
            Ok(entries) => entries,
            Err(e) => return self.problem(name, e.to_string()),
        };
        for entry in entries {
            let path = format!("{name}/{}", entry.name);
            match entry.read(bytes) {
                // A zip in a zip is how the classic zip bombs nest: not opened.
                Ok(inner) if kind(&entry.name, &inner) == Kind::Zip => {
                    self.problem(&path, "a zip inside a zip is not opened: unzip the outer one first".into());
                }
                Ok(inner) if kind(&entry.name, &inner) != Kind::Other => self.add(&path, &inner),
                Ok(_) => {}
                Err(e) => self.problem(&path, e.to_string()),
            }
        }
    }

    /// Records a file that could not even be read.
    pub fn problem(&mut self, file: &str, reason: String) {
        self.problems.push(Problem { file: file.to_string(), reason });
    }

    pub fn is_empty(&self) -> bool {
        self.dicom.is_empty() && self.nifti.is_empty() && self.problems.is_empty()
    }

    pub fn finish(self) -> Loaded {
        let mut problems = self.problems;
        let (volumes, skipped) = series::volumes(self.dicom);
        problems.extend(skipped.into_iter().map(|s| Problem { file: s.file, reason: s.reason }));
        let mut by_study: BTreeMap<String, Vec<Volume>> = BTreeMap::new();
        for (study, volume) in volumes {
            by_study.entry(study).or_default().push(volume);
        }
        let studies = by_study.into_values().chain(self.nifti.into_values()).flat_map(assemble).collect();
        Loaded { studies, problems }
    }
}
