//! `brainseg evaluate` and `brainseg train` on synthetic datasets, including resume.

mod common;

use common::{brainseg, synthetic_dataset, text, tiny_model};

#[test]
fn evaluate_prints_json_metrics_and_reports_unpaired_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    synthetic_dataset(&data, 2, 4, 32, "png");
    // An image without a mask and a mask without an image.
    let case = data.join("SYN_00_20000101");
    std::fs::copy(case.join("SYN_00_20000101_1.png"), case.join("SYN_00_20000101_9.png")).unwrap();
    std::fs::copy(case.join("SYN_00_20000101_1_mask.png"), case.join("SYN_00_20000101_8_mask.png")).unwrap();
    let model = tiny_model(dir.path());
    let o = brainseg(&["evaluate", "--data", data.to_str().unwrap(), "--model", model.to_str().unwrap(), "--json"]);
    let stderr = text(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(v["patients"], 2);
    assert_eq!(v["slices"], 8);
    for key in ["dice", "iou", "precision", "recall", "patient_dice_mean", "patient_dice_median", "slice_sensitivity", "slice_specificity"] {
        let x = v[key].as_f64().unwrap_or_else(|| panic!("{key} missing"));
        assert!((0.0..=1.0).contains(&x), "{key} = {x}");
    }
    assert!(stderr.contains("_9.png: image without a mask"), "{stderr}");
    assert!(stderr.contains("_8_mask.png: mask without an image"), "{stderr}");
    assert!(v.get("per_patient").is_none(), "only asked for with --per-patient");

    // Per patient: the rows add up to the summary's counts.
    let (d, m) = (data.to_str().unwrap(), model.to_str().unwrap());
    let o = brainseg(&["evaluate", "--data", d, "--model", m, "--json", "--per-patient"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    let rows = v["per_patient"].as_array().expect("per_patient rows");
    assert_eq!(rows.len(), 2);
    let sum = |key: &str| rows.iter().map(|r| r[key].as_u64().unwrap()).sum::<u64>();
    assert_eq!(sum("slices"), 8);
    assert_eq!(sum("tumor_slices"), v["tumor_slices"].as_u64().unwrap());
    assert!(rows.iter().all(|r| r["patient"].as_str().unwrap().starts_with("SYN_0")));
    let o = brainseg(&["evaluate", "--data", d, "--model", m, "--per-patient"]);
    let table = text(&o.stdout);
    assert!(table.contains("missed") && table.contains("SYN_00_20000101") && table.contains("SYN_01_"), "{table}");
}

#[test]
fn a_folder_without_pairs_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("data/ONLY_MASKS");
    std::fs::create_dir_all(&case).unwrap();
    image::GrayImage::new(8, 8).save(case.join("ONLY_MASKS_1_mask.png")).unwrap();
    let model = tiny_model(dir.path());
    let o = brainseg(&["evaluate", "--data", dir.path().join("data").to_str().unwrap(), "--model", model.to_str().unwrap()]);
    let stderr = text(&o.stderr);
    assert!(!o.status.success());
    assert!(stderr.contains("mask without an image") && stderr.contains("no patient folders"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn train_args<'a>(data: &'a str, run: &'a str) -> Vec<&'a str> {
    vec![
        "train", "--data", data, "--run-dir", run, "--base-channels", "8", "--depth", "2",
        "--input-size", "32", "--epochs", "2", "--batch-size", "4", "--checkpoint-every", "1",
        "--warmup-steps", "2", "--val-fraction", "0.25", "--full-precision",
    ]
}

/// Replaces the value after `flag` in `args`.
fn set<'a>(args: &mut [&'a str], flag: &str, value: &'a str) {
    let at = args.iter().position(|a| *a == flag).unwrap() + 1;
    args[at] = value;
}

fn metrics(run: &std::path::Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(run.join("metrics.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn interrupted_training_resumes_with_no_lost_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    synthetic_dataset(&data, 4, 6, 32, "webp");
    let (d, straight, broken) = (data.to_str().unwrap(), dir.path().join("straight"), dir.path().join("broken"));

    let o = brainseg(&train_args(d, straight.to_str().unwrap()));
    assert!(o.status.success(), "{}", text(&o.stderr));

    // 18 training slices: 9 with tumor + 5 of 9 empty = 14 per epoch = 4 steps of 4. Killed
    // after 6 steps (mid-epoch 2), then resumed.
    let mut args = train_args(d, broken.to_str().unwrap());
    args.extend(["--stop-after-steps", "6"]);
    assert!(brainseg(&args).status.success());
    assert_eq!(metrics(&broken).len(), 1, "one epoch finished before the interruption");
    let again = brainseg(&train_args(d, broken.to_str().unwrap()));
    assert!(!again.status.success(), "re-running into a used folder without --resume must refuse");
    assert!(text(&again.stderr).contains("--resume"));
    let mut args = train_args(d, broken.to_str().unwrap());
    args.push("--resume");
    let o = brainseg(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));

    let (a, b) = (metrics(&straight), metrics(&broken));
    assert_eq!(a.len(), 2);
    assert_eq!(b.len(), 2, "each epoch exactly once");
    for (ra, rb) in a.iter().zip(&b) {
        assert_eq!(ra[0], rb[0]);
        let (la, lb): (f64, f64) = (ra[1].parse().unwrap(), rb[1].parse().unwrap());
        assert!((la - lb).abs() <= 1e-3 * la.abs().max(1.0), "train loss {la} vs {lb}");
    }
    for run in [&straight, &broken] {
        assert!(run.join("model.bsm").exists() && run.join("split.json").exists());
    }
    let o = brainseg(&["info", "--model", broken.join("model.bsm").to_str().unwrap()]);
    assert!(text(&o.stdout).contains("\"input_size\": 32"));

    // A later run can start from the exported model (what a new session does with the
    // committed model); another architecture is refused.
    let model = straight.join("model.bsm");
    let warm = dir.path().join("warm");
    let mut args = train_args(d, warm.to_str().unwrap());
    args.extend(["--init-from", model.to_str().unwrap()]);
    let o = brainseg(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // Fine-tuning at another input size is the same architecture (the U-Net is fully
    // convolutional): how a low-resolution model is carried to full resolution.
    let larger = dir.path().join("larger");
    let mut args = train_args(d, larger.to_str().unwrap());
    set(&mut args, "--input-size", "64");
    args.extend(["--init-from", model.to_str().unwrap()]);
    let o = brainseg(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = brainseg(&["info", "--model", larger.join("model.bsm").to_str().unwrap()]);
    assert!(text(&o.stdout).contains("\"input_size\": 64"), "{}", text(&o.stdout));
    // Twice the width starts from the narrow model's function (widen.rs); other widths are
    // another architecture.
    let wider = dir.path().join("wider");
    let mut args = train_args(d, wider.to_str().unwrap());
    set(&mut args, "--base-channels", "16");
    args.extend(["--init-from", model.to_str().unwrap()]);
    let o = brainseg(&args);
    assert!(o.status.success() && text(&o.stderr).contains("widening"), "{}", text(&o.stderr));
    let o = brainseg(&["info", "--model", wider.join("model.bsm").to_str().unwrap()]);
    assert!(text(&o.stdout).contains("\"base_channels\": 16"), "{}", text(&o.stdout));
    let other = dir.path().join("other");
    let mut args = train_args(d, other.to_str().unwrap());
    set(&mut args, "--base-channels", "24");
    args.extend(["--init-from", model.to_str().unwrap()]);
    let o = brainseg(&args);
    assert!(!o.status.success() && text(&o.stderr).contains("another architecture"), "{}", text(&o.stderr));
}

#[test]
fn a_deadline_stops_training_cleanly_and_resume_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    synthetic_dataset(&data, 4, 6, 32, "webp");
    let (d, run) = (data.to_str().unwrap(), dir.path().join("run"));
    // A deadline already passed: one step, then a clean stop with a checkpoint and last.bsm.
    let mut args = train_args(d, run.to_str().unwrap());
    args.extend(["--max-minutes", "0"]);
    let o = brainseg(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("--max-minutes"), "{}", text(&o.stderr));
    assert!(run.join("last.bsm").exists(), "the current weights are written");
    assert!(!run.join("metrics.csv").exists(), "no epoch finished");
    let o = brainseg(&["info", "--model", run.join("last.bsm").to_str().unwrap()]);
    assert!(o.status.success() && text(&o.stdout).contains("not validated"), "{}", text(&o.stdout));
    let mut args = train_args(d, run.to_str().unwrap());
    args.push("--resume");
    let o = brainseg(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(metrics(&run).len(), 2, "both epochs once");
}

#[test]
fn a_run_with_a_weight_average_resumes_with_the_same_average() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    synthetic_dataset(&data, 4, 6, 32, "webp");
    let (d, straight, broken) = (data.to_str().unwrap(), dir.path().join("straight"), dir.path().join("broken"));
    let ema_args = |run: &std::path::Path| {
        let mut args: Vec<String> = train_args(d, run.to_str().unwrap()).into_iter().map(String::from).collect();
        args.extend(["--ema-decay".into(), "0.9".into()]);
        args
    };
    let run = |args: &[String]| brainseg(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let o = run(&ema_args(&straight));
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("latest (not averaged) weights"), "{}", text(&o.stderr));
    assert!(straight.join("checkpoint/ema.bpk").exists());

    let mut args = ema_args(&broken);
    args.extend(["--stop-after-steps".into(), "6".into()]);
    assert!(run(&args).status.success());
    // --resume reads the saved recipe (the average included) and the saved average.
    let mut args: Vec<String> = train_args(d, broken.to_str().unwrap()).into_iter().map(String::from).collect();
    args.push("--resume".into());
    let o = run(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let (a, b) = (metrics(&straight), metrics(&broken));
    assert_eq!((a.len(), b.len()), (2, 2));
    for (ra, rb) in a.iter().zip(&b) {
        // Validation Dice scores the averaged weights: equal only if the average was restored.
        let (da, db): (f64, f64) = (ra[2].parse().unwrap(), rb[2].parse().unwrap());
        assert!((da - db).abs() <= 1e-3, "validation Dice {da} vs {db}");
    }
    let bad = brainseg(&["train", "--data", d, "--run-dir", dir.path().join("bad").to_str().unwrap(), "--ema-decay", "1.5"]);
    assert!(!bad.status.success() && text(&bad.stderr).contains("not a decay"), "{}", text(&bad.stderr));
}

#[test]
fn kept_epochs_average_into_a_model_that_evaluates() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    synthetic_dataset(&data, 4, 6, 32, "webp");
    let (d, run) = (data.to_str().unwrap(), dir.path().join("run"));
    let mut args = train_args(d, run.to_str().unwrap());
    args.extend(["--keep-epochs", "--ema-decay", "0.9"]);
    let o = brainseg(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let epochs = run.join("epochs");
    let kept: Vec<_> = ["epoch-01.bsm", "epoch-01-latest.bsm", "epoch-02.bsm", "epoch-02-latest.bsm"]
        .iter()
        .map(|n| epochs.join(n))
        .collect();
    for path in &kept {
        assert!(path.exists(), "{} missing", path.display());
    }
    let mean = dir.path().join("mean.bsm");
    let mut args: Vec<&str> = vec!["average"];
    args.extend(kept.iter().map(|p| p.to_str().unwrap()));
    args.extend(["-o", mean.to_str().unwrap()]);
    let o = brainseg(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = brainseg(&["info", "--model", mean.to_str().unwrap()]);
    assert!(o.status.success() && text(&o.stdout).contains("average of 4 models"), "{}", text(&o.stdout));
    let o = brainseg(&["evaluate", "--data", d, "--model", mean.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // One file, or files of another architecture, are refused with a message.
    let o = brainseg(&["average", kept[0].to_str().unwrap(), "-o", mean.to_str().unwrap()]);
    assert!(!o.status.success(), "a single model is not averaged");
    let other = tiny_model(dir.path());
    let o = brainseg(&["average", kept[0].to_str().unwrap(), other.to_str().unwrap(), "-o", mean.to_str().unwrap()]);
    assert!(!o.status.success() && text(&o.stderr).contains("another architecture"), "{}", text(&o.stderr));
}

#[test]
fn folds_split_the_patients_and_a_missing_fold_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    synthetic_dataset(&data, 4, 4, 32, "png");
    let d = data.to_str().unwrap();
    let mut validated: Vec<String> = Vec::new();
    for fold in ["0", "1"] {
        let run = dir.path().join(format!("fold{fold}"));
        let mut args = train_args(d, run.to_str().unwrap());
        set(&mut args, "--epochs", "1");
        args.extend(["--folds", "2", "--fold", fold, "--sampling", "area"]);
        let o = brainseg(&args);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let split: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("split.json")).unwrap()).unwrap();
        assert_eq!(split["fold"]["count"], 2);
        let (train, val) = (split["train"].as_array().unwrap(), split["validation"].as_array().unwrap());
        assert_eq!((train.len(), val.len()), (2, 2));
        validated.extend(val.iter().map(|v| v.as_str().unwrap().to_string()));
    }
    validated.sort();
    validated.dedup();
    assert_eq!(validated.len(), 4, "each patient is validated in exactly one fold");

    // The two folds scored as one: each fold's patients by its own model, pooled, then per fold.
    let path = |fold: &str, file: &str| dir.path().join(fold).join(file).to_str().unwrap().to_string();
    let (s0, m0, s1, m1) = (path("fold0", "split.json"), path("fold0", "model.bsm"), path("fold1", "split.json"), path("fold1", "model.bsm"));
    let pairs = ["--split", &s0, "--model", &m0, "--split", &s1, "--model", &m1];
    let o = brainseg(&[&["evaluate", "--data", d, "--json"][..], &pairs].concat());
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    let folds = v["folds"].as_array().expect("one summary per fold");
    assert_eq!((v["patients"].as_u64(), folds.len()), (Some(4), 2));
    assert_eq!(folds.iter().map(|f| f["slices"].as_u64().unwrap()).sum::<u64>(), v["slices"].as_u64().unwrap());
    let tuned = dir.path().join("tuned.bsm");
    let o = brainseg(&[&["tune", "--data", d, "--no-tta", "--output", tuned.to_str().unwrap()][..], &pairs].concat());
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("across 2 folds") && tuned.exists(), "{}", text(&o.stdout));
    // A fold given twice would score its patients twice; unpaired files are ambiguous.
    let o = brainseg(&["evaluate", "--data", d, "--split", &s0, "--model", &m0, "--split", &s0, "--model", &m1]);
    assert!(!o.status.success() && text(&o.stderr).contains("a validation patient of both"), "{}", text(&o.stderr));
    let o = brainseg(&["evaluate", "--data", d, "--split", &s0, "--split", &s1, "--model", &m0]);
    assert!(!o.status.success() && text(&o.stderr).contains("2 split file(s) and 1 model(s)"), "{}", text(&o.stderr));
    let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("fold0/config.json")).unwrap()).unwrap();
    assert!((config["flair_fill"].as_f64().unwrap() - 0.2).abs() < 1e-6, "the default FLAIR fill is recorded");
    let o = brainseg(&["train", "--data", d, "--run-dir", dir.path().join("bad").to_str().unwrap(), "--flair-fill", "1.5"]);
    assert!(!o.status.success() && text(&o.stderr).contains("1.5 is not a chance"), "{}", text(&o.stderr));
    let o = brainseg(&["evaluate", "--data", d, "--model", &m0, "--threshold", "0"]);
    assert!(!o.status.success() && text(&o.stderr).contains("--threshold 0 must be above 0"), "{}", text(&o.stderr));
    let o = brainseg(&["train", "--data", d, "--run-dir", dir.path().join("bad").to_str().unwrap(), "--folds", "2", "--fold", "2"]);
    assert!(!o.status.success() && text(&o.stderr).contains("there is no fold 2 of 2"), "{}", text(&o.stderr));
}
