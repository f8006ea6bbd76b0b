//! Writes DICOM files: explicit VR little endian (the one syntax every reader takes), elements in
//! ascending tag order, sequences and items of defined length. The reader's counterpart, for the
//! objects brainseg makes (its SEG); test fixtures in other syntaxes come from `synth`.

use std::collections::BTreeMap;

use crate::dicom::reader::long_length;

/// Identifies brainseg as the writer of a file (file meta group); a UUID-derived UID (PS3.5 B.2).
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.306216287192948850700271542448804681457";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

#[derive(Debug, Clone)]
enum Value {
    Bytes([u8; 2], Vec<u8>),
    Items(Vec<DataSet>),
}

/// A data set being built; elements may be added in any order.
#[derive(Debug, Clone, Default)]
pub struct DataSet {
    elements: BTreeMap<u32, Value>,
}

/// A decimal string value of at most 16 characters (the DS limit), as precise as fits.
pub fn decimal(v: f64) -> String {
    let plain = format!("{v}");
    if plain.len() <= 16 {
        return plain;
    }
    let fixed = (0..=15).rev().map(|d| format!("{v:.d$}")).find(|s| s.len() <= 16);
    let exponent = (0..=12).rev().map(|d| format!("{v:.d$e}")).find(|s| s.len() <= 16);
    let error = |s: &String| s.parse::<f64>().map_or(f64::INFINITY, |back| (back - v).abs());
    [fixed, exponent].into_iter().flatten().min_by(|a, b| error(a).total_cmp(&error(b))).unwrap_or_else(|| "0".into())
}

impl DataSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// A raw value, padded to even length as the standard requires (UI and binary with a zero,
    /// text with a space).
    pub fn bytes(&mut self, tag: u32, vr: &[u8; 2], mut value: Vec<u8>) -> &mut Self {
        if value.len() % 2 == 1 {
            let binary = matches!(vr, b"UI" | b"OB" | b"UN");
            value.push(if binary { 0 } else { b' ' });
        }
        self.elements.insert(tag, Value::Bytes(*vr, value));
        self
    }

    pub fn text(&mut self, tag: u32, vr: &[u8; 2], value: &str) -> &mut Self {
        self.bytes(tag, vr, value.as_bytes().to_vec())
    }

    pub fn us(&mut self, tag: u32, values: &[u16]) -> &mut Self {
        self.bytes(tag, b"US", values.iter().flat_map(|v| v.to_le_bytes()).collect())
    }

    pub fn ul(&mut self, tag: u32, values: &[u32]) -> &mut Self {
        self.bytes(tag, b"UL", values.iter().flat_map(|v| v.to_le_bytes()).collect())
    }

    /// Attribute tags as values (AT): group, then element, each little endian.
    pub fn tags(&mut self, tag: u32, values: &[u32]) -> &mut Self {
        let bytes = values.iter().flat_map(|t| [((t >> 16) as u16).to_le_bytes(), (*t as u16).to_le_bytes()]).flatten();
        self.bytes(tag, b"AT", bytes.collect())
    }

    /// Decimal strings (DS), backslash-separated.
    pub fn decimals(&mut self, tag: u32, values: &[f64]) -> &mut Self {
        let text: Vec<String> = values.iter().map(|&v| decimal(v)).collect();
        self.text(tag, b"DS", &text.join("\\"))
    }

    pub fn sequence(&mut self, tag: u32, items: Vec<DataSet>) -> &mut Self {
        self.elements.insert(tag, Value::Items(items));
        self
    }

    pub fn contains(&self, tag: u32) -> bool {
        self.elements.contains_key(&tag)
    }

    /// The data set's bytes, explicit VR little endian.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (&tag, value) in &self.elements {
            let (vr, bytes) = match value {
                Value::Bytes(vr, bytes) => (*vr, bytes.clone()),
                Value::Items(items) => {
                    let mut bytes = Vec::new();
                    for item in items {
                        let encoded = item.encode();
                        bytes.extend([0xFE, 0xFF, 0x00, 0xE0]);
                        bytes.extend((encoded.len() as u32).to_le_bytes());
                        bytes.extend(encoded);
                    }
                    (*b"SQ", bytes)
                }
            };
            out.extend(((tag >> 16) as u16).to_le_bytes());
            out.extend((tag as u16).to_le_bytes());
            out.extend(vr);
            if long_length(vr) {
                out.extend([0, 0]);
                out.extend((bytes.len() as u32).to_le_bytes());
            } else {
                out.extend((bytes.len() as u16).to_le_bytes());
            }
            out.extend(bytes);
        }
        out
    }
}

/// A complete file: preamble, `DICM`, the file meta group, then `data` (explicit VR little endian).
pub fn file(sop_class_uid: &str, sop_instance_uid: &str, data: &DataSet) -> Vec<u8> {
    let mut meta = DataSet::new();
    meta.bytes(0x0002_0001, b"OB", vec![0, 1])
        .text(0x0002_0002, b"UI", sop_class_uid)
        .text(0x0002_0003, b"UI", sop_instance_uid)
        .text(0x0002_0010, b"UI", EXPLICIT_LE)
        .text(0x0002_0012, b"UI", IMPLEMENTATION_CLASS_UID)
        .text(0x0002_0013, b"SH", concat!("BRAINSEG_", env!("CARGO_PKG_VERSION")));
    let meta = meta.encode();
    let mut length = DataSet::new();
    length.ul(0x0002_0000, &[meta.len() as u32]);
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    out.extend(length.encode());
    out.extend(meta);
    out.extend(data.encode());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dicom::reader::{Encoding, Reader};

    #[test]
    fn decimals_fit_sixteen_characters() {
        assert_eq!(decimal(1.5), "1.5");
        assert_eq!(decimal(-100.0), "-100");
        for v in [std::f64::consts::PI * -1000.0, 1.0 / 3.0, 123456789.123456789, 1e-20, -9.87654321e30] {
            let s = decimal(v);
            assert!(s.len() <= 16, "{s}");
            let back: f64 = s.parse().unwrap();
            assert!((back - v).abs() <= v.abs() * 1e-6, "{v} -> {s}");
        }
    }

    #[test]
    fn our_reader_reads_what_we_write() {
        let mut item = DataSet::new();
        item.text(0x0008_1155, b"UI", "1.2.3");
        let mut d = DataSet::new();
        d.us(0x0028_0010, &[257]).text(0x0008_0060, b"CS", "SEG").sequence(0x0008_1115, vec![item.clone(), item]);
        let bytes = d.encode();
        let mut r = Reader::new(&bytes, 0, Encoding::ExplicitLe);
        let elements: Vec<_> = std::iter::from_fn(|| r.next_element().unwrap()).collect();
        // Sorted by tag whatever the order of insertion.
        assert_eq!(elements.iter().map(|e| e.tag).collect::<Vec<_>>(), [0x0008_0060, 0x0008_1115, 0x0028_0010]);
        assert_eq!(elements[0].value.bytes(), Some(&b"SEG "[..]));
        assert_eq!(elements[1].value.items().len(), 2);
        assert_eq!(elements[1].value.items()[1][0].value.bytes(), Some(&b"1.2.3\0"[..]));
        assert_eq!(elements[2].value.bytes(), Some(&257u16.to_le_bytes()[..]));
    }
}
