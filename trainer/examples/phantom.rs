//! Writes a synthetic MRI-like phantom slice (never patient data) as a PNG, for trying the
//! browser page and for its end-to-end test.
//!
//! `cargo run --release -p brainseg --example phantom -- out.png [size] [seed]`

use anyhow::{Context, Result, bail};
use brainseg_core::synthetic::phantom;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        bail!("usage: phantom <out.png> [size=256] [seed=1]");
    };
    let size: u32 = args.get(1).map_or(Ok(256), |s| s.parse()).context("size must be a whole number")?;
    let seed: u64 = args.get(2).map_or(Ok(1), |s| s.parse()).context("seed must be a whole number")?;
    let slice = phantom(size, size, seed, true);
    slice.image.save(out).with_context(|| format!("cannot write {out}"))?;
    println!("{out}: {size}x{size} phantom, seed {seed}");
    Ok(())
}
