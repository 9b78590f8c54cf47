//! `swapnas ablate` on a few real NB201 archs: the cells are what they claim (R=1 is the first
//! repeat of the baseline, a prior cell is the baseline's SWAP times its factor, a shrunk input
//! changes SWAP), scores of a plain run are reused, an input size the network cannot take is
//! reported, and a rerun computes nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::data_dir;

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("swapnas-ablate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn ok(o: std::process::Output) -> (String, String) {
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "stderr: {err}");
    (String::from_utf8_lossy(&o.stdout).to_string(), err)
}

/// A cell's scores.csv: arch → column → value.
fn cell(dir: &Path, name: &str) -> HashMap<String, HashMap<String, f64>> {
    let text = std::fs::read_to_string(dir.join("cells").join(name).join("scores.csv")).unwrap();
    let mut lines = text.lines().skip(1);
    let header: Vec<String> = lines.next().unwrap().split(',').map(str::to_string).collect();
    lines
        .map(|l| {
            let (arch, rest) = l.split_once(',').unwrap();
            let values = rest.split(',').zip(&header[1..]).map(|(v, h)| (h.clone(), v.parse::<f64>().unwrap())).collect();
            (arch.to_string(), values)
        })
        .collect()
}

#[test]
fn ablation_cells_are_what_they_claim_and_reuse_scores() {
    let Some(_full) = common::full_data("the test images and the NB201 reference run") else { return };
    let data = data_dir();
    let plain = temp_dir("plain");
    // A plain run with R = 1 first: the ablation's R=1 cell must take its scores from this cache.
    let common = ["--bench", "nb201", "--task", "cifar10", "--archs", "6", "--seed", "3"];
    ok(common::swapnas()
        .args(common)
        .args(["--proxies", "ap,swap,reg_swap", "--repeats", "1", "--data-dir"])
        .arg(&data)
        .arg("--out")
        .arg(&plain)
        .output()
        .unwrap());
    let out = temp_dir("out");
    let ablate = || {
        Command::new("/usr/bin/env")
            .env("RUST_BACKTRACE", "0")
            .env("SWAPNAS_OFFLINE", "1")
            .arg(env!("CARGO_BIN_EXE_swapnas"))
            .arg("ablate")
            .args(common)
            .args(["--repeats", "2", "--grid", "repeats=1", "--grid-input", "test"])
            .args(["--grid-size", "3,15", "--grid-shrink", "crop", "--grid-prior", "largest,1,1500K", "--data-dir"])
            .arg(&data)
            .arg("--out")
            .arg(&out)
            .arg("--cache")
            .arg(plain.join("scores.jsonl"))
            .output()
            .unwrap()
    };
    let (stdout, stderr) = ok(ablate());
    let r1_line = stderr.lines().find(|l| l.contains(" repeats=1 ")).unwrap_or_default();
    assert!(r1_line.contains("0 of 6 archs to score"), "R=1 reuses the plain run's scores: {stderr}");
    assert!(stdout.contains("## ρ against val accuracy") && stdout.contains("## ρ against test accuracy"), "{stdout}");
    // 15×15: NB201's reduction block cannot take odd sizes (as the official network cannot).
    assert!(stdout.contains("Cells that could not be scored") && stdout.contains("15×15 crop"), "{stdout}");

    let base = cell(&out, "00-baseline");
    let r1 = cell(&out, "01-repeats");
    let plain_csv = std::fs::read_to_string(plain.join("scores.csv")).unwrap();
    assert_eq!(base.len(), 6);
    for (arch, b) in &base {
        // The plain count is at most B; SWAP at least 1.
        assert!(b["ap"] >= 1.0 && b["ap"] <= 16.0 && b["swap"] >= 1.0, "{arch}: {b:?}");
        // R=1 is the plain run's score (same cache key), and repeat 0 of the baseline's two.
        let r1_swap = r1[arch]["swap"];
        assert!(plain_csv.lines().any(|l| l.starts_with(&format!("{arch},")) && l.contains(&format!(",{r1_swap},"))));
        // reg-SWAP, prior μ = σ = 1M: the baseline's SWAP times exp(−(Θ − 1)²/1).
        let prior = cell(&out, "06-prior");
        let expected = b["swap"] * (-(b["params_m"] - 1.0).powi(2)).exp();
        assert!((prior[arch]["reg_swap"] - expected).abs() <= 1e-9 * expected.abs().max(1.0), "{arch}");
        // The official unit (Θ in K, μ = σ = 1500) leaves nothing of a 0.1–1.5M network.
        assert!(cell(&out, "07-prior")[arch]["reg_swap"] < 1e-6 * b["swap"]);
    }
    // A 3×3 crop sees far fewer neurons: SWAP drops.
    let small = cell(&out, "03-size");
    assert!(base.iter().all(|(a, b)| small[a]["swap"] < b["swap"]));
    // The test images give other scores than the training images.
    let test = cell(&out, "02-input");
    assert!(base.iter().any(|(a, b)| test[a]["swap"] != b["swap"]));

    // A rerun computes nothing and writes the same table (but for the timing column).
    let table = || -> Vec<String> {
        let csv = std::fs::read_to_string(out.join("ablation.csv")).unwrap();
        csv.lines().map(|l| l.rsplit_once(',').unwrap().0.to_string()).collect()
    };
    let csv = table();
    let (_, stderr) = ok(ablate());
    let to_score: Vec<&str> = stderr.lines().filter(|l| l.contains("archs to score")).collect();
    assert!(to_score.iter().all(|l| l.contains(" 0 of ") || l.contains("15×15")), "{stderr}");
    assert_eq!(table(), csv);
    for d in [plain, out] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// `--heavy-archs N` runs the heavy cells on the archs `--archs N` draws with the same seed (a
/// uniform subset of the sample, from the same seeded permutation), not on the sample's first
/// archs in table order (NB201's table order puts structurally alike archs together).
#[test]
fn heavy_cells_run_on_the_archs_that_archs_n_draws() {
    let data = data_dir();
    let run = temp_dir("heavy-run");
    ok(common::swapnas()
        .args(["--bench", "nb201", "--task", "cifar10", "--archs", "3", "--seed", "5", "--proxies", "params", "--no-cache"])
        .arg("--data-dir")
        .arg(&data)
        .arg("--out")
        .arg(&run)
        .output()
        .unwrap());
    let text = std::fs::read_to_string(run.join("scores.csv")).unwrap();
    let mut drawn: Vec<String> = text.lines().skip(1).map(|l| l.split(',').next().unwrap().to_string()).collect();
    drawn.sort();
    let out = temp_dir("heavy");
    let (_, err) = ok(common::swapnas()
        .args(["ablate", "--bench", "nb201", "--task", "cifar10", "--archs", "8", "--seed", "5", "--heavy-archs", "3"])
        .args(["--proxies", "swap", "--repeats", "1", "--grid", "batch=64"])
        .args(["--grid-input", "", "--grid-size", "", "--grid-prior", ""])
        .arg("--data-dir")
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .arg("--cache")
        .arg(out.join("scores.jsonl"))
        .output()
        .unwrap());
    assert!(err.contains("HEAVY: on 3 of the archs"), "{err}");
    let mut heavy: Vec<String> = cell(&out, "01-batch").into_keys().collect();
    heavy.sort();
    assert_eq!(heavy, drawn, "the heavy cell's archs are the ones --archs 3 draws");
    assert_eq!(cell(&out, "00-baseline").len(), 8);
    let _ = std::fs::remove_dir_all(run);
    let _ = std::fs::remove_dir_all(out);
}
