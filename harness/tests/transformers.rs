//! The language spaces end to end: FlexiBERT archs scored on token sequences — SWAP counts
//! the FFNs' GELU patterns, proxies defined on images only are "n/a" with the reason, and
//! image-only input flags are refused with a message; NAS-Bench-NLP's recurrent cells scored
//! on word streams with hidden covariance, which is "n/a" where networks are not recurrent.

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
    bench("flexibert", data, out, args)
}

/// `swapnas --bench BENCH ARGS --no-cache --data-dir DATA --out OUT`.
fn bench(name: &str, data: &Path, out: &Path, args: &[&str]) -> Output {
    swapnas().args(["--bench", name, "--no-cache"]).args(args).arg("--data-dir").arg(data).arg("--out").arg(out).output().unwrap()
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
    for swap in score_column(&out, "swap") {
        assert!(swap > 100.0 && swap <= 256.0, "{swap}");
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

/// A run's `scores.csv`: its header and rows (NAS-Bench-NLP's labels hold commas, quoted).
fn scores_csv(out: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(out.join("scores.csv")).unwrap();
    let header = reader.headers().unwrap().iter().map(str::to_string).collect();
    let rows = reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect();
    (header, rows)
}

/// A column of `scores.csv` as numbers.
fn score_column(out: &Path, proxy: &str) -> Vec<f64> {
    let (header, rows) = scores_csv(out);
    let col = header.iter().position(|h| h == proxy).unwrap_or_else(|| panic!("no {proxy} column: {header:?}"));
    rows.iter().map(|row| row[col].parse().unwrap()).collect()
}

#[test]
fn nasbench_nlp_scores_word_streams_with_hidden_covariance() {
    let Some(data) = common::full_data("the NAS-Bench-NLP logs and WikiText-2") else { return };
    let out = std::env::temp_dir().join(format!("swapnas-nbnlp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let args = [
        "--archs",
        "3",
        "--proxies",
        "hidden_cov,swap,params,snip",
        "--batch",
        "8",
        "--repeats",
        "1",
        "--hidden-cov-batch",
        "10",
    ];
    let o = bench("nasbench-nlp", &data, &out, &args);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("sequences of WikiText-2 test split") && stdout.contains("10 (hidden_cov)"), "{stdout}");
    assert!(stdout.contains("word ids are first-occurrence ranks in the test split"), "{stdout}");
    assert!(stdout.contains("| snip | n/a |") && stdout.contains("task wikitext2 feeds token ids"), "{stdout}");
    // Layer 1 has 600 units: −Σ[ln(λ+k) + 1/(λ+k)] over 600 eigenvalues summing to 600 is at
    // most −600·(ln(1+k) + 1/(1+k)) ≈ −600 (all λ = 1); NaN only for a constant unit.
    for s in score_column(&out, "hidden_cov") {
        assert!(s.is_nan() || s < -599.9, "hidden_cov {s}");
    }
    // The parameter counts are the logs' (15–28 million).
    assert!(score_column(&out, "params").iter().all(|p| (15.0..28.2).contains(p)));
    // SWAP: 8 samples give at most 2^8 distinct sign vectors.
    assert!(score_column(&out, "swap").iter().all(|s| (1.0..=256.0).contains(s)));
    // A cell trained twice is two rows with one label: scored once, both rows get its score.
    let o = bench("nasbench-nlp", &data, &out, &["--archs", "60", "--proxies", "params"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && stderr.contains("repeated rows of one arch (2 rows) scored in this run, 58 computed"),
        "{stderr}"
    );
    let (header, rows) = scores_csv(&out);
    let params = header.iter().position(|h| h == "params").unwrap();
    let mut by_label: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    for row in rows {
        by_label.entry(row[0].clone()).or_default().push(row[params].clone());
    }
    let repeated: Vec<&Vec<String>> = by_label.values().filter(|v| v.len() > 1).collect();
    assert_eq!(repeated.len(), 2);
    assert!(repeated.iter().all(|v| v.iter().all(|p| p == &v[0])), "{repeated:?}");
    // More sequences than the 50 streams: a message, no panic.
    let o = bench("nasbench-nlp", &data, &out, &["--archs", "1", "--proxies", "swap", "--batch", "64"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && stderr.contains("gives only 50 sequences, 64 were asked for"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // hidden_cov where networks are not recurrent: n/a with the reason.
    let o = bench("nb201", &data, &out, &["--archs", "2", "--proxies", "hidden_cov,params"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("| hidden_cov | n/a |") && stdout.contains("task cifar10's networks are not recurrent"), "{stdout}");
    std::fs::remove_dir_all(out).unwrap();
}
