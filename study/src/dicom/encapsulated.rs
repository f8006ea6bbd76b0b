//! Encapsulated pixel data (PS3.5 A.4) to one compressed byte stream per frame. A frame may span
//! several fragments; which fragments belong together comes from the basic offset table when there
//! is one, else from the rule of one fragment per frame, else from where each codec's streams start.

use std::borrow::Cow;
use std::ops::Range;

use crate::dicom::uids::Pixels;
use crate::error::{Error, Result};

/// Each frame's bytes: borrowed when the frame is one fragment, joined when it spans several.
pub fn frames<'a>(codec: Pixels, offsets: &[u8], fragments: &[&'a [u8]], frames: usize) -> Result<Vec<Cow<'a, [u8]>>> {
    if fragments.is_empty() {
        return Err(Error::Malformed("encapsulated pixel data holds no fragment".into()));
    }
    let groups = if frames == 1 {
        std::iter::once(0..fragments.len()).collect()
    } else if !offsets.is_empty() {
        from_offset_table(offsets, fragments, frames)?
    } else if fragments.len() == frames {
        (0..frames).map(|i| i..i + 1).collect()
    } else {
        by_start_markers(codec, fragments)
    };
    if groups.len() != frames {
        return Err(Error::Malformed(format!(
            "{} fragments make {} frames, but the file says {frames} frames",
            fragments.len(),
            groups.len()
        )));
    }
    Ok(groups
        .into_iter()
        .map(|g| match &fragments[g.clone()] {
            [one] => Cow::Borrowed(*one),
            many => Cow::Owned(many.concat()),
        })
        .collect())
}

/// The table gives each frame's first fragment as a byte offset from the first fragment's item
/// tag; every item takes 8 bytes of tag and length before its value.
fn from_offset_table(table: &[u8], fragments: &[&[u8]], frames: usize) -> Result<Vec<Range<usize>>> {
    let bad = |why: String| Error::Malformed(format!("basic offset table: {why}"));
    if table.len() != frames * 4 {
        return Err(bad(format!("{} bytes for {frames} frames", table.len())));
    }
    let mut starts = Vec::with_capacity(fragments.len());
    let mut at = 0u64;
    for f in fragments {
        starts.push(at);
        at += 8 + f.len() as u64;
    }
    let mut first = Vec::with_capacity(frames);
    for word in table.chunks_exact(4) {
        let offset = u64::from(u32::from_le_bytes([word[0], word[1], word[2], word[3]]));
        let index = starts
            .binary_search(&offset)
            .map_err(|_| bad(format!("offset {offset} is not the start of a fragment")))?;
        if first.last().is_some_and(|&previous| index <= previous) || (first.is_empty() && index != 0) {
            return Err(bad("offsets are not increasing from 0".into()));
        }
        first.push(index);
    }
    let ends = first.iter().skip(1).copied().chain([fragments.len()]);
    Ok(first.iter().zip(ends).map(|(&s, e)| s..e).collect())
}

/// Without a table, a fragment that opens a codec stream (JPEG SOI, JPEG 2000 SOC) starts a frame.
fn by_start_markers(codec: Pixels, fragments: &[&[u8]]) -> Vec<Range<usize>> {
    let opens = |f: &[u8]| match codec {
        Pixels::Jpeg | Pixels::JpegLs => f.starts_with(&[0xFF, 0xD8]),
        Pixels::Jpeg2000 => f.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]) || f.starts_with(b"\0\0\0\x0CjP  "),
        Pixels::Native | Pixels::Rle => false,
    };
    let mut groups: Vec<Range<usize>> = Vec::new();
    for (i, f) in fragments.iter().enumerate() {
        match groups.last_mut() {
            Some(g) if !opens(f) => g.end = i + 1,
            _ => groups.push(i..i + 1),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOI: [u8; 4] = [0xFF, 0xD8, 1, 2];

    #[test]
    fn one_frame_joins_every_fragment() {
        let f = frames(Pixels::Jpeg, &[], &[&SOI, &[3, 4]], 1).unwrap();
        assert_eq!(f, [Cow::<[u8]>::Owned(vec![0xFF, 0xD8, 1, 2, 3, 4])]);
    }

    #[test]
    fn offset_table_groups_fragments() {
        // Fragments of 4, 2 and 4 bytes: items start at 0, 12 and 22.
        let table: Vec<u8> = [0u32, 22].iter().flat_map(|v| v.to_le_bytes()).collect();
        let f = frames(Pixels::Jpeg, &table, &[&SOI, &[3, 4], &SOI], 2).unwrap();
        assert_eq!(f[0].as_ref(), &[0xFF, 0xD8, 1, 2, 3, 4]);
        assert_eq!(f[1].as_ref(), &SOI);
        let wrong: Vec<u8> = [0u32, 13].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert!(frames(Pixels::Jpeg, &wrong, &[&SOI, &[3, 4], &SOI], 2).is_err());
        assert!(frames(Pixels::Jpeg, &table[..4], &[&SOI, &[3, 4], &SOI], 2).is_err());
    }

    #[test]
    fn without_a_table_stream_starts_split_frames() {
        let f = frames(Pixels::Jpeg, &[], &[&SOI, &[3], &SOI, &[5]], 2).unwrap();
        assert_eq!(f[1].as_ref(), &[0xFF, 0xD8, 1, 2, 5]);
        assert!(frames(Pixels::Jpeg, &[], &[&SOI, &[3], &[4]], 2).is_err());
        assert!(frames(Pixels::Jpeg, &[], &[], 1).is_err());
    }
}
