//! Any bytes as one compressed frame of every codec (JPEG, JPEG-LS, JPEG 2000, RLE), wrapped in a
//! valid DICOM file of a fixed size: the decoders' entry points must return an image of exactly
//! that size or an error, never panic or allocate past the frame.
#![no_main]

use brainseg_study::synth::{DicomWriter, Fragments, MR_IMAGE, Syntax};
use libfuzzer_sys::fuzz_target;

const SYNTAXES: [&str; 6] = [
    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.70",
    "1.2.840.10008.1.2.4.80",
    "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.5",
    "1.2.840.10008.1.2.4.57",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, frame)) = data.split_first() else { return };
    let uid = SYNTAXES[usize::from(pick) % SYNTAXES.len()];
    let bits = if pick & 0x80 != 0 { 8 } else { 16 };
    let mut w = DicomWriter::new(Syntax::Encapsulated(uid), MR_IMAGE);
    w.us(0x0028_0002, 1).text(0x0028_0004, b"CS", "MONOCHROME2");
    w.us(0x0028_0010, 32).us(0x0028_0011, 32).us(0x0028_0100, bits).us(0x0028_0101, bits);
    w.us(0x0028_0103, u16::from(pick & 0x40 != 0));
    w.encapsulated(&[frame.to_vec()], Fragments::OnePerFrame);
    if let Ok(image) = brainseg_study::dicom::parse(&w.finish()) {
        assert_eq!(image.pixels.len(), 32 * 32);
    }
});
