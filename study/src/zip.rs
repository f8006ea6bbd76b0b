//! Zip archives read in place, as PACS portals and CD/DVD exports hand studies over. Only what a
//! study needs: stored and deflated entries, zip64 sizes, no encryption, no archive spanning
//! disks. Nothing is written to disk: entries become bytes in memory, named by their path in the
//! archive, and the limits below keep a small archive from expanding without bound.

use std::ops::Range;

use crate::error::{Error, MAX_VOXELS, Result, read_limited};

/// The most one entry may expand to: the largest DICOM file the reader accepts, with room for
/// its header.
pub const MAX_ENTRY_BYTES: u64 = MAX_VOXELS as u64 * 4 + (64 << 20);
/// The most all entries together may expand to (a study on a DVD is well under this).
pub const MAX_TOTAL_BYTES: u64 = 16 << 30;
/// The most entries an archive may list.
pub const MAX_ENTRIES: usize = 200_000;

const LOCAL: u32 = 0x0403_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;
const END64: u32 = 0x0606_4b50;
const END64_LOCATOR: u32 = 0x0706_4b50;

/// Whether a file is a zip archive, by name or by its first bytes.
pub fn is_zip(name: &str, head: &[u8]) -> bool {
    name.to_ascii_lowercase().ends_with(".zip") || head.starts_with(b"PK\x03\x04")
}

/// One file in an archive, not yet expanded.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The path inside the archive, `/`-separated, without `.`, `..` or leading `/`.
    pub name: String,
    method: u16,
    encrypted: bool,
    crc: u32,
    /// What the directory says the entry expands to.
    pub size: u64,
    data: Range<usize>,
}

/// Little-endian fields at fixed offsets of a record, every read bounds-checked.
struct Record<'a>(&'a [u8]);

impl Record<'_> {
    fn u16(&self, at: usize) -> Result<u16> {
        let b = self.0.get(at..at + 2).ok_or_else(|| truncated("a zip record"))?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&self, at: usize) -> Result<u32> {
        let b = self.0.get(at..at + 4).ok_or_else(|| truncated("a zip record"))?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&self, at: usize) -> Result<u64> {
        Ok(u64::from(self.u32(at)?) | u64::from(self.u32(at + 4)?) << 32)
    }
}

fn truncated(what: &str) -> Error {
    Error::Zip(format!("{what} runs past the end of the archive: the zip is truncated or damaged"))
}

fn bomb(why: String) -> Error {
    Error::TooLarge(format!("{why}; refused as a possible zip bomb (unzip the study and open its folder instead)"))
}

/// The entries of an archive (folders left out), after checking the archive as a whole: its
/// directory, the total it expands to, and that no two entries share bytes (the trick of
/// overlapping zip bombs).
pub fn entries(bytes: &[u8]) -> Result<Vec<Entry>> {
    let end = find_end(bytes)?;
    let eocd = Record(&bytes[end..]);
    if eocd.u16(4)? != 0 || eocd.u16(6)? != 0 {
        return Err(Error::Zip("archives split over several disks are not read".into()));
    }
    let (mut count, mut size, mut offset) =
        (u64::from(eocd.u16(10)?), u64::from(eocd.u32(12)?), u64::from(eocd.u32(16)?));
    if count == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
        (count, size, offset) = zip64_end(bytes, end)?;
    }
    if count > MAX_ENTRIES as u64 {
        return Err(bomb(format!("{count} entries (the limit is {MAX_ENTRIES})")));
    }
    let directory = usize::try_from(offset)
        .ok()
        .zip(usize::try_from(size).ok())
        .and_then(|(o, s)| bytes.get(o..o.checked_add(s)?))
        .ok_or_else(|| truncated("the central directory"))?;
    let mut at = 0;
    let mut list = Vec::new();
    for _ in 0..count {
        let (entry, next) = central_entry(bytes, directory, at)?;
        at = next;
        if let Some(e) = entry {
            list.push(e);
        }
    }
    let total: u64 = list.iter().map(|e| e.size).sum();
    if total > MAX_TOTAL_BYTES {
        return Err(bomb(format!(
            "the zip would expand to {} MiB (the limit is {} MiB)",
            total >> 20,
            MAX_TOTAL_BYTES >> 20
        )));
    }
    let mut spans: Vec<&Range<usize>> = list.iter().map(|e| &e.data).collect();
    spans.sort_by_key(|r| r.start);
    if spans.windows(2).any(|w| w[1].start < w[0].end) {
        return Err(bomb("entries of the zip share their compressed bytes".into()));
    }
    Ok(list)
}

/// The end-of-central-directory record: the last one within the 64 KiB a comment may take.
fn find_end(bytes: &[u8]) -> Result<usize> {
    let floor = bytes.len().saturating_sub(22 + 0xFFFF);
    (floor..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| bytes[i..i + 4] == END.to_le_bytes())
        .ok_or_else(|| Error::Zip("no central directory at the end: the zip is truncated, or not a zip".into()))
}

fn zip64_end(bytes: &[u8], end: usize) -> Result<(u64, u64, u64)> {
    let locator =
        Record(end.checked_sub(20).and_then(|s| bytes.get(s..end)).ok_or_else(|| truncated("the zip64 locator"))?);
    if locator.u32(0)? != END64_LOCATOR {
        return Err(Error::Zip("a zip64 archive without its zip64 directory locator".into()));
    }
    let at = usize::try_from(locator.u64(8)?).map_err(|_| truncated("the zip64 directory"))?;
    let record = Record(bytes.get(at..).ok_or_else(|| truncated("the zip64 directory"))?);
    if record.u32(0)? != END64 {
        return Err(Error::Zip("damaged zip64 directory".into()));
    }
    Ok((record.u64(32)?, record.u64(40)?, record.u64(48)?))
}

