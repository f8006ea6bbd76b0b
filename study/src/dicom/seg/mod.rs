//! Masks back into the archive: a binary DICOM Segmentation (SEG, PS3.3 A.51) of one segment,
//! "Tumor", on the grid of the series it was made from, so PACS viewers, OHIF, 3D Slicer and
//! highdicom file it under the same patient and study and overlay it on that series.
//!
//! Frames: one per source slice that holds tumor, not one per slice. Viewers place each frame by
//! its position and its source instance, an empty frame says nothing a missing one does not, and
//! a study with tumor on a few of 150 slices stays a few kilobytes (highdicom omits empty frames
//! by default for the same reason). A study without tumor gets no SEG: the object needs at least
//! one frame, and an empty segmentation is better said in words.

mod read;

pub use read::{SegFrame, Segmentation, read};

use crate::dicom::source::{DicomSource, IDENTITY};
use crate::dicom::writer::{DataSet, file};
use crate::error::{Error, Result};
use crate::volume::{Origin, Volume};

pub const SEGMENTATION_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.66.4";
/// The file name the CLI writes beside `mask.nii.gz` (and the page's download ends in).
pub const FILE_NAME: &str = "seg.dcm";

/// What the SEG says about how it was made, and what makes this run's UIDs new.
#[derive(Debug, Clone, PartialEq)]
pub struct SegInfo<'a> {
    /// The model file's weights hash: the algorithm's version.
    pub model_sha256: &'a str,
    /// brainseg's version.
    pub software_version: &'a str,
    /// Random bits of this run: every SEG gets new series and instance UIDs.
    pub uid_seed: u128,
    /// When the segmentation was made, seconds since 1970-01-01 UTC.
    pub unix_seconds: i64,
    /// A reader corrected the model's mask: Segment Algorithm Type SEMIAUTOMATIC (the model
    /// still named) instead of AUTOMATIC.
    pub edited: bool,
}

/// A UID under 2.25 (PS3.5 B.2: an integer from a UUID's 128 bits), one per `salt` and seed.
fn uid(seed: u128, salt: u64) -> String {
    let mix = |mut x: u64| {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^ (x >> 31)
    };
    let (hi, lo) = ((seed >> 64) as u64, seed as u64);
    let value = u128::from(mix(hi ^ mix(salt))) << 64 | u128::from(mix(lo ^ mix(salt.wrapping_add(1)) ^ hi));
    format!("2.25.{}", value.max(1))
}

/// DICOM date and time (UTC) of a Unix time: `YYYYMMDD`, `HHMMSS`.
fn date_time(unix_seconds: i64) -> (String, String) {
    let (days, secs) = (unix_seconds.div_euclid(86_400), unix_seconds.rem_euclid(86_400));
    // Civil date from days since 1970 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (format!("{year:04}{month:02}{day:02}"), format!("{:02}{:02}{:02}", secs / 3600, secs / 60 % 60, secs % 60))
}

fn code(value: &str, scheme: &str, meaning: &str) -> DataSet {
    let mut c = DataSet::new();
    c.text(0x0008_0100, b"SH", value).text(0x0008_0102, b"SH", scheme).text(0x0008_0104, b"LO", meaning);
    c
}

fn item(build: impl FnOnce(&mut DataSet)) -> Vec<DataSet> {
    let mut d = DataSet::new();
    build(&mut d);
    vec![d]
}

/// Packs 0/1 pixels eight to a byte, first pixel in the lowest bit, frames back to back without
/// padding between them (PS3.5 8.1.1), the whole padded to an even length.
pub fn pack_bits(pixels: impl Iterator<Item = bool>) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, on) in pixels.enumerate() {
        if i % 8 == 0 {
            out.push(0);
        }
        if on {
            *out.last_mut().expect("pushed above") |= 1 << (i % 8);
        }
    }
    if out.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// Why a volume's geometry cannot be referenced by a SEG, if it cannot.
