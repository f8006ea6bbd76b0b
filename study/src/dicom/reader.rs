//! Walks a DICOM data set element by element. Sequences come back as their items (each a list of
//! elements), which is where multi-frame and derived objects keep their geometry and references;
//! encapsulated pixel data is split into its fragments. Every read is bounds-checked: a damaged
//! file is an error, never a panic.

use crate::error::{Error, Result};

/// How tags, lengths and numbers are laid out after the file meta group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    ImplicitLe,
    ExplicitLe,
    ExplicitBe,
}

impl Encoding {
    pub fn big_endian(self) -> bool {
        self == Encoding::ExplicitBe
    }
}

pub const PIXEL_DATA: u32 = 0x7FE0_0010;
const ITEM: u32 = 0xFFFE_E000;
const ITEM_END: u32 = 0xFFFE_E00D;
const SEQUENCE_END: u32 = 0xFFFE_E0DD;
const UNDEFINED: u32 = 0xFFFF_FFFF;
/// Real files nest a handful of levels; a deeper nest is damage (or a fuzzer) and would
/// otherwise recurse without bound.
const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Bytes(&'a [u8]),
    /// Encapsulated pixel data: the basic offset table (often empty) and the fragments after it.
    Encapsulated {
        offsets: &'a [u8],
        fragments: Vec<&'a [u8]>,
    },
    /// A sequence's items, each the elements it holds. Implicit-VR sequences of defined length
    /// cannot be told from other bytes without a dictionary: they stay [`Value::Bytes`].
    Sequence(Vec<Vec<Element<'a>>>),
}

impl<'a> Value<'a> {
    pub fn bytes(&self) -> Option<&'a [u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub fn items(&self) -> &[Vec<Element<'a>>] {
        match self {
            Value::Sequence(items) => items,
            _ => &[],
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Element<'a> {
    pub tag: u32,
    pub value: Value<'a>,
}

pub struct Reader<'a> {
    data: &'a [u8],
    pub pos: usize,
    pub encoding: Encoding,
}

/// Sequences read in implicit VR, where a defined-length sequence looks like any other bytes:
/// the functional groups of multi-frame objects and what a SEG references. Others are skipped.
const KNOWN_SEQUENCES: [u32; 20] = [
    0x0008_1115, 0x0008_114A, 0x0008_2112, 0x0008_2218, 0x0008_9124, 0x0008_9215, 0x0020_9111, 0x0020_9113,
    0x0020_9116, 0x0020_9221, 0x0020_9222, 0x0028_9110, 0x0028_9145, 0x0040_A170, 0x0062_0002, 0x0062_0003,
    0x0062_000A, 0x0062_000F, 0x5200_9229, 0x5200_9230,
];

/// Value representations whose length is a 4-byte field after two reserved bytes.
pub(crate) fn long_length(vr: [u8; 2]) -> bool {
    matches!(&vr, b"OB" | b"OD" | b"OF" | b"OL" | b"OV" | b"OW" | b"SQ" | b"SV" | b"UC" | b"UN" | b"UR" | b"UT" | b"UV")
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8], pos: usize, encoding: Encoding) -> Self {
        Self { data, pos, encoding }
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or(Error::Truncated { what, offset: self.pos })?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn u16(&mut self, what: &'static str) -> Result<u16> {
        let b: [u8; 2] = self.take(2, what)?.try_into().expect("two bytes");
        Ok(if self.encoding.big_endian() { u16::from_be_bytes(b) } else { u16::from_le_bytes(b) })
    }

    fn u32(&mut self, what: &'static str) -> Result<u32> {
        let b: [u8; 4] = self.take(4, what)?.try_into().expect("four bytes");
        Ok(if self.encoding.big_endian() { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) })
    }

    fn tag(&mut self) -> Result<u32> {
        let group = self.u16("a tag")?;
        let element = self.u16("a tag")?;
        Ok(u32::from(group) << 16 | u32::from(element))
    }

    /// The group of the next tag, without moving.
    pub fn peek_group(&self) -> Option<u16> {
        let b: [u8; 2] = self.data.get(self.pos..self.pos + 2)?.try_into().ok()?;
        Some(if self.encoding.big_endian() { u16::from_be_bytes(b) } else { u16::from_le_bytes(b) })
    }

    /// The next element, or `None` at the end of the data.
    pub fn next_element(&mut self) -> Result<Option<Element<'a>>> {
        if self.at_end() {
            return Ok(None);
        }
        self.element(0).map(Some)
    }

    fn element(&mut self, depth: usize) -> Result<Element<'a>> {
        let start = self.pos;
        let tag = self.tag()?;
        let (vr, length) = match self.encoding {
            // Implicit VR: only the length says whether this is a sequence (undefined length).
            Encoding::ImplicitLe => (*b"UN", self.u32("an element length")?),
            Encoding::ExplicitLe | Encoding::ExplicitBe => {
                let vr: [u8; 2] = self.take(2, "a value representation")?.try_into().expect("two bytes");
                if !vr.iter().all(u8::is_ascii_uppercase) {
                    return Err(Error::Malformed(format!("invalid value representation at offset {start}")));
                }
                if long_length(vr) {
                    self.take(2, "reserved bytes")?;
                    (vr, self.u32("an element length")?)
                } else {
                    (vr, u32::from(self.u16("an element length")?))
                }
            }
        };
        if length != UNDEFINED {
            let bytes = self.take(length as usize, "an element value")?;
            let implicit_sequence = &vr == b"UN" && self.encoding == Encoding::ImplicitLe && KNOWN_SEQUENCES.contains(&tag);
            if &vr != b"SQ" && !implicit_sequence {
                return Ok(Element { tag, value: Value::Bytes(bytes) });
            }
            let mut inner = Reader::new(bytes, 0, self.encoding);
            let items = inner.items(depth + 1)?;
            return Ok(Element { tag, value: Value::Sequence(items) });
        }
        if tag == PIXEL_DATA {
            let (offsets, fragments) = self.fragments()?;
            return Ok(Element { tag, value: Value::Encapsulated { offsets, fragments } });
        }
        // An undefined-length UN is a sequence encoded implicit little endian (PS3.5 6.2.2).
        let saved = self.encoding;
        if &vr == b"UN" && self.encoding != Encoding::ImplicitLe {
            self.encoding = Encoding::ImplicitLe;
        }
        let items = self.items(depth + 1);
        self.encoding = saved;
        Ok(Element { tag, value: Value::Sequence(items?) })
    }

    /// The items of a sequence, up to its delimiter (undefined length) or the end of the data
    /// (defined length, where `self` holds just the sequence's value).
    fn items(&mut self, depth: usize) -> Result<Vec<Vec<Element<'a>>>> {
        if depth > MAX_DEPTH {
            return Err(Error::Malformed("sequences nested too deeply".into()));
        }
        let mut items = Vec::new();
        while !self.at_end() {
            let tag = self.tag()?;
            let length = self.u32("an item length")?;
            match tag {
                SEQUENCE_END => break,
                ITEM if length == UNDEFINED => {
                    let mut item = Vec::new();
                    loop {
                        if self.peek_tag()? == ITEM_END {
                            self.tag()?;
                            self.u32("an item length")?;
                            break;
                        }
                        item.push(self.element(depth)?);
                    }
                    items.push(item);
                }
                ITEM => {
                    let bytes = self.take(length as usize, "a sequence item")?;
                    let mut inner = Reader::new(bytes, 0, self.encoding);
                    let mut item = Vec::new();
                    while !inner.at_end() {
                        item.push(inner.element(depth)?);
                    }
                    items.push(item);
                }
                other => {
                    return Err(Error::Malformed(format!("unexpected tag {other:08X} inside a sequence")));
                }
            }
        }
        Ok(items)
    }

    fn peek_tag(&self) -> Result<u32> {
        let mut probe = Reader { data: self.data, pos: self.pos, encoding: self.encoding };
        probe.tag()
    }

    /// The basic offset table and the fragments of encapsulated pixel data.
    fn fragments(&mut self) -> Result<(&'a [u8], Vec<&'a [u8]>)> {
        let mut items = Vec::new();
        loop {
            let tag = self.tag()?;
            let length = self.u32("a pixel data fragment length")?;
            match tag {
                SEQUENCE_END => break,
                ITEM if length != UNDEFINED => items.push(self.take(length as usize, "a pixel data fragment")?),
                _ => return Err(Error::Malformed("damaged encapsulated pixel data".into())),
            }
        }
        // The first item is the basic offset table, not pixels.
        if items.is_empty() {
            return Err(Error::Malformed("encapsulated pixel data without its offset table item".into()));
        }
        let offsets = items.remove(0);
        Ok((offsets, items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explicit(tag: u32, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
        out.extend_from_slice(&(tag as u16).to_le_bytes());
        out.extend_from_slice(vr);
        if long_length(*vr) {
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        } else {
            out.extend_from_slice(&(value.len() as u16).to_le_bytes());
        }
        out.extend_from_slice(value);
        out
    }

    #[test]
    fn sequences_come_back_as_items() {
        let mut data = explicit(0x0008_0060, b"CS", b"MR");
        // (0008,1140) SQ, undefined length, one undefined-length item holding one element.
        data.extend_from_slice(&[0x08, 0, 0x40, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
        data.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        data.extend(explicit(0x0008_1150, b"UI", b"1.2"));
        data.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        data.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        // (0008,1115) SQ of defined length: two defined-length items.
        let item = |value: &[u8]| {
            let element = explicit(0x0020_000E, b"UI", value);
            let mut out = vec![0xFE, 0xFF, 0x00, 0xE0];
            out.extend((element.len() as u32).to_le_bytes());
            out.extend(element);
            out
        };
        let items = [item(b"1.4"), item(b"1.6")].concat();
        data.extend(explicit(0x0008_1115, b"SQ", &items));
        data.extend(explicit(0x0028_0010, b"US", &64u16.to_le_bytes()));
        let mut r = Reader::new(&data, 0, Encoding::ExplicitLe);
        let elements: Vec<Element> = std::iter::from_fn(|| r.next_element().unwrap()).collect();
        let tags: Vec<u32> = elements.iter().map(|e| e.tag).collect();
        assert_eq!(tags, [0x0008_0060, 0x0008_1140, 0x0008_1115, 0x0028_0010]);
        let first = elements[1].value.items();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0][0].value.bytes(), Some(&b"1.2"[..]));
        let second: Vec<_> = elements[2].value.items().iter().map(|i| i[0].value.bytes().unwrap()).collect();
        assert_eq!(second, [b"1.4", b"1.6"]);
    }

    #[test]
    fn lengths_past_the_end_are_errors() {
        let mut data = explicit(0x0010_0010, b"PN", b"ANON");
        data.truncate(data.len() - 2);
        let mut r = Reader::new(&data, 0, Encoding::ExplicitLe);
        assert!(matches!(r.next_element(), Err(Error::Truncated { .. })));
    }

    #[test]
    fn endless_nesting_is_an_error() {
        let mut data = Vec::new();
        for _ in 0..100 {
            data.extend_from_slice(&[0x08, 0, 0x40, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
            data.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        }
        let mut r = Reader::new(&data, 0, Encoding::ExplicitLe);
        assert!(r.next_element().is_err());
    }
}
