//! `brainseg segment`: outputs, formats, sizes, and every class of bad input.

mod common;

use common::{brainseg, text, tiny_model};
use brainseg_core::synthetic::phantom;
use image::{GenericImageView, ImageBuffer, Luma, Rgba};

#[test]
fn masks_for_png_tiff_webp_in_nested_folders_and_other_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(input.join("case_a/deeper")).unwrap();
    let p = phantom(64, 64, 1, true);
    p.image.save(input.join("case_a/s_1.png")).unwrap();
    p.image.save(input.join("case_a/s_2.tif")).unwrap();
    p.image.save(input.join("case_a/deeper/s_3.webp")).unwrap();
    p.mask.save(input.join("case_a/s_1_mask.png")).unwrap(); // skipped: a mask
    phantom(300, 200, 2, true).image.save(input.join("wide.png")).unwrap();
    let model = tiny_model(dir.path());
    let out = dir.path().join("out");

    let o = brainseg(&["segment", input.to_str().unwrap(), "--output", out.to_str().unwrap(), "--overlay", "--model", model.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    for (mask, size) in [
        ("case_a/s_1_pred.png", (64, 64)),
        ("case_a/s_2_pred.png", (64, 64)),
        ("case_a/deeper/s_3_pred.png", (64, 64)),
        ("wide_pred.png", (300, 200)),
    ] {
        let img = image::open(out.join(mask)).unwrap_or_else(|e| panic!("{mask}: {e}"));
        assert_eq!(img.dimensions(), size, "{mask}");
        let gray = img.as_luma8().unwrap_or_else(|| panic!("{mask} is not 8-bit single channel"));
        assert!(gray.pixels().all(|p| p.0[0] == 0 || p.0[0] == 255), "{mask} is not binary");
        let overlay = out.join(mask.replace("_pred", "_overlay"));
        assert_eq!(image::open(&overlay).unwrap().dimensions(), size);
    }
    assert!(!out.join("case_a/s_1_mask_pred.png").exists(), "mask files must be skipped");
    let stdout = text(&o.stdout);
    assert_eq!(stdout.lines().filter(|l| l.contains("% tumor")).count(), 4, "{stdout}");
}

#[test]
fn each_bad_file_gets_one_clear_line_and_the_rest_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = d.join("good.png");
    phantom(48, 48, 3, true).image.save(&good).unwrap();
    std::fs::write(d.join("empty.png"), b"").unwrap();
    let png = std::fs::read(&good).unwrap();
    std::fs::write(d.join("truncated.png"), &png[..png.len() / 2]).unwrap();
    std::fs::write(d.join("notes.png"), b"this is a text file, not an image").unwrap();
    ImageBuffer::<Luma<u8>, _>::new(8200, 1).save(d.join("huge.png")).unwrap();
    // Converted, with a note, not refused:
    ImageBuffer::<Luma<u16>, _>::from_fn(40, 40, |x, _| Luma([x as u16 * 1000])).save(d.join("deep16.png")).unwrap();
    ImageBuffer::<Luma<u8>, _>::from_pixel(40, 40, Luma([90])).save(d.join("gray.png")).unwrap();
    ImageBuffer::<Rgba<u8>, _>::from_pixel(40, 40, Rgba([90, 90, 90, 255])).save(d.join("rgba.png")).unwrap();
    let model = tiny_model(d);
    let out = d.join("out");

    let o = brainseg(&["segment", d.to_str().unwrap(), "-o", out.to_str().unwrap(), "--model", model.to_str().unwrap()]);
    let stderr = text(&o.stderr);
    assert!(!o.status.success(), "bad files must make the run fail");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for (file, reason) in [
        ("empty.png", "empty"),
        ("truncated.png", "cannot decode"),
        ("notes.png", "not an image"),
        ("huge.png", "limit is 8192"),
    ] {
        let lines: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:") && l.contains(file)).collect();
        assert_eq!(lines.len(), 1, "{file}: {stderr}");
        assert!(lines[0].contains(reason), "{file}: {}", lines[0]);
    }
    for (file, note) in [("deep16.png", "8 bits"), ("gray.png", "single-channel"), ("rgba.png", "alpha")] {
        assert!(stderr.lines().any(|l| l.starts_with("note:") && l.contains(file) && l.contains(note)), "{file}: {stderr}");
        assert!(out.join(file.replace(".png", "_pred.png")).exists(), "{file} should still be segmented");
    }
    assert!(out.join("good_pred.png").exists());
    assert!(stderr.contains("4 of 8 image(s) failed"), "{stderr}");
}

