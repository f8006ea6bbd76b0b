//! Enhanced (multi-frame) objects keep each frame's geometry in functional groups, not at the
//! top level: pixel measures, orientation, position and rescale per frame (PerFrameFunctional
//! GroupsSequence) or for all frames (SharedFunctionalGroupsSequence), and which stack a frame
//! belongs to. Frame order in the file is not spatial order: [`split`] turns such an object into
//! one image per frame, which the series stacker then orders by position like any series.

use std::collections::HashMap;

use crate::dicom::reader::{Element, Value};
use crate::dicom::{DicomImage, Fields};
use crate::error::{Error, Result};

const SHARED: u32 = 0x5200_9229;
const PER_FRAME: u32 = 0x5200_9230;
const PIXEL_MEASURES: u32 = 0x0028_9110;
const PLANE_ORIENTATION: u32 = 0x0020_9116;
const PLANE_POSITION: u32 = 0x0020_9113;
const VALUE_TRANSFORMATION: u32 = 0x0028_9145;
const FRAME_CONTENT: u32 = 0x0020_9111;

/// One frame's geometry and rescale, per-frame values over shared ones.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FrameGeometry {
    pub position: Option<[f64; 3]>,
    pub orientation: Option<[f64; 6]>,
    pub pixel_spacing: Option<[f64; 2]>,
    pub slice_thickness: Option<f64>,
    pub spacing_between_slices: Option<f64>,
    /// Slope and intercept.
    pub rescale: Option<(f64, f64)>,
    /// Stack ID: several stacks in one object are several series to the user.
    pub stack: Option<String>,
}

fn fields_of<'a>(item: &[Element<'a>]) -> HashMap<u32, Value<'a>> {
    item.iter().map(|e| (e.tag, e.value.clone())).collect()
}

/// The first item of the functional group `tag` in `groups`, as fields.
fn group<'a>(groups: &HashMap<u32, Value<'a>>, tag: u32) -> Option<HashMap<u32, Value<'a>>> {
    groups.get(&tag)?.items().first().map(|item| fields_of(item))
}

/// Each frame's geometry where the object has functional groups; empty for classic objects.
pub fn frames(map: &HashMap<u32, Value>, frames: usize, big_endian: bool) -> Result<Vec<FrameGeometry>> {
    let per_frame = map.get(&PER_FRAME).map_or(&[][..], Value::items);
    let shared = map.get(&SHARED).and_then(|v| v.items().first()).map(|item| fields_of(item)).unwrap_or_default();
    if per_frame.is_empty() && shared.is_empty() {
        return Ok(Vec::new());
    }
    if !per_frame.is_empty() && per_frame.len() != frames {
        return Err(Error::Malformed(format!("{frames} frames but {} per-frame functional groups", per_frame.len())));
    }
    let out = (0..frames)
        .map(|k| {
            let own = per_frame.get(k).map(|item| fields_of(item)).unwrap_or_default();
            // A frame's own group wins over the shared one.
            let find = |tag| group(&own, tag).or_else(|| group(&shared, tag)).unwrap_or_default();
            let (measures, orientation, position, values, content) =
                (find(PIXEL_MEASURES), find(PLANE_ORIENTATION), find(PLANE_POSITION), find(VALUE_TRANSFORMATION), find(FRAME_CONTENT));
            let fields = |map| Fields { map, big_endian };
            let (measures, values, content) = (fields(&measures), fields(&values), fields(&content));
            let first = |tag| values.numbers(tag).and_then(|v| v.first().copied());
            let rescale = values.map.contains_key(&0x0028_1053) || values.map.contains_key(&0x0028_1052);
            FrameGeometry {
                position: fields(&position).array(0x0020_0032),
                orientation: fields(&orientation).array(0x0020_0037),
                pixel_spacing: measures.array(0x0028_0030).filter(|s: &[f64; 2]| s.iter().all(|v| *v > 0.0)),
                slice_thickness: measures.positive(0x0018_0050),
                spacing_between_slices: measures.positive(0x0018_0088),
                rescale: rescale.then(|| (first(0x0028_1053).filter(|s| *s != 0.0).unwrap_or(1.0), first(0x0028_1052).unwrap_or(0.0))),
                stack: Some(content.text(0x0020_9056)).filter(|s| !s.is_empty()),
            }
        })
        .collect();
    Ok(out)
}

/// An object with functional groups as one image per frame, each with its frame's geometry (the
/// top level's where the groups say nothing) and frame number; other images unchanged.
pub fn split(mut image: DicomImage) -> Vec<DicomImage> {
    if image.frame_geometry.is_empty() {
        return vec![image];
    }
    let plane = image.rows * image.columns;
    let (pixels, geometry) = (std::mem::take(&mut image.pixels), std::mem::take(&mut image.frame_geometry));
    let rest = image;
    geometry
        .iter()
        .zip(pixels.chunks(plane))
        .enumerate()
        .map(|(k, (g, pixels))| DicomImage {
            position: g.position.or(rest.position),
            orientation: g.orientation.or(rest.orientation),
            pixel_spacing: g.pixel_spacing.or(rest.pixel_spacing),
            slice_thickness: g.slice_thickness.or(rest.slice_thickness),
            spacing_between_slices: g.spacing_between_slices.or(rest.spacing_between_slices),
            stack: g.stack.clone(),
            frame_number: Some(k + 1),
            frames: 1,
            pixels: pixels.to_vec(),
            ..rest.clone()
        })
        .collect()
}