fn check(volume: &Volume) -> Result<&DicomSource> {
    let refuse = |why: &str| Err(Error::NoSeg(why.to_string()));
    let Origin::Dicom(source) = &volume.origin else {
        return refuse("the input is not a DICOM series (a SEG references DICOM images; use mask.nii.gz)");
    };
    if source.slices.len() != volume.dims[2] {
        return refuse("the series' slices and the volume's differ in number");
    }
    if source.study_uid.is_empty() || source.series_uid.is_empty() {
        return refuse("the series has no study or series instance UID");
    }
    if source.slices.iter().any(|s| s.sop_instance_uid.is_empty() || s.sop_class_uid.is_empty()) {
        return refuse("a slice has no SOP instance or class UID to reference");
    }
    if source.frame_of_reference_uid.is_empty() {
        return refuse("the series has no frame of reference UID");
    }
    let uids = [&source.study_uid, &source.series_uid, &source.frame_of_reference_uid];
    let slice_uids = source.slices.iter().flat_map(|s| [&s.sop_class_uid, &s.sop_instance_uid]);
    if uids.into_iter().chain(slice_uids).any(|u| u.len() > 64) {
        return refuse("the series has UIDs longer than the standard's 64 characters (a damaged file?)");
    }
    if source.orientation.is_none() || source.pixel_spacing.is_none() || source.slices.iter().any(|s| s.position.is_none()) {
        return refuse("the series lacks image position, orientation or pixel spacing");
    }
    Ok(source)
}

/// The SEG of `mask` (0 = background; the volume's voxel order) over `volume`, a DICOM series.
/// `Ok(None)` when no slice holds tumor; an error when the volume is not a DICOM series whose
/// slices can be referenced.
pub fn write(volume: &Volume, mask: &[u8], info: &SegInfo) -> Result<Option<Vec<u8>>> {
    let source = check(volume)?;
    let [columns, rows, depth] = volume.dims;
    let plane = columns * rows;
    if mask.len() != plane * depth {
        return Err(Error::NoSeg(format!("{} mask voxels for a {columns}x{rows}x{depth} series", mask.len())));
    }
    if rows > usize::from(u16::MAX) || columns > usize::from(u16::MAX) {
        return Err(Error::NoSeg(format!("{columns}x{rows} slices are too large for a DICOM image")));
    }
    let frames: Vec<usize> = (0..depth).filter(|&k| mask[k * plane..(k + 1) * plane].iter().any(|&m| m != 0)).collect();
    if frames.is_empty() {
        return Ok(None);
    }
    let series_uid = uid(info.uid_seed, 1);
    let instance_uid = uid(info.uid_seed, 2);
    let dimensions_uid = uid(info.uid_seed, 3);
    let (date, time) = date_time(info.unix_seconds);
    // LO holds 64 characters: a SHA-256 in hex, exactly.
    let version: String = info.model_sha256.chars().take(64).collect();

    let mut d = DataSet::new();
    for &(tag, vr, type_2) in &IDENTITY {
        // No real name or ID is this long; a damaged one is left out rather than copied.
        match source.identity.iter().find(|(t, v)| *t == tag && v.len() <= 1024) {
            Some((_, value)) => d.bytes(tag, &vr, value.clone()),
            None if type_2 => d.bytes(tag, &vr, Vec::new()),
            None => &mut d,
        };
    }
    d.text(0x0008_0008, b"CS", "DERIVED\\PRIMARY")
        .text(0x0008_0012, b"DA", &date)
        .text(0x0008_0013, b"TM", &time)
        .text(0x0008_0016, b"UI", SEGMENTATION_STORAGE)
        .text(0x0008_0018, b"UI", &instance_uid)
        .text(0x0008_0023, b"DA", &date)
        .text(0x0008_0033, b"TM", &time)
        .text(0x0008_0060, b"CS", "SEG")
        .text(0x0008_0070, b"LO", "brainseg")
        .text(0x0008_0201, b"SH", "+0000")
        .text(0x0008_103E, b"LO", "brainseg tumor segmentation")
        .text(0x0008_1090, b"LO", "brainseg")
        .text(0x0018_1000, b"LO", &version)
        .text(0x0018_1020, b"LO", &format!("brainseg {}", info.software_version))
        .text(0x0020_000D, b"UI", &source.study_uid)
        .text(0x0020_000E, b"UI", &series_uid)
        // Next to its source in a viewer's series list, and never the same number.
        .text(0x0020_0011, b"IS", &(source.series_number.unwrap_or(0).clamp(0, 99_999) + 1000).to_string())
        .text(0x0020_0013, b"IS", "1")
        .text(0x0020_0052, b"UI", &source.frame_of_reference_uid)
        .text(0x0020_1040, b"LO", "");
    referenced_series(&mut d, source, &frames);
    dimensions(&mut d, &dimensions_uid);
    d.us(0x0028_0002, &[1])
        .text(0x0028_0004, b"CS", "MONOCHROME2")
        .text(0x0028_0008, b"IS", &frames.len().to_string())
        .us(0x0028_0010, &[rows as u16])
        .us(0x0028_0011, &[columns as u16])
        .us(0x0028_0100, &[1])
        .us(0x0028_0101, &[1])
        .us(0x0028_0102, &[0])
        .us(0x0028_0103, &[0])
        .text(0x0028_2110, b"CS", "00")
        .text(0x0062_0001, b"CS", "BINARY")
        .sequence(0x0062_0002, segment(&version, info.edited))
        .text(0x0062_0013, b"CS", "NO")
        .text(0x0070_0080, b"CS", "TUMOR")
        .text(0x0070_0081, b"LO", "Tumor (FLAIR abnormality) found by the brainseg U-Net")
        .text(0x0070_0084, b"PN", "");
    functional_groups(&mut d, source, &frames);
    let on = frames.iter().flat_map(|&k| mask[k * plane..(k + 1) * plane].iter().map(|&m| m != 0));
    d.bytes(0x7FE0_0010, b"OB", pack_bits(on));
    Ok(Some(file(SEGMENTATION_STORAGE, &instance_uid, &d)))
}

