//! The `swapnas` binary end to end, on the real data.

use std::path::PathBuf;
use std::process::Command;

mod common;
use common::data_dir;

fn swapnas() -> Command {
    let mut c = common::swapnas();
    c.env_remove("SWAPNAS_DATA");
    c
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("swapnas-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn runs_a_small_real_sample_and_writes_every_output() {
    let out = temp_dir("run");
    let o = swapnas()
        .args(["--bench", "nb201", "--task", "cifar100", "--archs", "6", "--repeats", "2", "--seed", "5"])
        .arg("--data-dir")
        .arg(data_dir())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("| swap |") && stdout.contains("| reg_swap |"), "{stdout}");
    assert!(stdout.contains("6, uniform sample without replacement, seed 5"), "{stdout}");
    for f in ["table.md", "table.csv", "table.json", "scores.csv", "scatter.png"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let scores = std::fs::read_to_string(out.join("scores.csv")).unwrap();
    let rows: Vec<&str> = scores.lines().skip(1).collect();
    assert_eq!(rows.len(), 6);
    // Every arch got finite, positive SWAP scores, bounded by 2^16 patterns for B = 16.
    for row in rows {
        let fields: Vec<&str> = row.rsplitn(4, ',').collect();
        let swap: f64 = fields[2].parse().unwrap();
        assert!(swap > 0.0 && swap <= 65536.0, "{row}");
    }
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("table.json")).unwrap()).unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), 2);
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn user_errors_exit_2_with_a_clear_message() {
    let data = data_dir();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--task", "mnist"], "unknown task `mnist` for --bench nb201"),
        (vec!["--bench", "nb999"], "invalid value 'nb999' for '--bench"),
        (vec!["--set", "swap1000"], "--set applies to spaces with several tables, and --bench nb201 has one"),
        (vec!["--bench", "nb301", "--set", "bogus"], "unknown --set `bogus` for --bench nb301; its sets: suitezero, swap1000"),
        (
            vec!["--bench", "nb301", "--accuracy", "test"],
            "--accuracy test is not available for --bench nb301 --task cifar10; it has: val",
        ),
        (vec!["--bench", "nb101", "--task", "cifar100"], "unknown task `cifar100` for --bench nb101"),
        // A flag the subcommand does not use is not one of its flags.
        (vec!["check", "--set", "swap1000"], "unexpected argument '--set'"),
        (vec!["check", "--accuracy", "test"], "unexpected argument '--accuracy'"),
        (vec!["bench", "--input", "first"], "unexpected argument '--input'"),
        (vec!["bench", "--no-cache"], "unexpected argument '--no-cache'"),
        (vec!["--proxies", "swap,bogus"], "unknown proxy `bogus`"),
        // The proxies' own settings: flags generated from their declarations, validated by them.
        (vec!["--reg-sigma", "0"], "invalid value '0' for '--reg-sigma <M>': must be positive"),
        (vec!["--batch", "0"], "invalid value '0' for '--batch <B>': must be between 1 and 128"),
        (vec!["--repeats", "0"], "invalid value '0' for '--repeats <R>': must be at least 1"),
        (vec!["--lswag-layers", "90-40"], "'--lswag-layers <LO-HI>': LO-HI in percent of depth"),
        (vec!["--device", "tpu"], "unknown --device `tpu`"),
        (vec!["--jobs", "lots"], "invalid value 'lots' for '--jobs"),
    ];
    for (args, expected) in cases {
        let o = swapnas()
            .args(&args)
            .arg("--archs")
            .arg("1")
            .arg("--data-dir")
            .arg(&data)
            .arg("--out")
            .arg(temp_dir("err"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    // A data directory without the files a run needs (NB101's table is not embedded), offline:
    // names the missing file, its source and its destination.
    let empty = temp_dir("empty-data");
    std::fs::create_dir_all(&empty).unwrap();
    let o = swapnas().args(["--bench", "nb101"]).arg("--data-dir").arg(&empty).env("SWAPNAS_OFFLINE", "1").output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("zc_nasbench101.json") && stderr.contains("get it from") && stderr.contains("put it at"), "{stderr}");
    // NB201 on an empty data directory runs on the embedded subset, and says so.
    let o = swapnas()
        .args(["--archs", "3", "--proxies", "params"])
        .arg("--data-dir")
        .arg(&empty)
        .arg("--out")
        .arg(empty.join("run"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && stderr.contains("embedded data"), "{stderr}");
    // A --data-dir that does not exist is an error naming it.
    let o = swapnas().arg("--data-dir").arg(empty.join("typo")).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr.contains("typo") && stderr.contains("does not exist"), "{stderr}");
    // No data directory at all: the user cache (here under $XDG_CACHE_HOME) and the embedded data.
    let o = swapnas()
        .args(["--archs", "3", "--proxies", "params", "--out"])
        .arg(empty.join("out"))
        .current_dir(&empty)
        .env("XDG_CACHE_HOME", empty.join("cache"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && stderr.contains("user cache"), "{stderr}");
    std::fs::remove_dir_all(empty).unwrap();
}

#[test]
fn help_explains_every_flag() {
    let o = swapnas().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    for flag in [
        "--bench",
        "--task",
        "--archs",
        "--proxies",
        "--repeats",
        "--batch",
        "--seed",
        "--reg-mu",
        "--reg-sigma",
        "--accuracy",
        "--out",
        "--data-dir",
        "--jobs",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}

/// A run killed with SIGKILL mid-way resumes from the score cache: scores computed before the
/// kill are reused as they were, the rest are computed, and a third run computes nothing.
#[test]
fn killed_run_resumes_from_the_cache_and_a_rerun_does_no_work() {
    let out = temp_dir("resume");
    let args = |c: &mut Command| {
        c.args(["--task", "cifar10", "--archs", "8", "--repeats", "4", "--jobs", "1", "--proxies", "swap", "--seed", "9"])
            .arg("--data-dir")
            .arg(data_dir())
            .arg("--out")
            .arg(&out);
    };
    let mut first = swapnas();
    args(&mut first);
    let mut child = first.stderr(std::process::Stdio::null()).stdout(std::process::Stdio::null()).spawn().unwrap();
    let cache = out.join("scores.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        let lines = std::fs::read_to_string(&cache).map(|s| s.lines().count()).unwrap_or(0);
        if lines >= 2 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no scores were cached within 5 minutes");
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = std::fs::read_to_string(&cache).unwrap();
    let cached_before = before.lines().count();
    assert!(cached_before < 8, "the kill came after the run finished");

    let mut second = swapnas();
    args(&mut second);
    let o = second.output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("scores: {cached_before} of 8 taken from the cache")), "{stderr}");
    // The scores from before the kill were kept byte for byte; the rest were appended.
    let after = std::fs::read_to_string(&cache).unwrap();
    assert!(after.starts_with(&before));
    assert_eq!(after.lines().count(), 8);

    let mut third = swapnas();
    args(&mut third);
    let o = third.output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("scores: 8 of 8 taken from the cache"), "{stderr}");
    assert!(stderr.contains(", 0 computed"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&cache).unwrap(), after, "a rerun adds nothing");
    std::fs::remove_dir_all(out).unwrap();
}

/// `swapnas reproduce --quick --bench nb201`: every proxy on every NB201 task, the summary
/// table, the heatmap and the report; a second run takes every score from the caches.
#[test]
fn reproduce_quick_writes_the_report_and_resumes() {
    let Some(_full) = common::full_data("every space's tables") else { return };
    let out = temp_dir("paper");
    let run = || {
        swapnas()
            .args(["reproduce", "--quick", "--bench", "nb201"])
            .arg("--data-dir")
            .arg(data_dir())
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
    };
    let o = run();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    for f in ["REPORT.md", "table.md", "table.csv", "table.json", "table.tex", "heatmap.png", "heatmap.svg"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    for task in ["cifar10", "cifar100", "ImageNet16-120"] {
        assert!(out.join(format!("nb201-{task}/table.md")).is_file());
    }
    let report = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(report.contains("| nb201-cifar100 | reg_swap |") && report.contains("0.90"), "{report}");
    assert!(report.contains("--quick"), "{report}");
    let o = run();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success());
    assert_eq!(stderr.matches(", 0 computed").count(), 3, "{stderr}");
    std::fs::remove_dir_all(out).unwrap();
}

/// The libtorch backend (the `tch` feature) on the CPU gives the same SWAP scores as the
/// default flex backend for the same seed: weights come from the same host RNG stream, so
/// only float rounding near zero can flip a pattern bit (tolerance: 0.5% of the score).
#[cfg(feature = "tch")]
#[test]
fn libtorch_cpu_scores_match_flex() {
    let run = |device: &str| {
        let out = temp_dir(&format!("dev-{device}"));
        let o = swapnas()
            .args(["--task", "cifar10", "--archs", "4", "--repeats", "2", "--proxies", "swap", "--no-cache", "--device", device])
            .arg("--data-dir")
            .arg(data_dir())
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{device}: {}", String::from_utf8_lossy(&o.stderr));
        let csv = std::fs::read_to_string(out.join("scores.csv")).unwrap();
        let scores: Vec<f64> = csv.lines().skip(1).map(|l| l.rsplitn(3, ',').nth(1).unwrap().parse().unwrap()).collect();
        std::fs::remove_dir_all(out).unwrap();
        scores
    };
    let flex = run("cpu");
    let tch = run("tch-cpu");
    assert_eq!(flex.len(), 4);
    for (a, b) in flex.iter().zip(&tch) {
        assert!((a - b).abs() <= 0.005 * a, "flex {a} vs libtorch {b}");
    }
}

/// `check --draws 2` against Suite-Zero: params is deterministic (agrees with the reference
/// and with itself exactly); grad_norm's two draws differ but rank alike; the per-draw
/// scores land in scores.csv.
#[test]
fn check_with_two_draws_reports_the_noise_ceiling() {
    let Some(_full) = common::full_data("Suite-Zero's reference scores") else { return };
    let out = temp_dir("check");
    let o = swapnas()
        .args([
            "check",
            "--task",
            "cifar10",
            "--proxies",
            "params,grad_norm",
            "--archs",
            "8",
            "--draws",
            "2",
            "--jobs",
            "1",
            "--proxy-batch",
            "8",
        ])
        .arg("--data-dir")
        .arg(data_dir())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("ρ(ours, ours′) over 2 draws"), "{stdout}");
    let row = |name: &str| -> Vec<String> {
        let line = stdout.lines().find(|l| l.starts_with(&format!("| {name} |"))).unwrap_or_else(|| panic!("{stdout}"));
        line.split('|').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect()
    };
    let params = row("params");
    // proxy, n, agreement, ρ ours, ρ ref, Δ, non-finite, s/arch, met, self-agreement, …
    assert_eq!(params[2], "1.000", "{params:?}");
    assert_eq!(params[9], "1.000", "{params:?}");
    assert_eq!(params[10], "1.000 ± 0.000", "{params:?}");
    let grad_norm = row("grad_norm");
    let self_agreement: f64 = grad_norm[9].parse().unwrap();
    assert!(self_agreement > 0.5 && self_agreement <= 1.0, "{grad_norm:?}");
    let csv = std::fs::read_to_string(out.join("scores.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert_eq!(header, "arch,val_accuracy,params,params_ref,params_draw1,grad_norm,grad_norm_ref,grad_norm_draw1");
    // grad_norm's draws differ (another init), params' do not.
    let rows: Vec<Vec<f64>> = csv.lines().skip(1).map(|l| l.rsplit(',').take(6).map(|v| v.parse().unwrap()).collect()).collect();
    assert!(rows.iter().all(|r| r[3] == r[5]), "params differ between draws");
    assert!(rows.iter().any(|r| r[0] != r[2]), "grad_norm draws are identical");
    let o = swapnas().args(["check", "--draws", "0"]).arg("--data-dir").arg(data_dir()).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--draws must be at least 1"));
    std::fs::remove_dir_all(out).unwrap();
}

/// `--input random-augmented`: each arch gets its own seeded, augmented batch (the header says
/// so, the run is reproducible, and jacov's scores change while params' do not); asking for
/// more images than the data directory holds is a user error.
#[test]
fn random_augmented_input_is_per_arch_and_reproducible() {
    let Some(_full) = common::full_data("the full CIFAR-10 training images") else { return };
    let run = |input: &str, out: &PathBuf| {
        let o = swapnas()
            .args([
                "--task",
                "cifar10",
                "--archs",
                "3",
                "--proxies",
                "params,jacov",
                "--proxy-batch",
                "8",
                "--jobs",
                "1",
                "--no-cache",
                "--input",
                input,
            ])
            .arg("--data-dir")
            .arg(data_dir())
            .arg("--out")
            .arg(out)
            .output()
            .unwrap();
        assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
        let scores = std::fs::read_to_string(out.join("scores.csv")).unwrap();
        (String::from_utf8_lossy(&o.stdout).into_owned(), scores)
    };
    let (a, b, c) = (temp_dir("aug-a"), temp_dir("aug-b"), temp_dir("aug-first"));
    let (stdout, aug1) = run("random-augmented", &a);
    assert!(stdout.contains("random crop from 4-px black padding + horizontal flip"), "{stdout}");
    let (_, aug2) = run("random-augmented", &b);
    assert_eq!(aug1, aug2, "the same seed must give the same batches");
    let (_, first) = run("first", &c);
    let column = |csv: &str, k: usize| -> Vec<String> {
        csv.lines().skip(1).map(|l| l.split(',').rev().nth(k).unwrap().to_string()).collect()
    };
    // Last columns: …, params, jacov, errors.
    assert_eq!(column(&aug1, 2), column(&first, 2), "params does not depend on the images");
    assert_ne!(column(&aug1, 1), column(&first, 1), "jacov saw the same images");
    let o = swapnas()
        .args([
            "--task",
            "ImageNet16-120",
            "--archs",
            "1",
            "--proxies",
            "jacov",
            "--proxy-batch",
            "200",
            "--input",
            "random-augmented",
        ])
        .arg("--data-dir")
        .arg(data_dir())
        .arg("--out")
        .arg(temp_dir("aug-err"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("draws 200 images per arch") && err.contains("only 120 training images"), "{err}");
    for d in [a, b, c] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

/// TransNAS-Bench-101 through the whole pipeline: the jigsaw puzzle input, a dense decoder
/// with its synthetic targets, a proxy that needs image classes reported as n/a, and the
/// reports' stand-in notes.
#[test]
fn tnb101_runs_dense_and_jigsaw_tasks_and_marks_what_is_not_applicable() {
    let Some(_full) = common::full_data("the TransNAS-Bench-101 tables") else { return };
    for (space, task, expect_na) in [("tnb101-micro", "segmentsemantic", true), ("tnb101-macro", "jigsaw", false)] {
        let out = temp_dir(&format!("tnb-{task}"));
        let o = swapnas()
            .args([
                "--bench",
                space,
                "--task",
                task,
                "--archs",
                "2",
                "--proxies",
                "params,grad_norm,epe_nas",
                "--proxy-batch",
                "2",
            ])
            .args(["--jobs", "1", "--no-cache"])
            .arg("--data-dir")
            .arg(data_dir())
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{space} {task}: {stderr}");
        let table = std::fs::read_to_string(out.join("table.md")).unwrap();
        assert!(table.contains("STAND-IN") && table.contains("targets"), "{table}");
        assert_eq!(table.contains("| epe_nas | n/a |"), expect_na, "{table}");
        let scores = std::fs::read_to_string(out.join("scores.csv")).unwrap();
        let rows: Vec<&str> = scores.lines().skip(1).collect();
        assert_eq!(rows.len(), 2, "{scores}");
        // grad_norm is finite on both archs (its loss and targets exist for the task).
        for row in rows {
            assert!(row.ends_with(','), "an arch failed: {row}");
        }
        std::fs::remove_dir_all(out).unwrap();
    }
}

/// `--task all` scores every task of the space, each in its own folder under `--out`.
#[test]
fn task_all_runs_every_task_of_the_space() {
    let Some(_full) = common::full_data("the TransNAS-Bench-101 tables") else { return };
    let out = temp_dir("task-all");
    let o = swapnas()
        .args(["--bench", "nb201", "--task", "all", "--archs", "2", "--proxies", "params", "--jobs", "1"])
        .arg("--data-dir")
        .arg(data_dir())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for task in ["cifar10", "cifar100", "ImageNet16-120"] {
        let table = std::fs::read_to_string(out.join(task).join("table.md")).unwrap();
        assert!(table.contains(&format!("nb201-{task}")), "{table}");
    }
    std::fs::remove_dir_all(out).unwrap();
}

/// `bench` times SWAP on burn's ops and on the native kernels on the same archs, and says how
/// their scores and speeds compare; `--kernels burn` scores through the reference path.
#[test]
fn bench_compares_both_kernel_paths() {
    let out = temp_dir("bench");
    let o = swapnas()
        .args(["bench", "--archs", "2", "--repeats", "2", "--proxies", "swap", "--jobs", "1"])
        .arg("--data-dir")
        .arg(data_dir())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("bench.json")).unwrap()).unwrap();
    let profiles = report["swap_profiles"].as_array().unwrap();
    let kernels: Vec<&str> = profiles.iter().map(|p| p["kernels"].as_str().unwrap()).collect();
    assert_eq!(kernels, ["burn", "native"]);
    for p in profiles {
        assert_eq!(p["forward_passes"], 4, "2 archs × 2 repeats");
        assert!(p["archs_per_second"].as_f64().unwrap() > 0.0);
        let efficiency = p["efficiency"].as_f64().unwrap();
        assert!(efficiency > 0.0 && efficiency < 2.0, "efficiency {efficiency}");
        assert_eq!(p["scores"].as_array().unwrap().len(), 2);
    }
    // The two paths' scores agree up to float rounding; the report's swap_scores are the
    // native path's, for scripts/swap_reference.py.
    let difference = report["swap_max_relative_difference"].as_f64().unwrap();
    assert!(difference < 1e-3, "{difference}");
    assert_eq!(report["swap_scores"], profiles[1]["scores"]);
    assert!(report["swap_speedup"].as_f64().unwrap() > 0.0);
    let md = std::fs::read_to_string(out.join("bench.md")).unwrap();
    assert!(md.contains("| burn |") && md.contains("| native |") && md.contains("Native ÷ burn"), "{md}");

    // A run on the reference path gives the native path's scores up to rounding, for every
    // proxy whose forward passes the native kernels run.
    let proxies = ["swap", "nwot", "zen", "meco"];
    let run = |kernels: &str| {
        let dir = temp_dir(&format!("kernels-{kernels}"));
        let o = swapnas()
            .args(["--archs", "2", "--repeats", "2", "--no-cache", "--kernels", kernels, "--proxies"])
            .arg(proxies.join(","))
            .arg("--data-dir")
            .arg(data_dir())
            .arg("--out")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "{kernels}: {}", String::from_utf8_lossy(&o.stderr));
        let csv = std::fs::read_to_string(dir.join("scores.csv")).unwrap();
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        // The tuple column is quoted and holds commas: count columns from the end.
        let value = |line: &str, name: &str| -> f64 {
            let from_end = header.len() - header.iter().position(|h| *h == name).unwrap();
            line.split(',').rev().nth(from_end - 1).unwrap().parse().unwrap()
        };
        csv.lines().skip(1).map(|l| proxies.map(|p| value(l, p))).collect::<Vec<_>>()
    };
    let (native, burn) = (run("native"), run("burn"));
    assert_eq!(native.len(), 2);
    for (a, b) in native.iter().zip(&burn) {
        for (p, (x, y)) in proxies.iter().zip(a.iter().zip(b)) {
            assert!(x.is_finite() && (x - y).abs() <= 1e-4 * y.abs().max(1.0), "{p}: native {x} vs burn {y}");
        }
    }
}

/// The tests' swapnas is offline whether or not the full data is present (set per command, not
/// on the test process): a run that lacks a table says nothing is downloaded instead of
/// reaching the network.
#[test]
fn test_commands_never_reach_the_network() {
    let empty = temp_dir("offline");
    std::fs::create_dir_all(&empty).unwrap();
    let o = swapnas()
        .env("SWAPNAS_NO_EMBEDDED", "1")
        .args(["--bench", "nb201", "--archs", "2", "--proxies", "params", "--no-cache", "--data-dir"])
        .arg(&empty)
        .arg("--out")
        .arg(empty.join("out"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("SWAPNAS_OFFLINE is set, so nothing is downloaded"), "{err}");
    let _ = std::fs::remove_dir_all(empty);
}

/// `swapnas data` works on the directory runs use: without --data-dir, $SWAPNAS_DATA or
/// ./data, that is the user cache (it used to be ./data, so `data verify` after a run
/// reported everything missing from a directory the run never used).
#[test]
fn data_commands_default_to_the_runs_data_directory() {
    let home = temp_dir("data-default");
    std::fs::create_dir_all(&home).unwrap();
    let o = swapnas()
        .env("HOME", &home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .current_dir(&home)
        .args(["data", "verify", "--bench", "nb201"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let cache = home.join("cache").join("swapnas");
    assert!(err.contains(&format!("in {}", cache.display())), "verify checks the user cache {}: {err}", cache.display());
    let _ = std::fs::remove_dir_all(home);
}

/// `--few-shot K,…`: per K and learner (greedy, GP, and on NB201, which declares graph
/// features, the GP on them too) a row of ρ and τ on the unlabelled archs (mean ± sd over the
/// draws) beside the run's ensembles on the same archs, in few_shot.md / .csv; a K that leaves
/// nothing to predict says so; a K below 3 or an unknown learner is a usage error naming the
/// flag, and `gp_graph` on a space without graph features an error naming the space.
#[test]
fn few_shot_reports_rho_on_the_unlabelled_archs() {
    let out = temp_dir("few-shot");
    let o = swapnas()
        .args(["--bench", "nb201", "--task", "cifar10", "--archs", "30", "--proxies", "params,flops,synflow,params+synflow"])
        .args(["--few-shot", "10,30", "--few-shot-seeds", "3", "--jobs", "1", "--no-cache"])
        .arg("--data-dir")
        .arg(data_dir())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(out.join("few_shot.md")).unwrap();
    assert!(md.contains("30 archs") && md.contains("3 draws") && md.contains("params+synflow ρ, same archs"), "{md}");
    for learner in ["greedy", "gp", "gp_graph"] {
        assert!(md.contains(&format!("| 10 | {learner} | 0.")) || md.contains(&format!("| 10 | {learner} | -0.")), "{md}");
        assert!(md.contains(&format!("| 30 | {learner} | — (needs 3 ≤ K < 30)")), "{md}");
    }
    assert!(md.contains("all members; median ℓ"), "the GP rows give their fits: {md}");
    assert!(md.contains("all members and 9 graph features; median ℓ"), "{md}");
    assert!(md.contains("graph features (9, no label read): edges_none,") && md.contains("open_path_edges_min."), "{md}");
    let csv = std::fs::read_to_string(out.join("few_shot.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 3, "one row per learner for K = 10: {csv}");
    assert_eq!(&rows[0][..4], ["10", "greedy", "3", "20"], "{csv}");
    assert_eq!(&rows[1][..4], ["10", "gp", "3", "20"], "{csv}");
    assert_eq!(&rows[2][..4], ["10", "gp_graph", "3", "20"], "{csv}");
    let o = swapnas().args(["--bench", "nb201", "--few-shot", "2"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--few-shot"));
    let o = swapnas().args(["--bench", "nb201", "--few-shot", "10", "--few-shot-learners", "gp,forest"]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--few-shot-learners")
            && err.contains("`forest` is not a few-shot learner")
            && err.contains("greedy, gp, gp_graph"),
        "{err}"
    );
    let o = swapnas()
        .args(["--bench", "nasbench-nlp", "--few-shot", "10", "--few-shot-learners", "greedy,gp_graph"])
        .arg("--data-dir")
        .arg(data_dir())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--few-shot-learners gp_graph: --bench nasbench-nlp declares no graph features")
            && err.contains("greedy or gp"),
        "{err}"
    );
    std::fs::remove_dir_all(out).unwrap();
}

/// A field-wise split of one scores.csv line (quoted fields may hold commas).
fn csv_fields(line: &str) -> Vec<String> {
    let (mut fields, mut field, mut quoted) = (Vec::new(), String::new(), false);
    for ch in line.chars() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            _ => field.push(ch),
        }
    }
    fields.push(field);
    fields
}

/// Each distinct computation scored once: on a real NB201 sample, a deduplicated run scores
/// jacov (function-only) on one network per same-function class and nwot (module-dependent)
/// on every arch's own; its table matches the `--no-dedup` run's — nwot exactly, jacov within
/// the re-initialisation noise of the archs scored by another member of their class — and a
/// member's own jacov tracks its representative's.
#[test]
fn a_deduplicated_run_matches_the_undeduplicated_one() {
    let run = |dedup: bool, name: &str| {
        let out = temp_dir(name);
        let mut c = swapnas();
        c.args(["--bench", "nb201", "--task", "cifar10", "--proxies", "jacov,nwot", "--archs", "48", "--seed", "5"])
            .arg("--data-dir")
            .arg(data_dir())
            .arg("--out")
            .arg(&out);
        if !dedup {
            c.arg("--no-dedup");
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
        let table: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("table.json")).unwrap()).unwrap();
        let csv = std::fs::read_to_string(out.join("scores.csv")).unwrap();
        std::fs::remove_dir_all(&out).unwrap();
        (String::from_utf8_lossy(&o.stderr).into_owned(), table, csv)
    };
    let (stderr, dedup, dedup_csv) = run(true, "dedup");
    let (_, plain, plain_csv) = run(false, "no-dedup");
    let header = dedup["header"].to_string();
    assert!(header.contains("5044 same-function classes") && header.contains("jacov scored one network per class"), "{header}");
    let classes: usize = header.split("these 48 archs fall into ").nth(1).unwrap().split(';').next().unwrap().parse().unwrap();
    assert!(classes < 48, "{header}");
    assert!(stderr.contains(&format!("{} from same-function archs scored in this run", 48 - classes)), "{stderr}");
    let rho = |t: &serde_json::Value, proxy: &str| {
        t["rows"].as_array().unwrap().iter().find(|r| r["proxy"] == proxy).unwrap()["spearman"].as_f64().unwrap()
    };
    assert_eq!(rho(&dedup, "nwot"), rho(&plain, "nwot"));
    assert!((rho(&dedup, "jacov") - rho(&plain, "jacov")).abs() <= 0.03, "{} vs {}", rho(&dedup, "jacov"), rho(&plain, "jacov"));
    // Per arch: the deduplicated run's jacov is its class's (one value per class), the
    // undeduplicated run's its own network's.
    let rows = |csv: &str| -> Vec<Vec<String>> { csv.lines().skip(1).map(csv_fields).collect() };
    let columns = csv_fields(dedup_csv.lines().next().unwrap());
    let col = |name: &str| columns.iter().position(|c| c == name).unwrap();
    let (rep, jacov, nwot) = (col("same_function_as"), col("jacov"), col("nwot"));
    let (d, p) = (rows(&dedup_csv), rows(&plain_csv));
    let mut per_class: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    let (mut members, mut own, mut class) = (0, Vec::new(), Vec::new());
    for (a, b) in d.iter().zip(&p) {
        assert_eq!((&a[0], &a[nwot]), (&b[0], &b[nwot]));
        let representative = if a[rep].is_empty() { a[0].as_str() } else { a[rep].as_str() };
        assert_eq!(*per_class.entry(representative).or_insert(&a[jacov]), a[jacov], "one jacov per class");
        if !a[rep].is_empty() {
            members += 1;
            let (x, y): (f64, f64) = (a[jacov].parse().unwrap(), b[jacov].parse().unwrap());
            // (A cell computing zero is NaN whichever network scores it.)
            if x.is_finite() && y.is_finite() {
                assert_ne!(x, y, "{}: the undeduplicated run scored its own network", a[0]);
                class.push(x);
                own.push(y);
            }
        } else {
            assert_eq!(a[jacov], b[jacov], "{}: its own class's representative", a[0]);
        }
    }
    assert!(members >= 10 && own.len() >= 10, "{members} members");
    let ranks = |v: &[f64]| -> Vec<f64> { (0..v.len()).map(|i| v.iter().filter(|&&x| x < v[i]).count() as f64).collect() };
    let (rx, ry) = (ranks(&class), ranks(&own));
    let n = rx.len() as f64;
    let d2: f64 = rx.iter().zip(&ry).map(|(a, b)| (a - b).powi(2)).sum();
    let spearman = 1.0 - 6.0 * d2 / (n * (n * n - 1.0));
    assert!(spearman >= 0.8, "member's own jacov vs its class's: ρ = {spearman}");
}
