//! A transformer space end to end: FlexiBERT archs scored on token sequences — SWAP counts
//! the FFNs' GELU patterns, proxies defined on images only are "n/a" with the reason, and
//! image-only input flags are refused with a message.

use std::path::Path;
use std::process::{Command, Output};

mod common;

fn swapnas() -> Command {
    let mut c = common::swapnas();
    c.env_remove("SWAPNAS_DATA");
    c
}

/// `swapnas --bench flexibert ARGS --no-cache --data-dir DATA --out OUT`.
fn flexibert(data: &Path, out: &Path, args: &[&str]) -> Output {
    swapnas()
        .args(["--bench", "flexibert", "--no-cache"])
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn flexibert_scores_token_sequences_and_names_what_is_not_defined_there() {
    let Some(data) = common::full_data("the FlexiBERT benchmark and WikiText-2") else { return };
    let out = std::env::temp_dir().join(format!("swapnas-flexibert-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let o = flexibert(&data, &out, &["--archs", "4", "--proxies", "swap,params,jacov", "--batch", "8", "--repeats", "1"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("sequences of WikiText-2 test text (STAND-IN"), "{stdout}");
    assert!(stdout.contains("STAND-IN text: 128-token WordPiece sequences"), "{stdout}");
    assert!(stdout.contains("| jacov | n/a |") && stdout.contains("task glue feeds token ids"), "{stdout}");
    // SWAP: 8 samples give at most 2^8 distinct sign vectors, and the GELUs show many.
    let scores = std::fs::read_to_string(out.join("scores.csv")).unwrap();
    let header: Vec<&str> = scores.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "swap").unwrap();
    for row in scores.lines().skip(1) {
        let swap: f64 = row.split(',').nth(col).unwrap().parse().unwrap();
        assert!(swap > 100.0 && swap <= 256.0, "{row}");
    }
    for (flags, message) in [
        (vec!["--input-size", "8"], "--input-size crops or resizes images; task glue feeds token sequences"),
        (vec!["--input", "random-augmented"], "--input random-augmented crops and flips images; task glue feeds token sequences"),
    ] {
        let o = flexibert(&data, &out, &[&["--archs", "1", "--proxies", "params"][..], &flags[..]].concat());
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && stderr.contains(message), "{flags:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    std::fs::remove_dir_all(out).unwrap();
}
