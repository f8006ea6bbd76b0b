//! Files in, studies out: the one rule of the CLI and the page for what a file is and which
//! files form one study. Scans (DICOM, NIfTI, zip) are told by their bytes as much as by their
//! names, image slices by their extension; numbered slices of one folder are one volume (see
//! [`numbered`]); any other image is a study of one slice.

use brainseg_core::image_input::decode_slice;
use brainseg_study::load::Kind;
use brainseg_study::{Loader, Problem, Study, Volume, numbered};
use image::RgbImage;
use serde::{Deserialize, Serialize};

/// How many leading bytes [`classify`] needs.
pub const HEAD_LEN: usize = 132;

/// What a file is to the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A slice image (PNG, JPEG, TIFF, WebP).
    Image,
    /// A DICOM file, a NIfTI volume or a zip of them.
    Scan,
}

/// What a file is, from its name and first bytes ([`HEAD_LEN`] suffice): a DICOM marker or a
/// zip signature make it a scan whatever its name (PACS exports name files `IM0001`, `1.3.12.2`
/// or anything); otherwise an image extension makes it an image, and a scan extension or a bare
/// DICOM data set a scan. `None`: neither, or an expert mask (`*_mask.*`), never segmented.
pub fn classify(name: &str, head: &[u8]) -> Option<FileKind> {
    if numbered::is_mask_name(name) {
        return None;
    }
    let file = name.rsplit('/').next().unwrap_or(name);
    if head.get(128..132) == Some(b"DICM") || head.starts_with(b"PK\x03\x04") {
        Some(FileKind::Scan)
    } else if numbered::is_image_name(file) {
        Some(FileKind::Image)
    } else if brainseg_study::kind(file, head) != Kind::Other {
        Some(FileKind::Scan)
    } else {
        None
    }
}

/// Where a study's slices came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StudyKind {
    /// A DICOM series or a NIfTI volume.
    Scan,
    /// Numbered image slices of one folder.
    Numbered,
    /// One image on its own: no 3D step.
    Single,
}

/// A study without its pixels: what the page keeps beside the slices, and what assembling and
/// exporting its masks need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyHeader {
    pub label: String,
    pub kind: StudyKind,
    /// Which channels were filled from which series, in words.
    pub mode: String,
    pub notes: Vec<String>,
    /// Spacing, orientation, origin and (for DICOM) the instances; no voxels.
    pub geometry: Volume,
    /// Each slice's name: its file for images, `<label>/slice 001` for scans.
    pub slice_names: Vec<String>,
    /// Each slice's width and height (numbered slices may differ).
    pub dims: Vec<(u32, u32)>,
}

impl StudyHeader {
    /// Whether every slice has the volume's size: the figures in mL or %, the NIfTI and the SEG
    /// need that; masks of mixed sizes only get their slice PNGs.
    pub fn uniform(&self) -> bool {
        let [w, h, _] = self.geometry.dims;
        self.dims.iter().all(|&d| d == (w as u32, h as u32))
    }

    pub fn slices(&self) -> usize {
        self.dims.len()
    }

    pub fn is_dicom(&self) -> bool {
        matches!(self.geometry.origin, brainseg_study::volume::Origin::Dicom(_))
    }
}

/// A study ready for the model: its slices as the network's 8-bit RGB input, in slice order.
#[derive(Debug, Clone)]
pub struct StudyInput {
    pub header: StudyHeader,
    pub slices: Vec<RgbImage>,
}

const IMAGE_MODE: &str = "as in the files (pre-contrast, FLAIR, post-contrast)";

impl StudyInput {
    /// A DICOM series or NIfTI volume, its channels windowed to 8 bits.
    pub fn from_scan(study: &Study) -> StudyInput {
        let (w, h) = (study.width() as u32, study.height() as u32);
        // `rgb_slice` always holds width x height x 3 bytes; the fallback is never used.
        let slices: Vec<RgbImage> =
            (0..study.slices()).map(|k| RgbImage::from_raw(w, h, study.rgb_slice(k)).unwrap_or_else(|| RgbImage::new(w, h))).collect();
        let header = StudyHeader {
            label: study.label.clone(),
            kind: StudyKind::Scan,
            mode: study.mode.to_string(),
            notes: study.notes.clone(),
            geometry: study.flair.geometry(),
            slice_names: (1..=slices.len()).map(|k| format!("{}/slice {k:03}", study.label)).collect(),
            dims: vec![(w, h); slices.len()],
        };
        StudyInput { header, slices }
    }

