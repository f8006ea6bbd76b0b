//! Zip archives for tests and the browser end-to-end test: stored or deflated entries with a
//! central directory, as PACS portals and CD exports hand studies over.

use std::io::Write;

/// A zip of `(path, bytes)` entries, deflated when `deflate` is true.
pub fn zip(entries: &[(String, Vec<u8>)], deflate: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut directory = Vec::new();
    for (name, bytes) in entries {
        let mut crc = flate2::Crc::new();
        crc.update(bytes);
        let data = if deflate {
            let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            d.write_all(bytes).expect("writing to memory");
            d.finish().expect("writing to memory")
        } else {
            bytes.clone()
        };
        let method: u16 = if deflate { 8 } else { 0 };
        let offset = out.len() as u32;
        // Version needed, flags, method, time, date, CRC, sizes, name length, extra length.
        let mut fields = Vec::new();
        fields.extend(20u16.to_le_bytes());
        fields.extend(0u16.to_le_bytes());
        fields.extend(method.to_le_bytes());
        fields.extend([0, 0, 0x21, 0]);
        fields.extend(crc.sum().to_le_bytes());
        fields.extend((data.len() as u32).to_le_bytes());
        fields.extend((bytes.len() as u32).to_le_bytes());
        fields.extend((name.len() as u16).to_le_bytes());
        fields.extend(0u16.to_le_bytes());
        out.extend(0x0403_4b50u32.to_le_bytes());
        out.extend(&fields);
        out.extend(name.as_bytes());
        out.extend(&data);
        directory.extend(0x0201_4b50u32.to_le_bytes());
        directory.extend(20u16.to_le_bytes());
        directory.extend(&fields);
        // Comment length, disk, internal and external attributes, local header offset.
        directory.extend([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        directory.extend(offset.to_le_bytes());
        directory.extend(name.as_bytes());
    }
    let start = out.len() as u32;
    out.extend(&directory);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0, 0, 0, 0]);
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((directory.len() as u32).to_le_bytes());
    out.extend(start.to_le_bytes());
    out.extend([0, 0]);
    out
}
