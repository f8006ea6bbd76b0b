//! What brainseg's DICOM reader decodes from files of any modality (`segment` takes MR only),
//! for comparing with other readers (the pydicom corpus
//! test, tests/standard_tools/corpus.py): per file one JSON line, `{"file", "rows", "columns",
//! "frames", "modality"}` with the intensities (rescaled, all frames) in `OUT/<n>.f32` (little
//! endian), or `{"file", "error"}`.
//!
//! `cargo run -p brainseg-study --example dicom_pixels -- OUT FILE...`

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "dicom-pixels".into()));
    std::fs::create_dir_all(&out)?;
    for (n, file) in args.enumerate() {
        let quoted = format!("{file:?}");
        let line = match std::fs::read(&file).map_err(|e| e.to_string()).and_then(|b| brainseg_study::dicom::parse_any_modality(&b).map_err(|e| e.to_string())) {
            Ok(image) => {
                let bytes: Vec<u8> = image.pixels.iter().flat_map(|v| v.to_le_bytes()).collect();
                let raw = out.join(format!("{n}.f32"));
                std::fs::write(&raw, bytes)?;
                format!(
                    "{{\"file\": {quoted}, \"rows\": {}, \"columns\": {}, \"frames\": {}, \"modality\": {:?}, \"pixels\": {:?}}}",
                    image.rows,
                    image.columns,
                    image.frames,
                    image.modality,
                    raw.display().to_string()
                )
            }
            Err(e) => format!("{{\"file\": {quoted}, \"error\": {e:?}}}"),
        };
        println!("{line}");
    }
    Ok(())
}
