//! `swapnas search` end to end on real NB201 archs: the search never reads accuracies (with
//! the benchmark's table absent it finds the same archs; the report then has no accuracies),
//! and the report looks the found archs up in the table afterwards.

use std::path::{Path, PathBuf};

mod common;
use common::data_dir;

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("swapnas-search-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Runs a small search (nwot fitness, every algorithm) and returns its search.json.
/// `only_dir`: the data directory alone — no embedded table, nothing downloaded.
fn search(data: &Path, out: &Path, only_dir: bool) -> serde_json::Value {
    let mut c = common::swapnas();
    if only_dir {
        c.env("SWAPNAS_NO_EMBEDDED", "1").env("SWAPNAS_OFFLINE", "1");
    }
    let o = c
        .env_remove("SWAPNAS_DATA")
        .args(["search", "--bench", "nb201", "--task", "cifar10", "--fitness", "nwot", "--algo", "all"])
        .args(["--budget", "12", "--runs", "1", "--population", "5", "--seed", "3", "--no-cache", "--jobs", "2"])
        .arg("--data-dir")
        .arg(data)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(&std::fs::read_to_string(out.join("search.json")).unwrap()).unwrap()
}

/// Runs `swapnas search ARGS --data-dir DATA --out OUT`, which must succeed, and returns its
/// search.json.
fn search_json(data: &Path, out: &Path, args: &[&str]) -> serde_json::Value {
    let o = common::swapnas().arg("search").args(args).arg("--data-dir").arg(data).arg("--out").arg(out).output().unwrap();
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(&std::fs::read_to_string(out.join("search.json")).unwrap()).unwrap()
}

fn found(report: &serde_json::Value) -> Vec<(String, String)> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["run"]["algo"].as_str().unwrap().to_string(), r["run"]["arch"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn search_is_blind_to_accuracies() {
    let full = data_dir();
    // A data directory with the CIFAR-10 images and no benchmark table at all.
    let blind = temp_dir("blind-data");
    std::fs::create_dir_all(blind.join("images")).unwrap();
    if full.join("images/cifar-10-batches-bin").is_dir() {
        std::os::unix::fs::symlink(full.join("images/cifar-10-batches-bin"), blind.join("images/cifar-10-batches-bin")).unwrap();
    } else {
        // Without the full data: the repo's first real CIFAR-10 images as data_batch_1.bin.
        let first = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../benchmarks/embedded/cifar-10-first.bin");
        std::fs::create_dir_all(blind.join("images/cifar-10-batches-bin")).unwrap();
        std::fs::copy(first, blind.join("images/cifar-10-batches-bin/data_batch_1.bin")).unwrap();
    }

    let blind_out = temp_dir("blind");
    let without = search(&blind, &blind_out, true);
    let with_out = temp_dir("full");
    let with = search(&full, &with_out, false);
    assert_eq!(found(&without), found(&with), "the table changed what the search found");
    assert_eq!(found(&with).len(), 3);
    // Without the table: no accuracies, said so.
    assert!(without["results"].as_array().unwrap().iter().all(|r| r["accuracies"].as_object().unwrap().is_empty()));
    let md = std::fs::read_to_string(blind_out.join("search.md")).unwrap();
    assert!(md.contains("no accuracies for cifar10 val"), "{md}");
    // With it: every found arch has its accuracy on every task and its rank among 15,625.
    for r in with["results"].as_array().unwrap() {
        let accs = r["accuracies"].as_object().unwrap();
        assert_eq!(accs.len(), 6, "3 tasks × val/test");
        for (k, a) in accs {
            let v = a["value"].as_f64().unwrap();
            assert!(v > 0.0 && v < 100.0, "{k}: {v}");
            assert_eq!(a["of"].as_u64(), Some(15_625));
            assert!(a["rank"].as_u64().unwrap() >= 1);
        }
        assert_eq!(r["run"]["evaluations"].as_u64(), Some(12));
    }
    assert!((with["optimum"]["cifar100 test"].as_f64().unwrap() - 73.513).abs() < 1e-3);
    for f in ["search.md", "runs.csv", "trace.csv", "search.png", "search.svg"] {
        assert!(with_out.join(f).is_file(), "{f} missing");
    }
    let trace = std::fs::read_to_string(with_out.join("trace.csv")).unwrap();
    assert_eq!(trace.lines().count(), 1 + 3 * 12);
}

#[test]
fn bad_search_flags_are_named() {
    let run = |args: &[&str]| {
        let o = common::swapnas().arg("search").args(args).output().unwrap();
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    assert!(run(&["--algo", "annealing"]).contains("unknown --algo `annealing`"));
    assert!(run(&["--fitness", "swap+nope"]).contains("nope"));
    assert!(run(&["--fitness", "nwot", "--target-params", "0.5"]).contains("does not use it"));
    assert!(run(&["--target-params=-1"]).contains("--target-params must be a positive"));
    assert!(run(&["--budget", "0"]).contains("--budget"));
    assert!(run(&["--algo", "robot", "--queries", "0"]).contains("--queries must be at least 1"));
    // A space without a table of queried accuracies cannot run RoBoT, and says so first.
    let no_table = run(&["--bench", "nb101", "--algo", "robot,evolution"]);
    assert!(no_table.contains("declares no table of queried"), "{no_table}");
}

/// RoBoT and HNAS on a small pool: each run spends exactly its queries (distinct archs of the
/// pool), the report counts them and their simulated training seconds beside the proxy
/// seconds and sets the published rows beside; the found arch is the queried one with the
/// best queried accuracy, looked up in the table afterwards.
#[test]
fn robot_and_hnas_spend_their_queries_and_report_the_cost() {
    let Some(full) = common::full_data("RoBoT's hp = 12 query table") else { return };
    let out = temp_dir("budgeted");
    let args =
        ["--bench", "nb201", "--task", "cifar100", "--algo", "robot,hnas", "--pool", "12", "--queries", "5", "--runs", "2"];
    let settings = ["--seed", "1", "--proxy-batch", "8", "--ntk-batch", "8", "--no-cache", "--jobs", "2"];
    let report = search_json(&full, &out, &[&args[..], &settings[..]].concat());
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    for r in results {
        let run = &r["run"];
        assert_eq!(run["queries"].as_u64(), Some(5), "{run}");
        assert_eq!(run["evaluations"].as_u64(), Some(5));
        let train = run["train_seconds"].as_f64().unwrap();
        // 5 archs of 32.5–207.6 s each (the table's range).
        assert!((5.0 * 32.0..=5.0 * 208.0).contains(&train), "{train}");
        let queried = run["fitness"].as_f64().unwrap();
        assert!(queried > 10.0 && queried < 85.0, "a 12-epoch CIFAR-10 accuracy: {queried}");
        assert!(run["scoring_seconds"].as_f64().unwrap() > 0.0);
        assert!(r["accuracies"]["cifar100 test"]["value"].as_f64().unwrap() > 0.0);
    }
    let md = std::fs::read_to_string(out.join("search.md")).unwrap();
    assert!(md.contains("5 queries per run of NAS-Bench-201 CIFAR-10 validation accuracy after 12 epochs"), "{md}");
    assert!(md.contains("pool of 12 archs: a uniform sample of the space"), "{md}");
    assert!(md.contains("*robot published* (RoBoT, ICLR 2024, Table 2)"), "{md}");
    assert!(md.contains("| 73.51 ± 0.00 |"), "{md}");
}

/// MTF-PDNS end to end (one generation): an archive per run, judged by HV and IGD+ against the
/// true front per task, with the Pareto plot.
#[test]
fn pdns_reports_its_archive_against_the_true_front() {
    let out = temp_dir("pdns");
    let args = ["--bench", "nb201", "--task", "cifar10", "--algo", "pdns", "--generations", "1", "--runs", "2"];
    let report = search_json(
        &data_dir(),
        &out,
        &[&args[..], &["--seed", "2", "--proxy-batch", "8", "--no-cache", "--jobs", "2"]].concat(),
    );
    for r in report["results"].as_array().unwrap() {
        assert_eq!(r["run"]["evaluations"].as_u64(), Some(40), "20 + 1 generation of 20");
        assert!(!r["run"]["archive"].as_array().unwrap().is_empty());
    }
    let pareto = report["pareto"].as_array().unwrap();
    assert_eq!(pareto.len(), 3, "one per task");
    for t in pareto {
        let best = t["true_front_hv"].as_f64().unwrap();
        for (hv, igd) in t["hv"].as_array().unwrap().iter().zip(t["igd_plus"].as_array().unwrap()) {
            let (hv, igd) = (hv.as_f64().unwrap(), igd.as_f64().unwrap());
            assert!(hv > 0.0 && hv <= best + 1e-12, "HV {hv} beyond the true front's {best}");
            assert!(igd >= 0.0);
        }
    }
    let md = std::fs::read_to_string(out.join("search.md")).unwrap();
    assert!(md.contains("## MTF-PDNS: the Pareto archive"), "{md}");
    assert!(out.join("pareto.png").is_file() && out.join("pareto.svg").is_file());
}

/// `--cache` pointed at a file that is not a score cache (here a Parquet table a run wrote)
/// ends with exit 2 and a message naming it, and leaves it byte-identical.
#[test]
fn a_cache_flag_on_a_foreign_file_is_refused_and_the_file_kept() {
    let dir = temp_dir("foreign-cache");
    std::fs::create_dir_all(&dir).unwrap();
    let table = dir.join("table.parquet");
    let bytes: Vec<u8> = b"PAR1\x15\x04\x15\x10\n\x00\x1c\nrows\nPAR1".to_vec();
    std::fs::write(&table, &bytes).unwrap();
    for command in [
        &["search", "--fitness", "nwot", "--budget", "4", "--runs", "1", "--population", "2"][..],
        &["ablate", "--archs", "3"][..],
    ] {
        let o = common::swapnas()
            .args(command)
            .arg("--cache")
            .arg(&table)
            .arg("--data-dir")
            .arg(data_dir())
            .arg("--out")
            .arg(dir.join("out"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{command:?}: {stderr}");
        assert!(stderr.contains("is not a swapnas score cache"), "{command:?}: {stderr}");
        assert_eq!(std::fs::read(&table).unwrap(), bytes, "{command:?} modified the file");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// NB101 can be searched: genes → cells, scored, and the found cells looked up in the table by
/// `nasbench`'s cell hash afterwards (the 500-row sample holds few of the 423k cells: the report
/// says how many runs found one in it).
#[test]
fn nb101_search_runs_end_to_end() {
    let out = temp_dir("nb101");
    let args = ["--bench", "nb101", "--fitness", "params", "--algo", "evolution,random", "--budget", "20", "--runs", "2"];
    let report = search_json(&data_dir(), &out, &[&args[..], &["--seed", "0", "--no-cache", "--jobs", "2"]].concat());
    for r in report["results"].as_array().unwrap() {
        assert_eq!(r["run"]["evaluations"].as_u64(), Some(20));
        assert_eq!(r["run"]["arch"].as_str().unwrap().split(", ").count(), 56, "the 56-tuple");
        if let Some(a) = r["accuracies"]["cifar10 val"]["value"].as_f64() {
            assert!(a > 50.0 && a < 96.0, "{a}");
        }
    }
    let md = std::fs::read_to_string(out.join("search.md")).unwrap();
    assert!(md.contains("nb101's table samples the space"), "{md}");
}