    /// Image slices as one study (`Numbered` in slice order, or one `Single` image). Its
    /// geometry has the first slice's size and no spacing.
    pub fn from_images(label: &str, kind: StudyKind, images: Vec<(String, RgbImage)>, notes: Vec<String>) -> StudyInput {
        let (w, h) = images.first().map_or((0, 0), |(_, i)| i.dimensions());
        let (slice_names, slices): (Vec<String>, Vec<RgbImage>) = images.into_iter().unzip();
        let header = StudyHeader {
            label: label.to_string(),
            kind,
            mode: IMAGE_MODE.to_string(),
            notes,
            geometry: Volume::of_images(label, w as usize, h as usize, slices.len()),
            dims: slices.iter().map(RgbImage::dimensions).collect(),
            slice_names,
        };
        StudyInput { header, slices }
    }
}

/// What a set of files held: its studies, and the files that could not be used, with why.
#[derive(Debug, Default)]
pub struct Intake {
    pub studies: Vec<StudyInput>,
    pub problems: Vec<Problem>,
}

struct Decoded {
    name: String,
    image: RgbImage,
    notes: Vec<String>,
}

/// Takes files one at a time (so each file's bytes can go before the next is read), then
/// groups them into studies.
#[derive(Default)]
pub struct Reader {
    scans: Loader,
    images: Vec<Decoded>,
    problems: Vec<Problem>,
}

impl Reader {
    /// Reads one file. `named`: the user chose this file itself, so a file that is neither an
    /// image nor a scan is tried as an image and gets its error; a file found inside a folder is
    /// then passed over. Expert masks are always passed over.
    pub fn add(&mut self, name: &str, bytes: &[u8], named: bool) {
        match classify(name, bytes) {
            Some(FileKind::Scan) => self.scans.add(name, bytes),
            Some(FileKind::Image) => self.add_image(name, bytes),
            None if named && !numbered::is_mask_name(name) => self.add_image(name, bytes),
            None => {}
        }
    }

    fn add_image(&mut self, name: &str, bytes: &[u8]) {
        match decode_slice(bytes) {
            Ok(slice) => {
                let notes = slice.conversions.iter().map(ToString::to_string).collect();
                self.images.push(Decoded { name: name.to_string(), image: slice.image, notes });
            }
            Err(e) => self.problem(name, e.to_string()),
        }
    }

    /// A file that could not even be read.
    pub fn problem(&mut self, file: &str, reason: String) {
        self.problems.push(Problem { file: file.to_string(), reason });
    }

    pub fn is_empty(&self) -> bool {
        self.scans.is_empty() && self.images.is_empty() && self.problems.is_empty()
    }

    /// Scans grouped into series and studies, numbered images into volumes (a duplicate slice
    /// number is a study of its own), every other image a study of one slice.
    pub fn finish(self) -> Intake {
        let loaded = self.scans.finish();
        let mut problems = self.problems;
        problems.extend(loaded.problems);
        let mut studies: Vec<StudyInput> = loaded.studies.iter().map(StudyInput::from_scan).collect();
        let names: Vec<String> = self.images.iter().map(|d| d.name.clone()).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let grouping = numbered::group(&names);
        let mut slots: Vec<Option<Decoded>> = self.images.into_iter().map(Some).collect();
        let mut singles = grouping.singles.clone();
        for volume in &grouping.volumes {
            singles.extend(&volume.duplicates);
            let mut notes = volume.notes(&names);
            let mut images = Vec::with_capacity(volume.slices.len());
            for &(_, i) in &volume.slices {
                if let Some(d) = slots[i].take() {
                    notes.extend(d.notes.iter().map(|n| format!("{}: {n}", d.name)));
                    images.push((d.name, d.image));
                }
            }
            studies.push(StudyInput::from_images(&volume.key, StudyKind::Numbered, images, notes));
        }
        singles.sort_unstable();
        for i in singles {
            if let Some(d) = slots[i].take() {
                let label = d.name.clone();
                studies.push(StudyInput::from_images(&label, StudyKind::Single, vec![(d.name, d.image)], d.notes));
            }
        }
        Intake { studies, problems }
    }
}

#[cfg(test)]
#[path = "intake_tests.rs"]
mod tests;
