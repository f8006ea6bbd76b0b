//! Writes synthetic MRI-like phantom slices (never patient data), for trying the browser page and
//! for the end-to-end tests: one slice as a PNG, or several as one axial DICOM FLAIR series (the
//! phantoms' FLAIR channel, on which the shipped model finds tumor, so a DICOM SEG has frames).
//!
//! `cargo run --release -p brainseg --example phantom -- out.png [size] [seed]`
//! `cargo run --release -p brainseg --example phantom -- --series DIR [size] [first seed] [slices]`

use anyhow::{Context, Result, bail};
use brainseg_core::synthetic::phantom;
use brainseg_study::synth::{PhantomVolume, SeriesSpec, Syntax, dicom_series};

fn number<T: std::str::FromStr>(args: &[String], i: usize, default: T, what: &str) -> Result<T> {
    args.get(i).map_or(Ok(default), |s| s.parse().ok().with_context(|| format!("{what} must be a whole number")))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        bail!("usage: phantom <out.png> [size=256] [seed=1] | phantom --series <dir> [size=256] [first seed=11] [slices=6]");
    };
    if out == "--series" {
        let dir = args.get(1).context("--series needs a folder")?;
        let (size, first, count) = (number(&args, 2, 256u32, "size")?, number(&args, 3, 11u64, "seed")?, number(&args, 4, 6usize, "slices")?);
        return series(dir, size, first, count);
    }
    let (size, seed) = (number(&args, 1, 256u32, "size")?, number(&args, 2, 1u64, "seed")?);
    let slice = phantom(size, size, seed, true);
    slice.image.save(out).with_context(|| format!("cannot write {out}"))?;
    println!("{out}: {size}x{size} phantom, seed {seed}");
    Ok(())
}

/// Slices of seeds `first..first + count` as one series, 1 mm pixels, 5 mm apart; files named in
/// reverse slice order (order must come from positions).
fn series(dir: &str, size: u32, first: u64, count: usize) -> Result<()> {
    let n = (size * size) as usize;
    let (mut flair, mut truth) = (Vec::with_capacity(n * count), Vec::with_capacity(n * count));
    for k in 0..count {
        let slice = phantom(size, size, first + k as u64, true);
        // 8-bit FLAIR as 12-bit samples: the reader's window maps them back.
        flair.extend(slice.image.pixels().map(|p| f32::from(p[1]) * 16.0));
        truth.extend(slice.mask.pixels().map(|p| u8::from(p[0] != 0)));
    }
    let size = size as usize;
    let volume = PhantomVolume { dims: [size, size, count], spacing: [1.0, 1.0, 5.0], flair, truth };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {dir}"))?;
    let files = dicom_series(&volume, &SeriesSpec::axial("AX FLAIR PHANTOM"), Syntax::ExplicitLe);
    for (k, bytes) in files.iter().enumerate() {
        let path = format!("{dir}/IM{:04}", count - 1 - k);
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {path}"))?;
    }
    println!("{dir}: {count} phantom slices of {size}x{size} as one DICOM series");
    Ok(())
}
