//! DICOM files of one series stacked into a volume: ordered by position along the slice normal
//! (never by file name), with the slices that do not fit reported rather than silently mixed in.

use std::collections::BTreeMap;

use crate::dicom::DicomImage;
use crate::dicom::source::{DicomSource, SourceSlice};
use crate::volume::{Affine, Origin, Volume, cross, dot};

/// A file left out of its series, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub file: String,
    pub reason: String,
}

/// Groups images by series (Series Instance UID; images without one by size) and stacks each.
/// Frames of a multi-frame object in several stacks (Stack ID) are a series per stack.
pub fn volumes(images: Vec<(String, DicomImage)>) -> (Vec<(String, Volume)>, Vec<Skipped>) {
    type Key = (String, String, Option<String>);
    let mut groups: BTreeMap<Key, Vec<(String, DicomImage)>> = BTreeMap::new();
    for (name, image) in images {
        let key = if image.series_uid.is_empty() {
            format!("unnamed {}x{}", image.columns, image.rows)
        } else {
            image.series_uid.clone()
        };
        groups.entry((image.study_uid.clone(), key, image.stack.clone())).or_default().push((name, image));
    }
    let stacks = |study: &str, series: &str| groups.keys().filter(|k| k.0 == study && k.1 == series).count();
    let several: Vec<bool> = groups.keys().map(|(study, series, _)| stacks(study, series) > 1).collect();
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (((study, _, _), group), several) in groups.into_iter().zip(several) {
        let (volume, left_out) = stack(group, several);
        skipped.extend(left_out);
        if let Some(v) = volume {
            out.push((study, v));
        }
    }
    (out, skipped)
}

fn label(image: &DicomImage, with_stack: bool) -> String {
    let description = if image.series_description.is_empty() { "unnamed series" } else { &image.series_description };
    let stack = image.stack.as_deref().filter(|_| with_stack).map(|s| format!("stack {s}"));
    let series = image.series_number.map(|n| format!("series {n}"));
    match (series, stack) {
        (Some(n), Some(s)) => format!("{description} ({n}, {s})"),
        (Some(x), None) | (None, Some(x)) => format!("{description} ({x})"),
        (None, None) => description.to_string(),
    }
}

fn normal(image: &DicomImage) -> Option<[f64; 3]> {
    let o = image.orientation?;
    let n = cross([o[0], o[1], o[2]], [o[3], o[4], o[5]]);
    let len = dot(n, n).sqrt();
    (len > 0.5).then(|| n.map(|x| x / len))
}