/// One central directory record at `at`: the entry (`None` for a folder) and where the next starts.
fn central_entry(bytes: &[u8], directory: &[u8], at: usize) -> Result<(Option<Entry>, usize)> {
    let r = Record(directory.get(at..).ok_or_else(|| truncated("the central directory"))?);
    if r.u32(0)? != CENTRAL {
        return Err(Error::Zip("damaged central directory".into()));
    }
    let flags = r.u16(8)?;
    let method = r.u16(10)?;
    let crc = r.u32(16)?;
    let (mut packed, mut size) = (u64::from(r.u32(20)?), u64::from(r.u32(24)?));
    let (name_len, extra_len, comment_len) =
        (usize::from(r.u16(28)?), usize::from(r.u16(30)?), usize::from(r.u16(32)?));
    let mut local = u64::from(r.u32(42)?);
    let name = r.0.get(46..46 + name_len).ok_or_else(|| truncated("an entry name"))?;
    let extra =
        r.0.get(46 + name_len..46 + name_len + extra_len).ok_or_else(|| truncated("an entry's extra fields"))?;
    let next = at + 46 + name_len + extra_len + comment_len;
    // Zip64: the fields saturated at 0xFFFFFFFF follow, in this order, in extra field 0x0001.
    if size == 0xFFFF_FFFF || packed == 0xFFFF_FFFF || local == 0xFFFF_FFFF {
        let mut fields = zip64_fields(extra)?.into_iter();
        for field in [&mut size, &mut packed, &mut local] {
            if *field == 0xFFFF_FFFF {
                *field = fields.next().ok_or_else(|| Error::Zip("zip64 sizes missing from an entry".into()))?;
            }
        }
    }
    let name = clean_name(&String::from_utf8_lossy(name));
    if name.is_empty() || name.ends_with('/') {
        return Ok((None, next));
    }
    let local = usize::try_from(local).map_err(|_| truncated("an entry"))?;
    let header = Record(bytes.get(local..).ok_or_else(|| truncated("an entry"))?);
    if header.u32(0)? != LOCAL {
        return Err(Error::Zip(format!("{name}: damaged local header")));
    }
    let start = local + 30 + usize::from(header.u16(26)?) + usize::from(header.u16(28)?);
    let data = usize::try_from(packed)
        .ok()
        .and_then(|p| start.checked_add(p))
        .map_or(usize::MAX..usize::MAX, |end| start..end);
    Ok((Some(Entry { name, method, encrypted: flags & 1 != 0, crc, size, data }), next))
}

fn zip64_fields(mut extra: &[u8]) -> Result<Vec<u64>> {
    while extra.len() >= 4 {
        let (id, len) =
            (u16::from_le_bytes([extra[0], extra[1]]), usize::from(u16::from_le_bytes([extra[2], extra[3]])));
        let body = extra.get(4..4 + len).ok_or_else(|| truncated("an entry's extra fields"))?;
        if id == 0x0001 {
            return Ok(body.chunks_exact(8).map(|b| u64::from_le_bytes(b.try_into().expect("eight bytes"))).collect());
        }
        extra = &extra[4 + len..];
    }
    Ok(Vec::new())
}

/// A path made safe to show and to group by: `\` as `/`, no empty, `.` or `..` parts, so no
/// name from an archive can point outside it.
pub fn clean_name(raw: &str) -> String {
    let folder = raw.ends_with('/') || raw.ends_with('\\');
    let parts: Vec<&str> = raw.split(['/', '\\']).filter(|p| !p.is_empty() && *p != "." && *p != "..").collect();
    let mut name = parts.join("/");
    if folder && !name.is_empty() {
        name.push('/');
    }
    name
}

impl Entry {
    /// The entry's bytes, expanded and checked against the size and CRC the directory gives.
    pub fn read(&self, archive: &[u8]) -> Result<Vec<u8>> {
        if self.encrypted {
            return Err(Error::Zip("encrypted entries are not read".into()));
        }
        if self.size > MAX_ENTRY_BYTES {
            return Err(bomb(format!("one entry expands to {} MiB", self.size >> 20)));
        }
        let packed = archive.get(self.data.clone()).ok_or_else(|| truncated("the entry's data"))?;
        let bytes =
            match self.method {
                0 => packed.to_vec(),
                8 => read_limited(flate2::read::DeflateDecoder::new(packed), self.size, "the zip entry").map_err(
                    |e| match e {
                        Error::TooLarge(_) => bomb("an entry expands past the size its directory gives".into()),
                        other => Error::Zip(format!("damaged entry: {other}")),
                    },
                )?,
                m => {
                    return Err(Error::Zip(format!("compression method {m} is not read (stored and deflate are)")));
                }
            };
        let mut crc = flate2::Crc::new();
        crc.update(&bytes);
        if bytes.len() as u64 != self.size || crc.sum() != self.crc {
            return Err(Error::Zip("the entry is damaged (size or CRC-32 does not match)".into()));
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_climb_out() {
        assert_eq!(clean_name("../../etc/passwd"), "etc/passwd");
        assert_eq!(clean_name("/abs/./x\\y.dcm"), "abs/x/y.dcm");
        assert_eq!(clean_name("DICOM/"), "DICOM/");
        assert_eq!(clean_name(".."), "");
    }
}