/// Common Instance Reference: every source instance a frame derives from.
fn referenced_series(d: &mut DataSet, source: &DicomSource, frames: &[usize]) {
    let mut instances: Vec<DataSet> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for &k in frames {
        let s = &source.slices[k];
        if seen.contains(&s.sop_instance_uid.as_str()) {
            continue;
        }
        seen.push(&s.sop_instance_uid);
        let mut r = DataSet::new();
        r.text(0x0008_1150, b"UI", &s.sop_class_uid).text(0x0008_1155, b"UI", &s.sop_instance_uid);
        instances.push(r);
    }
    d.sequence(
        0x0008_1115,
        item(|i| {
            i.sequence(0x0008_114A, instances).text(0x0020_000E, b"UI", &source.series_uid);
        }),
    );
}

/// Frames are indexed by segment, then by position (highdicom's and dcmqi's organisation).
fn dimensions(d: &mut DataSet, uid: &str) {
    let index = |pointer: u32, group: u32, label: &str| {
        let mut i = DataSet::new();
        i.text(0x0020_9164, b"UI", uid)
            .tags(0x0020_9165, &[pointer])
            .tags(0x0020_9167, &[group])
            .text(0x0020_9421, b"LO", label);
        i
    };
    d.sequence(0x0020_9221, item(|i| {
        i.text(0x0020_9164, b"UI", uid);
    }))
    .sequence(
        0x0020_9222,
        vec![
            index(0x0062_000B, 0x0062_000A, "ReferencedSegmentNumber"),
            index(0x0020_0032, 0x0020_9113, "ImagePositionPatient"),
        ],
    );
}

