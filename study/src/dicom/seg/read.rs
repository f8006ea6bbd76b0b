//! Reads a binary SEG back: its frames, where each sits and which source slice it derives from.
//! The writer's check (tests, and comparing the page's SEG with the CLI's), and enough to put a
//! SEG's mask back onto its source series.

use crate::dicom::reader::{Element, Encoding, PIXEL_DATA, Reader, Value};
use crate::dicom::source::DicomSource;
use crate::error::{Error, Result};

use super::SEGMENTATION_STORAGE;

/// One frame of a SEG.
#[derive(Debug, Clone, PartialEq)]
pub struct SegFrame {
    pub segment: u16,
    pub position: Option<[f64; 3]>,
    pub source_instance: String,
    pub source_frame: Option<usize>,
    /// `rows * columns` values, 0 or 1.
    pub mask: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Segmentation {
    pub sop_instance_uid: String,
    pub series_uid: String,
    pub study_uid: String,
    pub frame_of_reference_uid: String,
    pub patient_id: String,
    pub patient_name: String,
    /// The series the frames were derived from (Common Instance Reference).
    pub referenced_series: Vec<String>,
    pub segment_labels: Vec<String>,
    pub rows: usize,
    pub columns: usize,
    pub frames: Vec<SegFrame>,
}

fn find<'e, 'a>(elements: &'e [Element<'a>], tag: u32) -> Option<&'e Value<'a>> {
    elements.iter().find(|e| e.tag == tag).map(|e| &e.value)
}

fn text(elements: &[Element], tag: u32) -> String {
    crate::dicom::text(find(elements, tag).and_then(Value::bytes).unwrap_or_default())
}

fn us(elements: &[Element], tag: u32) -> Option<u16> {
    let b = find(elements, tag)?.bytes()?.get(..2)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

/// The first item of the sequence `tag`, or no elements.
fn first<'e, 'a>(elements: &'e [Element<'a>], tag: u32) -> &'e [Element<'a>] {
    find(elements, tag).and_then(|v| v.items().first()).map_or(&[], Vec::as_slice)
}

fn numbers<const N: usize>(elements: &[Element], tag: u32) -> Option<[f64; N]> {
    let values: Option<Vec<f64>> = text(elements, tag).split('\\').map(|s| s.trim().parse().ok()).collect();
    values?.get(..N)?.try_into().ok()
}

/// Parses a binary SEG written in explicit VR little endian (ours, highdicom's, dcmqi's).
pub fn read(bytes: &[u8]) -> Result<Segmentation> {
    if bytes.get(128..132) != Some(b"DICM") {
        return Err(Error::NotDicom);
    }
    let mut reader = Reader::new(bytes, 132, Encoding::ExplicitLe);
    let mut elements = Vec::new();
    while let Some(e) = reader.next_element()? {
        let end = e.tag == PIXEL_DATA;
        elements.push(e);
        if end {
            break;
        }
    }
    if text(&elements, 0x0002_0010) != "1.2.840.10008.1.2.1" {
        return Err(Error::Malformed("a SEG in another transfer syntax than explicit VR little endian".into()));
    }
    if text(&elements, 0x0008_0016) != SEGMENTATION_STORAGE {
        return Err(Error::Malformed("not a Segmentation Storage object".into()));
    }
    if text(&elements, 0x0062_0001) != "BINARY" || us(&elements, 0x0028_0100) != Some(1) {
        return Err(Error::UnsupportedPixels("only binary segmentations (1 bit per pixel) are read".into()));
    }
    let rows = usize::from(us(&elements, 0x0028_0010).unwrap_or(0));
    let columns = usize::from(us(&elements, 0x0028_0011).unwrap_or(0));
    let count: usize = text(&elements, 0x0028_0008).parse().map_err(|_| Error::Malformed("no number of frames".into()))?;
    let pixels = find(&elements, PIXEL_DATA).and_then(Value::bytes).ok_or(Error::Malformed("no pixel data".into()))?;
    let per_frame = find(&elements, 0x5200_9230).map_or(&[][..], Value::items);
    if per_frame.len() != count {
        return Err(Error::Malformed(format!("{count} frames but {} per-frame groups", per_frame.len())));
    }
    let plane = rows * columns;
    let bits = plane.checked_mul(count).filter(|&b| b <= pixels.len().saturating_mul(8));
    if bits.is_none() {
        return Err(Error::Truncated { what: "the SEG's frames", offset: pixels.len() });
    }
    let bit = |i: usize| pixels[i / 8] >> (i % 8) & 1;
    let frames = per_frame
        .iter()
        .enumerate()
        .map(|(n, groups)| {
            let source = first(first(groups, 0x0008_9124), 0x0008_2112);
            SegFrame {
                segment: us(first(groups, 0x0062_000A), 0x0062_000B).unwrap_or(0),
                position: numbers(first(groups, 0x0020_9113), 0x0020_0032),
                source_instance: text(source, 0x0008_1155),
                source_frame: text(source, 0x0008_1160).parse().ok(),
                mask: (n * plane..(n + 1) * plane).map(bit).collect(),
            }
        })
        .collect();
    let series = find(&elements, 0x0008_1115).map_or(&[][..], Value::items);
    Ok(Segmentation {
        sop_instance_uid: text(&elements, 0x0008_0018),
        series_uid: text(&elements, 0x0020_000E),
        study_uid: text(&elements, 0x0020_000D),
        frame_of_reference_uid: text(&elements, 0x0020_0052),
        patient_id: text(&elements, 0x0010_0020),
        patient_name: text(&elements, 0x0010_0010),
        referenced_series: series.iter().map(|s| text(s, 0x0020_000E)).collect(),
        segment_labels: find(&elements, 0x0062_0002).map_or(&[][..], Value::items).iter().map(|s| text(s, 0x0062_0005)).collect(),
        rows,
        columns,
        frames,
    })
}

impl Segmentation {
    /// The mask on `source`'s slices (the volume's voxel order): each frame put back on the
    /// slice it derives from. Frames whose source is not in the series are an error.
    pub fn volume_mask(&self, source: &DicomSource) -> Result<Vec<u8>> {
        let plane = self.rows * self.columns;
        let mut mask = vec![0u8; plane * source.slices.len()];
        for f in &self.frames {
            let k = source
                .slices
                .iter()
                .position(|s| s.sop_instance_uid == f.source_instance && s.frame == f.source_frame)
                .ok_or_else(|| Error::Malformed(format!("a frame derives from {}, not in the series", f.source_instance)))?;
            for (m, &v) in mask[k * plane..(k + 1) * plane].iter_mut().zip(&f.mask) {
                *m |= v;
            }
        }
        Ok(mask)
    }
}
