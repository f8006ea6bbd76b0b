//! The UIDs brainseg has to recognise: transfer syntaxes (how pixels are stored) and the SOP
//! classes that carry no image, so their files get a clear message instead of a parse error.

use crate::dicom::reader::Encoding;
use crate::error::{Error, Result};

/// How a transfer syntax stores the data set and its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syntax {
    pub encoding: Encoding,
    pub deflated: bool,
    pub pixels: Pixels,
}

/// How the pixel data is stored: native samples, or encapsulated frames of one codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pixels {
    Native,
    Rle,
    /// JPEG baseline, extended and lossless (ISO 10918-1).
    Jpeg,
    /// JPEG-LS lossless and near-lossless (ISO 14495-1).
    JpegLs,
    /// JPEG 2000 (ISO 15444-1), lossless or not.
    Jpeg2000,
}

impl Pixels {
    pub fn name(self) -> &'static str {
        match self {
            Pixels::Native => "native",
            Pixels::Rle => "RLE",
            Pixels::Jpeg => "JPEG",
            Pixels::JpegLs => "JPEG-LS",
            Pixels::Jpeg2000 => "JPEG 2000",
        }
    }
}

const fn plain(encoding: Encoding) -> Syntax {
    Syntax { encoding, deflated: false, pixels: Pixels::Native }
}

/// Encapsulated syntaxes are always explicit VR little endian (PS3.5 A.4).
const fn encapsulated(pixels: Pixels) -> Syntax {
    Syntax { encoding: Encoding::ExplicitLe, deflated: false, pixels }
}

/// The syntaxes read, for the documentation and the CLI's `--help`.
pub const SUPPORTED: [(&str, &str); 13] = [
    ("1.2.840.10008.1.2", "Implicit VR Little Endian"),
    ("1.2.840.10008.1.2.1", "Explicit VR Little Endian"),
    ("1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian"),
    ("1.2.840.10008.1.2.2", "Explicit VR Big Endian"),
    ("1.2.840.10008.1.2.5", "RLE Lossless"),
    ("1.2.840.10008.1.2.4.50", "JPEG Baseline (8-bit)"),
    ("1.2.840.10008.1.2.4.51", "JPEG Extended (8-bit frames; 12-bit DCT is refused)"),
    ("1.2.840.10008.1.2.4.57", "JPEG Lossless (process 14)"),
    ("1.2.840.10008.1.2.4.70", "JPEG Lossless, first-order prediction"),
    ("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless"),
    ("1.2.840.10008.1.2.4.81", "JPEG-LS Near-Lossless"),
    ("1.2.840.10008.1.2.4.90", "JPEG 2000 Lossless"),
    ("1.2.840.10008.1.2.4.91", "JPEG 2000"),
];

pub fn syntax(uid: &str) -> Result<Syntax> {
    Ok(match uid {
        "1.2.840.10008.1.2" => plain(Encoding::ImplicitLe),
        "1.2.840.10008.1.2.1" => plain(Encoding::ExplicitLe),
        "1.2.840.10008.1.2.1.99" => Syntax { deflated: true, ..plain(Encoding::ExplicitLe) },
        "1.2.840.10008.1.2.2" => plain(Encoding::ExplicitBe),
        "1.2.840.10008.1.2.5" => encapsulated(Pixels::Rle),
        "1.2.840.10008.1.2.4.50" | "1.2.840.10008.1.2.4.51" | "1.2.840.10008.1.2.4.57" | "1.2.840.10008.1.2.4.70" => {
            encapsulated(Pixels::Jpeg)
        }
        "1.2.840.10008.1.2.4.80" | "1.2.840.10008.1.2.4.81" => encapsulated(Pixels::JpegLs),
        "1.2.840.10008.1.2.4.90" | "1.2.840.10008.1.2.4.91" => encapsulated(Pixels::Jpeg2000),
        other => {
            return Err(match compressed_name(other) {
                Some(name) => Error::CompressedSyntax { uid: other.to_string(), name },
                None => Error::UnknownSyntax(other.to_string()),
            });
        }
    })
}

/// Compressed syntaxes that are recognised but not decoded. HTJ2K: the pure-Rust JPEG 2000
/// decoder used here (hayro-jpeg2000) has no high-throughput block decoder, and the one port that
/// has (openjp2) calls the C allocator, so it does not build for the page.
fn compressed_name(uid: &str) -> Option<&'static str> {
    let name = match uid {
        "1.2.840.10008.1.2.4.92" | "1.2.840.10008.1.2.4.93" => "JPEG 2000 Part 2 multi-component",
        "1.2.840.10008.1.2.4.94" | "1.2.840.10008.1.2.4.95" => "JPIP referenced pixel data",
        "1.2.840.10008.1.2.4.100" | "1.2.840.10008.1.2.4.101" | "1.2.840.10008.1.2.4.102" | "1.2.840.10008.1.2.4.103" => "MPEG video",
        "1.2.840.10008.1.2.4.201" | "1.2.840.10008.1.2.4.202" | "1.2.840.10008.1.2.4.203" => "High-Throughput JPEG 2000",
        _ if uid.starts_with("1.2.840.10008.1.2.4.") => "JPEG family",
        _ => return None,
    };
    Some(name)
}

/// A readable name for SOP classes that hold no pixels, or `None` for image classes.
pub fn non_image_class(uid: &str) -> Option<&'static str> {
    const PREFIXES: [(&str, &str); 8] = [
        ("1.2.840.10008.5.1.4.1.1.88.", "Structured Report"),
        ("1.2.840.10008.5.1.4.1.1.481.", "Radiotherapy object (RT)"),
        ("1.2.840.10008.5.1.4.1.1.11.", "Presentation State"),
        ("1.2.840.10008.5.1.4.1.1.66", "Registration or Segmentation object"),
        ("1.2.840.10008.5.1.4.1.1.104.", "Encapsulated document (PDF/CDA)"),
        ("1.2.840.10008.5.1.4.1.1.9.", "Waveform"),
        ("1.2.840.10008.1.3.10", "DICOMDIR index"),
        ("1.2.840.10008.5.1.4.1.1.4.2", "MR Spectroscopy"),
    ];
    PREFIXES.iter().find(|(p, _)| uid.starts_with(p)).map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_syntaxes_are_named() {
        let e = syntax("1.2.840.10008.1.2.4.201").unwrap_err();
        assert!(e.to_string().contains("High-Throughput JPEG 2000"), "{e}");
        assert!(matches!(syntax("1.9.9"), Err(Error::UnknownSyntax(_))));
        assert_eq!(syntax("1.2.840.10008.1.2.5").unwrap().pixels, Pixels::Rle);
        for (uid, _) in SUPPORTED {
            assert!(syntax(uid).is_ok(), "{uid}");
        }
    }
}
