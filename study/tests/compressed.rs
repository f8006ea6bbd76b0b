//! Compressed DICOM: every decoded syntax against the uncompressed original (8, 12 and 16 bits,
//! signed and unsigned, one and many frames, fragments with and without offset tables), lossy
//! syntaxes within their error, and damaged or unsupported streams as errors, never panics.

use brainseg_study::dicom::{self, DicomImage};
use brainseg_study::error::Error;
use brainseg_study::synth::{DicomWriter, Fragments, MR_IMAGE, PixelSpec, Syntax, encode};

const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";
const JPEG_EXTENDED: &str = "1.2.840.10008.1.2.4.51";
const J2K_LOSSLESS: &str = "1.2.840.10008.1.2.4.90";
const J2K: &str = "1.2.840.10008.1.2.4.91";

/// Values over the whole range, extremes included (the same as fixtures/make_j2k.py), as stored
/// bit patterns: two's complement within `bits` for signed data.
fn pattern(w: usize, h: usize, bits: u16, signed: bool, frame: usize) -> Vec<u16> {
    let top = (1i64 << bits) - 1;
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h as i64 {
        for x in 0..w as i64 {
            let mut v = (x * x * 3 + y * y * 5 + x * y * 7 + frame as i64 * 131 + x * 977 + y * 61) % (top + 1);
            if (x, y) == (0, 0) {
                v = 0;
            } else if (x, y) == (1, 0) {
                v = top;
            }
            if signed {
                v -= 1 << (bits - 1);
            }
            out.push((v & top) as u16);
        }
    }
    out
}

fn spec(bits_allocated: u16, bits_stored: u16, signed: bool, frames: usize) -> PixelSpec {
    PixelSpec { rows: 32, columns: 32, frames, bits_allocated, bits_stored, signed }
}

const SPECS: [(u16, u16, bool); 6] =
    [(8, 8, false), (8, 8, true), (16, 12, false), (16, 12, true), (16, 16, false), (16, 16, true)];

fn samples(s: &PixelSpec) -> Vec<u16> {
    (0..s.frames).flat_map(|f| pattern(s.columns, s.rows, s.bits_stored, s.signed, f)).collect()
}

fn file(syntax: Syntax, s: &PixelSpec, samples: &[u16]) -> Vec<u8> {
    let mut w = DicomWriter::new(syntax, MR_IMAGE);
    w.text(0x0008_0060, b"CS", "MR").image(s, samples);
    w.finish()
}

fn encapsulated(uid: &'static str, s: &PixelSpec, frames: &[Vec<u8>], cut: Fragments) -> Vec<u8> {
    // The pixel module of `image`, then ready-made frames.
    let mut w = DicomWriter::new(Syntax::Encapsulated(uid), MR_IMAGE);
    w.us(0x0028_0002, 1).text(0x0028_0004, b"CS", "MONOCHROME2");
    if s.frames > 1 {
        w.text(0x0028_0008, b"IS", &s.frames.to_string());
    }
    w.us(0x0028_0010, s.rows as u16).us(0x0028_0011, s.columns as u16);
    w.us(0x0028_0100, s.bits_allocated).us(0x0028_0101, s.bits_stored).us(0x0028_0103, u16::from(s.signed));
    w.encapsulated(frames, cut);
    w.finish()
}

