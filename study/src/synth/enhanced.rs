//! Enhanced MR as newer scanner platforms write it: one multi-frame file per series, geometry
//! only in the functional groups (pixel measures and orientation shared, each frame's position
//! its own), rescale in a functional group, several stacks in one object, and frames in an order
//! that is not spatial.

use crate::dicom::writer::{DataSet, file};
use crate::synth::{PhantomVolume, SeriesSpec};

pub const ENHANCED_MR_IMAGE: &str = "1.2.840.10008.5.1.4.1.1.4.1";
/// Stored samples are the intensities plus this; the object's rescale intercept takes it off.
const OFFSET: f32 = 50.0;

fn one(build: impl FnOnce(&mut DataSet)) -> Vec<DataSet> {
    let mut d = DataSet::new();
    build(&mut d);
    vec![d]
}

/// The attributes of an Enhanced MR file of `n` frames of `w`x`h` but its functional groups
/// and pixels.
fn header(spec: &SeriesSpec, instance: &str, w: usize, h: usize, n: usize) -> DataSet {
    let mut data = DataSet::new();
    data.text(0x0008_0008, b"CS", "ORIGINAL\\PRIMARY")
        .text(0x0008_0016, b"UI", ENHANCED_MR_IMAGE)
        .text(0x0008_0018, b"UI", instance)
        .text(0x0008_0060, b"CS", "MR")
        .text(0x0008_103E, b"LO", &spec.description)
        .text(0x0010_0010, b"PN", "Phantom^Synthetic")
        .text(0x0010_0020, b"LO", "PHANTOM-1")
        .text(0x0020_000D, b"UI", &spec.study_uid)
        .text(0x0020_000E, b"UI", &spec.series_uid)
        .text(0x0020_0011, b"IS", &spec.series_number.to_string())
        .text(0x0020_0013, b"IS", "1")
        .text(0x0020_0052, b"UI", &format!("{}.0", spec.study_uid))
        .us(0x0028_0002, &[1])
        .text(0x0028_0004, b"CS", "MONOCHROME2")
        .text(0x0028_0008, b"IS", &n.to_string())
        .us(0x0028_0010, &[h as u16])
        .us(0x0028_0011, &[w as u16])
        .us(0x0028_0100, &[16])
        .us(0x0028_0101, &[12])
        .us(0x0028_0102, &[11])
        .us(0x0028_0103, &[0]);
    data
}

/// An Enhanced MR file of `frames` 4x4 frames whose shared and per-frame functional groups are
/// the raw sequence values given (the fuzz target for functional groups reads any bytes so).
pub fn with_raw_groups(frames: usize, shared: &[u8], per_frame: &[u8]) -> Vec<u8> {
    let spec = SeriesSpec::axial("FUZZ");
    let instance = format!("{}.1", spec.series_uid);
    let mut data = header(&spec, &instance, 4, 4, frames);
    data.bytes(0x5200_9229, b"SQ", shared.to_vec()).bytes(0x5200_9230, b"SQ", per_frame.to_vec());
    data.bytes(0x7FE0_0010, b"OW", vec![7; frames * 32]);
    file(ENHANCED_MR_IMAGE, &instance, &data)
}

/// The functional group values of [`enhanced_mr`] for `stacks`, as [`with_raw_groups`] takes
/// them (seeds for the fuzz target): shared, then per frame.
pub fn raw_groups(stacks: &[&PhantomVolume], spec: &SeriesSpec) -> (Vec<u8>, Vec<u8>) {
    let (shared, per_frame, _) = groups(stacks, spec);
    let mut a = DataSet::new();
    a.sequence(0x5200_9229, shared);
    let mut b = DataSet::new();
    b.sequence(0x5200_9230, per_frame);
    // An element's value starts after its 12-byte header (tag, VR, reserved, length).
    (a.encode()[12..].to_vec(), b.encode()[12..].to_vec())
}

/// Shared and per-frame functional groups, and the frames' order in the file (stack, slice).
fn groups(stacks: &[&PhantomVolume], spec: &SeriesSpec) -> (Vec<DataSet>, Vec<DataSet>, Vec<(usize, usize)>) {
    let d = stacks[0].dims[2];
    let spacing = stacks[0].spacing;
    let o = spec.orientation;
    let normal = crate::volume::cross([o[0], o[1], o[2]], [o[3], o[4], o[5]]);
    let mut frames: Vec<(usize, usize)> = (0..stacks.len()).flat_map(|s| (0..d).map(move |k| (s, k))).collect();
    // A fixed shuffle: file order must not be what orders the slices.
    let n = frames.len();
    for i in 0..n {
        frames.swap(i, (i * 7 + 5) % n);
    }
    let shared = one(|g| {
        g.sequence(0x0020_9116, one(|p| {
            p.decimals(0x0020_0037, &o);
        }))
        .sequence(0x0028_9110, one(|m| {
            m.decimals(0x0018_0050, &[spacing[2]]).decimals(0x0028_0030, &[spacing[1], spacing[0]]);
        }))
        .sequence(0x0028_9145, one(|r| {
            r.decimals(0x0028_1052, &[-f64::from(OFFSET)]).decimals(0x0028_1053, &[1.0]).text(0x0028_1054, b"LO", "US");
        }));
    });
    let per_frame = frames
        .iter()
        .map(|&(s, k)| {
            let position: [f64; 3] = std::array::from_fn(|i| spec.origin[i] + k as f64 * spacing[2] * normal[i]);
            let mut g = DataSet::new();
            g.sequence(0x0020_9111, one(|c| {
                c.text(0x0020_9056, b"SH", &(s + 1).to_string())
                    .ul(0x0020_9057, &[k as u32 + 1])
                    .ul(0x0020_9157, &[s as u32 + 1, k as u32 + 1]);
            }))
            .sequence(0x0020_9113, one(|p| {
                p.decimals(0x0020_0032, &position);
            }));
            g
        })
        .collect();
    (shared, per_frame, frames)
}

/// One Enhanced MR file holding `stacks` (each a phantom on the same grid, Stack ID 1, 2, ...)
/// placed as [`crate::synth::dicom_series`] places a series; frames written in a shuffled order.
pub fn enhanced_mr(stacks: &[&PhantomVolume], spec: &SeriesSpec) -> Vec<u8> {
    let [w, h, _] = stacks[0].dims;
    let (shared, per_frame, frames) = groups(stacks, spec);
    let instance = format!("{}.1", spec.series_uid);
    let mut data = header(spec, &instance, w, h, frames.len());
    data.sequence(0x5200_9229, shared).sequence(0x5200_9230, per_frame);
    let samples: Vec<u8> = frames
        .iter()
        .flat_map(|&(s, k)| {
            stacks[s].flair[k * w * h..(k + 1) * w * h].iter().map(|v| (v.round().clamp(0.0, 4000.0) + OFFSET) as u16)
        })
        .flat_map(u16::to_le_bytes)
        .collect();
    data.bytes(0x7FE0_0010, b"OW", samples);
    file(ENHANCED_MR_IMAGE, &instance, &data)
}