/// Stacks one series; slices of another size or orientation than most, and repeated
/// positions, are skipped with a reason.
fn stack(mut group: Vec<(String, DicomImage)>, several_stacks: bool) -> (Option<Volume>, Vec<Skipped>) {
    let mut skipped = Vec::new();
    // The most common size and orientation define the series.
    let mut counts: BTreeMap<(usize, usize, String), usize> = BTreeMap::new();
    for (_, im) in &group {
        *counts.entry((im.columns, im.rows, format!("{:.3?}", im.orientation))).or_default() += 1;
    }
    let Some(((columns, rows, orientation), _)) = counts.into_iter().max_by_key(|(_, n)| *n) else {
        return (None, skipped);
    };
    group.retain(|(name, im)| {
        let fits = im.columns == columns && im.rows == rows && format!("{:.3?}", im.orientation) == orientation;
        if !fits {
            let reason = format!("{}x{} pixels or orientation differ from the rest of its series", im.columns, im.rows);
            skipped.push(Skipped { file: name.clone(), reason });
        }
        fits
    });
    let first = group[0].1.clone();
    let files = {
        let mut instances: Vec<&str> = group.iter().map(|(_, im)| im.sop_instance_uid.as_str()).collect();
        instances.sort_unstable();
        instances.dedup();
        instances.len()
    };
    let mut notes: Vec<String> = crate::dicom::modality::missing(&first).into_iter().collect();

    // Order: by position along the normal, else instance number, else file name.
    let normal = normal(&first);
    let positioned = normal.is_some() && group.iter().all(|(_, im)| im.position.is_some());
    let mut keyed: Vec<(f64, String, DicomImage)> = group
        .into_iter()
        .map(|(name, im)| {
            let key = match (positioned, normal, im.position, im.instance_number) {
                (true, Some(n), Some(p), _) => dot(p, n),
                (_, _, _, Some(i)) => i as f64,
                _ => 0.0,
            };
            (key, name, im)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    if !positioned {
        let how = if keyed.iter().all(|k| k.2.instance_number.is_some()) { "instance number" } else { "file name" };
        notes.push(format!("no slice positions: slices ordered by {how}"));
    }
    if positioned {
        keyed.dedup_by(|later, kept| {
            let same = (later.0 - kept.0).abs() < 1e-3;
            if same {
                let reason = format!("same slice position as {} (another echo or a repeated slice?)", kept.1);
                skipped.push(Skipped { file: later.1.clone(), reason });
            }
            same
        });
    }

    let mut voxels = Vec::new();
    let mut positions = Vec::new();
    let mut slices = Vec::new();
    for (key, _, im) in &keyed {
        voxels.extend_from_slice(&im.pixels);
        let step = im.spacing_between_slices.or(im.slice_thickness).unwrap_or(1.0);
        for f in 0..im.frames {
            positions.push(key + f as f64 * step);
            let offset = f as f64 * step;
            slices.push(SourceSlice {
                sop_class_uid: im.sop_class_uid.clone(),
                sop_instance_uid: im.sop_instance_uid.clone(),
                frame: im.frame_number.or((im.frames > 1).then_some(f + 1)),
                position: match (im.position, normal) {
                    (Some(p), _) if f == 0 => Some(p),
                    (Some(p), Some(n)) => Some([0, 1, 2].map(|i| p[i] + offset * n[i])),
                    _ => None,
                },
            });
        }
    }
    let depth = positions.len();
    let frames_only = keyed.len() == 1 && first.frames > 1;
    if frames_only {
        notes.push("multi-frame file: frames taken as contiguous slices".to_string());
    }
    let declared = first.spacing_between_slices.or(first.slice_thickness);
    let slice_positions = if positioned && !frames_only {
        check_spacing(&positions, &mut notes);
        Some(positions)
    } else if let Some(step) = declared {
        Some((0..depth).map(|k| k as f64 * step).collect())
    } else {
        notes.push("no slice spacing or thickness: tumor volume cannot be given in millilitres".to_string());
        None
    };
    if first.pixel_spacing.is_none() {
        notes.push("no pixel spacing: tumor size in pixels and percent only".to_string());
    }
    let affine = affine(&keyed[0].2, normal, slice_positions.as_deref());
    let volume = Volume {
        label: label(&first, several_stacks),
        dims: [first.columns, first.rows, depth],
        voxels,
        // Pixel Spacing lists the row spacing (along a column) first.
        pixel_spacing: first.pixel_spacing.map(|[row, column]| [column, row]),
        slice_positions,
        affine,
        notes,
        origin: Origin::Dicom(Box::new(DicomSource {
            study_uid: first.study_uid.clone(),
            series_uid: first.series_uid.clone(),
            series_number: first.series_number,
            frame_of_reference_uid: first.frame_of_reference_uid.clone(),
            identity: first.identity.clone(),
            orientation: first.orientation,
            pixel_spacing: first.pixel_spacing,
            slice_thickness: first.slice_thickness,
            files,
            slices,
        })),
    };
    (Some(volume), skipped)
}

/// Warns when gaps between slices differ by more than 10% (missing slices, mixed stacks).
fn check_spacing(positions: &[f64], notes: &mut Vec<String>) {
    let gaps: Vec<f64> = positions.windows(2).map(|w| w[1] - w[0]).collect();
    let (lo, hi) = gaps.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &g| (lo.min(g), hi.max(g)));
    if !gaps.is_empty() && hi - lo > 0.1 * hi.abs().max(1e-6) {
        notes.push(format!(
            "inconsistent slice spacing ({lo:.2} to {hi:.2} mm; missing slices?): each slice's volume uses its own gaps"
        ));
    }
}

/// Display voxel to RAS: DICOM positions are LPS, so x and y change sign. `lowest` is the first
/// slice of the stack.
fn affine(lowest: &DicomImage, normal: Option<[f64; 3]>, positions: Option<&[f64]>) -> Option<Affine> {
    let o = lowest.orientation?;
    let origin = lowest.position?;
    let [row_spacing, column_spacing] = lowest.pixel_spacing?;
    let n = normal?;
    let positions = positions?;
    let step = if positions.len() > 1 {
        (positions[positions.len() - 1] - positions[0]) / (positions.len() - 1) as f64
    } else {
        lowest.slice_thickness.unwrap_or(1.0)
    };
    let lps: [[f64; 4]; 3] = std::array::from_fn(|i| {
        [o[i] * column_spacing, o[3 + i] * row_spacing, n[i] * step, origin[i]]
    });
    Some([lps[0].map(|v| -v), lps[1].map(|v| -v), lps[2]])
}