fn parse(bytes: &[u8]) -> DicomImage {
    dicom::parse(bytes).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn lossless_syntaxes_equal_the_uncompressed_original() {
    for syntax in [Syntax::Rle, Syntax::JpegLossless, Syntax::JpegLosslessAverage, Syntax::JpegLs] {
        for (allocated, stored, signed) in SPECS {
            for frames in [1, 3] {
                let s = spec(allocated, stored, signed, frames);
                let data = samples(&s);
                let original = parse(&file(Syntax::ExplicitLe, &s, &data));
                let decoded = parse(&file(syntax, &s, &data));
                assert_eq!(decoded.frames, frames);
                assert_eq!(decoded.pixels, original.pixels, "{syntax:?} {s:?}");
                if signed {
                    assert!(decoded.pixels.iter().any(|&v| v < 0.0), "{syntax:?} {s:?}: no negative sample");
                }
            }
        }
    }
}

fn jpeg_lossless_frames(s: &PixelSpec, data: &[u16]) -> Vec<Vec<u8>> {
    data.chunks(s.rows * s.columns)
        .map(|f| encode::jpeg_lossless(f, s.columns, s.rows, s.bits_stored as u8, 1))
        .collect::<Vec<_>>()
}

#[test]
fn frames_spanning_fragments_with_and_without_offset_tables() {
    let s = spec(16, 16, false, 4);
    let data = samples(&s);
    let original = parse(&file(Syntax::ExplicitLe, &s, &data));
    let frames = jpeg_lossless_frames(&s, &data);
    for cut in [Fragments::OnePerFrame, Fragments::SplitWithOffsets(3), Fragments::Split(3)] {
        let decoded = parse(&encapsulated("1.2.840.10008.1.2.4.70", &s, &frames, cut));
        assert_eq!(decoded.pixels, original.pixels, "{cut:?}");
    }
    // One frame in several fragments needs no table.
    let one = spec(16, 16, false, 1);
    let decoded = parse(&encapsulated("1.2.840.10008.1.2.4.70", &one, &frames[..1], Fragments::Split(4)));
    assert_eq!(decoded.pixels, original.pixels[..32 * 32]);
}

#[test]
fn frame_counts_that_do_not_match_are_errors() {
    let s = spec(16, 12, false, 2);
    let data = samples(&s);
    let frames = jpeg_lossless_frames(&s, &data);
    let three = PixelSpec { frames: 3, ..s };
    let e = dicom::parse(&encapsulated("1.2.840.10008.1.2.4.70", &three, &frames, Fragments::OnePerFrame)).unwrap_err();
    assert!(e.to_string().contains("3 frames"), "{e}");
    let small = PixelSpec { rows: 16, ..s };
    let e = dicom::parse(&encapsulated("1.2.840.10008.1.2.4.70", &small, &frames, Fragments::OnePerFrame)).unwrap_err();
    assert!(matches!(e, Error::Codec { .. }) && e.to_string().contains("32x32 frame in a 32x16 image"), "{e}");
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/j2k/{name}.j2k", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn jpeg_2000_lossless_equals_the_original() {
    for (bits, signed) in [(8, false), (12, false), (12, true), (16, false), (16, true)] {
        let name = |f: usize| format!("lossless_{bits}{}_{f}", if signed { 's' } else { 'u' });
        let allocated = if bits == 8 { 8 } else { 16 };
        let frames = [fixture(&name(0)), fixture(&name(1))];
        for count in [1, 2] {
            let s = spec(allocated, bits, signed, count);
            let original = parse(&file(Syntax::ExplicitLe, &s, &samples(&s)));
            let decoded = parse(&encapsulated(J2K_LOSSLESS, &s, &frames[..count], Fragments::OnePerFrame));
            assert_eq!(decoded.pixels, original.pixels, "{s:?}");
        }
    }
}

#[test]
fn lossy_syntaxes_stay_close_to_the_original() {
    // The worst error, and the mean (which a level or sign slip would push far up).
    let close = |a: &[f32], b: &[f32], (tolerance, mean_tolerance): (f32, f32), what: &str| {
        let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
        let mean = a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32;
        assert!(worst <= tolerance && mean <= mean_tolerance, "{what}: off by {worst} at worst, {mean} on average");
    };
    // JPEG 2000 irreversible, a 12-bit ramp (as fixtures/make_j2k.py makes it, 0..2270) at 8:1;
    // OpenJPEG's own decoder is off by as much (49 at worst, 12.3 on average).
    let s = spec(16, 12, false, 2);
    let ramp: Vec<u16> =
        (0..2).flat_map(|f| (0..32 * 32).map(move |i| ((i % 32) * 40 + (i / 32) * 30 + f * 100) as u16)).collect();
    let original = parse(&file(Syntax::ExplicitLe, &s, &ramp)).pixels;
    let frames = vec![fixture("lossy_12u_0"), fixture("lossy_12u_1")];
    close(&parse(&encapsulated(J2K, &s, &frames, Fragments::OnePerFrame)).pixels, &original, (64.0, 16.0), "JPEG 2000");
    // JPEG-LS near-lossless: NEAR = 2 bounds every sample's error.
    let s = spec(16, 12, true, 2);
    let data = samples(&s);
    let original = parse(&file(Syntax::ExplicitLe, &s, &data)).pixels;
    close(&parse(&file(Syntax::JpegLsNear, &s, &data)).pixels, &original, (2.0, 1.5), "JPEG-LS near-lossless");
    // JPEG baseline (and extended, 8-bit), a smooth 8-bit image at quality 95.
    let s = spec(8, 8, false, 2);
    let smooth: Vec<u16> = (0..2 * 32 * 32).map(|i| ((i % 32) * 4 + (i / 32 % 32) * 3) as u16).collect();
    let original = parse(&file(Syntax::ExplicitLe, &s, &smooth)).pixels;
    let frames: Vec<Vec<u8>> =
        smooth.chunks(32 * 32).map(|f| baseline(&f.iter().map(|&v| v as u8).collect::<Vec<_>>())).collect();
    for uid in [JPEG_BASELINE, JPEG_EXTENDED] {
        close(&parse(&encapsulated(uid, &s, &frames, Fragments::OnePerFrame)).pixels, &original, (6.0, 1.5), uid);
    }
}

fn baseline(gray: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 95).encode(gray, 32, 32, jpeg_encoder::ColorType::Luma).unwrap();
    out
}

