//! Probabilities to a study's result: every slice's mask under the post-processing (the 3D step
//! across the slices of a volume), and the figures a reader reports.

use brainseg_core::Segmenter;
use brainseg_core::postprocess::{PostProcess, VolumeRule, volume_masks};
use brainseg_study::measure::{Summary, summarize};
use image::GrayImage;
use serde::{Deserialize, Serialize};

use crate::intake::{StudyHeader, StudyInput, StudyKind};
use crate::{Error, Result};

/// A segmented study.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyResult {
    /// Every slice's mask at its own size (255 = tumor), in slice order.
    pub masks: Vec<GrayImage>,
    /// mL (or % of voxels), slices with tumor, largest diameter; `None` where the slices differ
    /// in size (numbered images of mixed sizes: one volume, but no common grid to measure).
    pub summary: Option<Summary>,
}

/// What [`assemble`] is asked for, as the page's workers receive it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub post: PostProcess,
    /// The model's input size: the probabilities' grid.
    pub size: u32,
}

/// The post-processing a study gets: a lone image has no neighbours for a 3D step.
pub fn study_post(header: &StudyHeader, post: &PostProcess) -> PostProcess {
    match header.kind {
        StudyKind::Single => PostProcess { volume: VolumeRule::Off, ..*post },
        StudyKind::Scan | StudyKind::Numbered => *post,
    }
}

/// The study's masks and figures from every slice's probabilities at the model's `size` (in
/// slice order): the one way from the network's output to what `segment` writes and the page
/// shows.
pub fn assemble<P: AsRef<[f32]>>(header: &StudyHeader, probabilities: &[P], size: u32, post: &PostProcess) -> Result<StudyResult> {
    let n = (size * size) as usize;
    if probabilities.len() != header.slices() || probabilities.iter().any(|p| p.as_ref().len() != n) {
        return Err(Error::Mismatch { probabilities: probabilities.len(), slices: header.slices() });
    }
    let masks = volume_masks(probabilities, size, &header.dims, &study_post(header, post));
    let summary = measure(header, &masks);
    Ok(StudyResult { masks, summary })
}

/// The figures of a study's masks (the model's, or as a reader corrected them); `None` where the
/// slices differ in size.
pub fn measure(header: &StudyHeader, masks: &[GrayImage]) -> Option<Summary> {
    let refs: Vec<&[u8]> = masks.iter().map(|m| m.as_raw().as_slice()).collect();
    (header.uniform() && masks.len() == header.slices()).then(|| summarize(&header.geometry, &refs))
}

/// The model on every slice of `study` (`batch` slices per run, with their neighbours where the
/// model reads them; `progress` hears how many are done), then [`assemble`] under the model's
/// own post-processing. Returns the probabilities too, for other thresholds.
pub fn segment_study(
    seg: &Segmenter,
    study: &StudyInput,
    batch: usize,
    post: &PostProcess,
    progress: impl FnMut(usize),
) -> Result<(Vec<Vec<f32>>, StudyResult)> {
    let refs: Vec<_> = study.slices.iter().collect();
    let probabilities = seg.volume_probabilities(&refs, batch, progress)?;
    let result = assemble(&study.header, &probabilities, seg.meta().config.input_size as u32, post)?;
    Ok((probabilities, result))
}