#[test]
fn damaged_or_foreign_model_files_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let img = d.join("x.png");
    phantom(32, 32, 4, true).image.save(&img).unwrap();
    let model = std::fs::read(tiny_model(d)).unwrap();
    std::fs::write(d.join("cut.bsm"), &model[..model.len() - 100]).unwrap();
    std::fs::write(d.join("junk.bsm"), b"PK\x03\x04 not a model").unwrap();
    for (file, reason) in [("cut.bsm", "damaged"), ("junk.bsm", "not a brainseg model"), ("missing.bsm", "cannot read")] {
        let path = d.join(file);
        let o = brainseg(&["segment", img.to_str().unwrap(), "-o", d.join("o").to_str().unwrap(), "--model", path.to_str().unwrap()]);
        let stderr = text(&o.stderr);
        assert!(!o.status.success());
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.contains(file) && stderr.contains(reason), "{file}: {stderr}");
    }
}

#[test]
fn threshold_and_min_region_override_the_model_files_post_processing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("s.png");
    phantom(64, 64, 4, true).image.save(&input).unwrap();
    let model = tiny_model(dir.path());
    let run = |extra: &[&str]| {
        let out = dir.path().join(format!("out{}", extra.join("_")));
        let mut args = vec!["segment", input.to_str().unwrap(), "--output", out.to_str().unwrap(), "--model", model.to_str().unwrap()];
        args.extend_from_slice(extra);
        let o = brainseg(&args);
        let mask = o.status.success().then(|| image::open(out.join("s_pred.png")).unwrap().into_luma8());
        (o, mask)
    };
    // The untrained tiny model's probabilities sit near 0.5: a threshold near 0 marks everything.
    let (o, all) = run(&["--threshold", "0.001"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(all.unwrap().pixels().all(|p| p.0[0] == 255));
    let (_, none) = run(&["--threshold", "1", "--min-region", "0"]);
    let none = none.unwrap();
    let (_, everything_dropped) = run(&["--threshold", "0.001", "--min-region", "100000"]);
    assert!(everything_dropped.unwrap().pixels().all(|p| p.0[0] == 0), "regions under the minimum are dropped");
    assert!(none.pixels().filter(|p| p.0[0] == 255).count() < 64 * 64);
    for bad in ["1.5", "0"] {
        let (o, _) = run(&["--threshold", bad]);
        assert!(!o.status.success() && text(&o.stderr).contains("--threshold"), "{}", text(&o.stderr));
    }
}

#[test]
fn numbered_slices_of_a_folder_are_one_volume_with_the_3d_step() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("patient");
    std::fs::create_dir_all(&input).unwrap();
    // Out of order on disk, a gap (no slice 4), a duplicate number and a loose image.
    for (name, seed) in [("case_3.png", 3), ("case_1.png", 1), ("case_2.png", 2), ("case_5.png", 5), ("case_05.tif", 6), ("overview.png", 7)] {
        phantom(64, 64, seed, true).image.save(input.join(name)).unwrap();
    }
    let model = tiny_model(dir.path());
    let out = dir.path().join("out");
    let run = |rule: &str| {
        brainseg(&["segment", input.to_str().unwrap(), "-o", out.to_str().unwrap(), "--model", model.to_str().unwrap(), "--3d", rule])
    };
    let o = run("largest");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    let volume = stdout.lines().find(|l| l.contains("numbered slices as one volume")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(volume.contains("case_\t4 numbered slices") && volume.contains("/4 slices"), "{volume}");
    // Every file still gets its mask: the duplicate and the loose image on their own.
    for name in ["case_1", "case_2", "case_3", "case_5", "case_05", "overview"] {
        assert!(out.join(format!("{name}_pred.png")).exists(), "{name}");
    }
    let stderr = text(&o.stderr);
    assert!(stderr.contains("slice number(s) 4 missing"), "{stderr}");
    assert!(stderr.contains("case_5.png: another file has the same slice number"), "{stderr}");
    assert!(run("off").status.success());
    let bad = run("biggest");
    assert!(!bad.status.success() && text(&bad.stderr).contains("is not a 3D rule"), "{}", text(&bad.stderr));
}

#[test]
fn numbered_slices_of_mixed_sizes_stay_one_volume_without_figures() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mixed");
    std::fs::create_dir_all(&input).unwrap();
    for (name, size) in [("s_1.png", 64), ("s_2.png", 48), ("s_3.png", 64)] {
        phantom(size, size, 1, true).image.save(input.join(name)).unwrap();
    }
    let model = tiny_model(dir.path());
    let out = dir.path().join("out");
    let o = brainseg(&["segment", input.to_str().unwrap(), "-o", out.to_str().unwrap(), "--model", model.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // One volume (the page's rule too), each mask at its slice's size, but no common grid for
    // a volume's figures.
    for (name, size) in [("s_1", 64), ("s_2", 48), ("s_3", 64)] {
        let mask = image::open(out.join(format!("{name}_pred.png"))).unwrap();
        assert_eq!((mask.width(), mask.height()), (size, size), "{name}");
    }
    assert!(!text(&o.stdout).contains("numbered slices as one volume"), "{}", text(&o.stdout));
}