#[test]
fn twelve_bit_dct_and_htj2k_are_refused_by_name() {
    let mut stream = baseline(&[128; 32 * 32]);
    // Turn the baseline frame header (SOF0, 8 bits) into an extended one of 12 bits.
    let sof = stream.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    stream[sof + 1] = 0xC1;
    stream[sof + 4] = 12;
    let s = spec(16, 12, false, 1);
    let e = dicom::parse(&encapsulated(JPEG_EXTENDED, &s, &[stream], Fragments::OnePerFrame)).unwrap_err();
    assert!(e.to_string().contains("12-bit JPEG Extended"), "{e}");
    let e = dicom::parse(&encapsulated(
        "1.2.840.10008.1.2.4.201",
        &s,
        &[fixture("lossless_12u_0")],
        Fragments::OnePerFrame,
    ))
    .unwrap_err();
    assert!(matches!(e, Error::CompressedSyntax { .. }) && e.to_string().contains("High-Throughput JPEG 2000"), "{e}");
}

#[test]
fn damaged_codestreams_are_errors_not_panics() {
    let s = spec(16, 12, true, 1);
    let data = samples(&s);
    let streams: Vec<(&'static str, Vec<u8>)> = vec![
        ("1.2.840.10008.1.2.4.70", encode::jpeg_lossless(&data, 32, 32, 12, 1)),
        ("1.2.840.10008.1.2.4.80", encode::jpeg_ls(&data, 32, 32, 12, 0)),
        (J2K_LOSSLESS, fixture("lossless_12s_0")),
        (JPEG_BASELINE, baseline(&[90; 32 * 32])),
    ];
    for (uid, stream) in streams {
        let s = if uid == JPEG_BASELINE { spec(8, 8, false, 1) } else { s };
        for cut in (0..stream.len()).step_by(7) {
            let _ = dicom::parse(&encapsulated(uid, &s, &[stream[..cut].to_vec()], Fragments::OnePerFrame));
        }
        for at in (0..stream.len()).step_by(3) {
            let mut bad = stream.clone();
            bad[at] ^= 0x5A;
            if let Ok(image) = dicom::parse(&encapsulated(uid, &s, &[bad], Fragments::OnePerFrame)) {
                assert_eq!(image.pixels.len(), 32 * 32, "{uid}");
            }
        }
    }
}

/// Found by `scripts/fuzz.sh` (frames target, three times: 2026-11, 2026-12-02 and 2026-12-04,
/// the last 0.16M executions in): JPEG-LS streams
/// whose context counters overflow inside pure_jpegls (`update_stats`, "attempt to add with
/// overflow"). With overflow checks (debug builds, tests) the decoder panics and the file must
/// still come back as an error; release builds (the CLI, the page, where a panic would abort the
/// whole page) wrap instead, and must reach an error or an image just the same.
#[test]
fn jpeg_ls_stream_that_overflows_the_decoder_is_an_error() {
    for name in ["jpegls-overflow.bin", "jpegls-overflow-2.bin", "jpegls-overflow-3.bin"] {
        jpeg_ls_overflow_case(name);
    }
}

fn jpeg_ls_overflow_case(name: &str) {
    let path = format!("{}/tests/fixtures/fuzz/{name}", env!("CARGO_MANIFEST_DIR"));
    let input = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    // The fuzz target's framing: one byte picks syntax and pixel format (here JPEG-LS, 16-bit
    // unsigned), the rest is the frame.
    let (&pick, frame) = input.split_first().unwrap();
    assert_eq!(pick, 2, "{name}");
    let s = spec(16, 16, false, 1);
    match dicom::parse(&encapsulated("1.2.840.10008.1.2.4.80", &s, &[frame.to_vec()], Fragments::OnePerFrame)) {
        Ok(image) => assert_eq!(image.pixels.len(), 32 * 32, "{name}"),
        Err(e) => {
            assert!(matches!(e, Error::Codec { .. }), "{e}");
            if !cfg!(debug_assertions) {
                // Without overflow checks nothing may reach the unwinding guard: on the page
                // there is none.
                assert!(!e.to_string().contains("failed on damaged data"), "{e}");
            }
        }
    }
}