fn segment(version: &str, edited: bool) -> Vec<DataSet> {
    item(|s| {
        s.sequence(0x0008_2218, vec![code("12738006", "SCT", "Brain")])
            .sequence(0x0062_0003, vec![code("49755003", "SCT", "Morphologically Abnormal Structure")])
            .us(0x0062_0004, &[1])
            .text(0x0062_0005, b"LO", "Tumor")
            .text(0x0062_0006, b"ST", "FLAIR abnormality (lower-grade glioma)")
            .sequence(
                0x0062_0007,
                item(|a| {
                    a.sequence(0x0066_002F, vec![code("123110", "DCM", "Artificial Intelligence")])
                        .text(0x0066_0031, b"LO", version)
                        .text(0x0066_0036, b"LO", "brainseg");
                }),
            )
            .text(0x0062_0008, b"CS", if edited { "SEMIAUTOMATIC" } else { "AUTOMATIC" })
            .text(0x0062_0009, b"LO", "brainseg")
            // Red, as the page and the overlays draw it (CIELab scaled to 16 bits).
            .us(0x0062_000D, &[34_891, 53_480, 50_167])
            .sequence(0x0062_000F, vec![code("108369006", "SCT", "Neoplasm")]);
    })
}

/// Shared: orientation and pixel measures. Per frame: position, source slice, segment, index.
fn functional_groups(d: &mut DataSet, source: &DicomSource, frames: &[usize]) {
    let orientation = source.orientation.expect("checked");
    let spacing = source.pixel_spacing.expect("checked");
    let gap = source.slices.windows(2).next().map(|w| {
        let (a, b) = (w[0].position.expect("checked"), w[1].position.expect("checked"));
        (0..3).map(|i| (b[i] - a[i]).powi(2)).sum::<f64>().sqrt()
    });
    let thickness = source.slice_thickness.or(gap).unwrap_or(1.0);
    d.sequence(
        0x5200_9229,
        item(|shared| {
            shared
                .sequence(0x0020_9116, item(|o| {
                    o.decimals(0x0020_0037, &orientation);
                }))
                .sequence(
                    0x0028_9110,
                    item(|m| {
                        m.decimals(0x0018_0050, &[thickness]).decimals(0x0028_0030, &spacing);
                        if let Some(gap) = gap {
                            m.decimals(0x0018_0088, &[gap]);
                        }
                    }),
                );
        }),
    );
    let per_frame = frames
        .iter()
        .enumerate()
        .map(|(n, &k)| {
            let s = &source.slices[k];
            let mut f = DataSet::new();
            let mut image = DataSet::new();
            image
                .text(0x0008_1150, b"UI", &s.sop_class_uid)
                .text(0x0008_1155, b"UI", &s.sop_instance_uid)
                // The mask is on the slice's own grid: a frame's pixel is the source's pixel.
                .text(0x0028_135A, b"CS", "YES")
                .sequence(0x0040_A170, vec![code("121322", "DCM", "Source image for image processing operation")]);
            if let Some(frame) = s.frame {
                image.text(0x0008_1160, b"IS", &frame.to_string());
            }
            f.sequence(
                0x0008_9124,
                item(|derivation| {
                    derivation
                        .sequence(0x0008_2112, vec![image])
                        .sequence(0x0008_9215, vec![code("113076", "DCM", "Segmentation")]);
                }),
            )
            .sequence(0x0020_9111, item(|c| {
                c.ul(0x0020_9157, &[1, n as u32 + 1]);
            }))
            .sequence(0x0020_9113, item(|p| {
                p.decimals(0x0020_0032, &s.position.expect("checked"));
            }))
            .sequence(0x0062_000A, item(|i| {
                i.us(0x0062_000B, &[1]);
            }));
            f
        })
        .collect();
    d.sequence(0x5200_9230, per_frame);
}

#[cfg(test)]
mod tests;
