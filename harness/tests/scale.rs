//! Scale-out: sharded runs as separate processes (through the SLURM array script) merged into
//! the unsharded run's exact results; Parquet read back with pandas; two processes on one
//! output directory; Ctrl-C keeps every finished score and the rerun resumes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::data_dir;

const BIN: &str = env!("CARGO_BIN_EXE_swapnas");
const RUN: &[&str] =
    &["--bench", "nb201", "--task", "cifar10", "--archs", "9", "--seed", "2", "--proxies", "params,nwot,params+nwot"];

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("swapnas-scale-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn ok(o: std::process::Output) -> String {
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn spearman_by_proxy(dir: &Path) -> Vec<(String, f64)> {
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("table.json")).unwrap()).unwrap();
    json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["proxy"].as_str().unwrap().to_string(), r["spearman"].as_f64().unwrap()))
        .collect()
}

#[test]
fn three_shards_merge_into_the_unsharded_run() {
    let data = data_dir();
    let whole = temp_dir("whole");
    ok(common::swapnas().args(RUN).arg("--data-dir").arg(&data).arg("--out").arg(&whole).output().unwrap());

    let slurm = temp_dir("slurm");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/slurm");
    let args = format!("{} --data-dir {}", RUN.join(" "), data.display());
    for k in 1..=3 {
        ok(Command::new("bash")
            .env("SWAPNAS_OFFLINE", "1")
            .arg(script.join("swapnas-array.sbatch"))
            .env("SLURM_ARRAY_TASK_ID", k.to_string())
            .env("SLURM_ARRAY_TASK_COUNT", "3")
            .env("SWAPNAS_ARGS", &args)
            .env("SWAPNAS_BIN", BIN)
            .env("SWAPNAS_OUT", &slurm)
            .output()
            .unwrap());
        let manifest = std::fs::read_to_string(slurm.join(format!("shard-{k}-of-3/shard.json"))).unwrap();
        assert!(manifest.contains("\"archs_in_shard\": 3"), "{manifest}");
    }
    // Merging two of the three stops, naming the missing shard and how many archs lack scores.
    let partial = common::swapnas()
        .args(["merge"])
        .arg(slurm.join("shard-1-of-3"))
        .arg(slurm.join("shard-2-of-3"))
        .arg("--out")
        .arg(temp_dir("partial"))
        .output()
        .unwrap();
    assert!(!partial.status.success());
    let err = String::from_utf8_lossy(&partial.stderr);
    assert!(err.contains("3 of the 9 archs have no cached score") && err.contains("shards 3/3"), "{err}");

    ok(Command::new("bash")
        .env("SWAPNAS_OFFLINE", "1")
        .arg(script.join("swapnas-merge.sbatch"))
        .env("SWAPNAS_BIN", BIN)
        .env("SWAPNAS_OUT", &slurm)
        .output()
        .unwrap());
    let merged = slurm.join("merged");
    assert_eq!(
        std::fs::read_to_string(merged.join("scores.csv")).unwrap(),
        std::fs::read_to_string(whole.join("scores.csv")).unwrap()
    );
    assert_eq!(spearman_by_proxy(&merged), spearman_by_proxy(&whole));
}

#[test]
fn parquet_reads_back_in_pandas_with_the_csv_values() {
    let probe = Command::new("python3").args(["-c", "import pandas, pyarrow"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED parquet_reads_back_in_pandas_with_the_csv_values: python3 cannot import pandas and pyarrow (`python3 -m pip install pandas pyarrow`; .ci/run installs them)"
        );
        return;
    }
    let out = temp_dir("parquet");
    ok(common::swapnas().args(RUN).arg("--data-dir").arg(data_dir()).arg("--out").arg(&out).output().unwrap());
    let script = r#"
import sys, pandas as pd, pyarrow as pa, pyarrow.parquet as pq
schema = pq.read_schema(sys.argv[1] + "/scores.parquet")
assert schema.field("seed").type == pa.uint64() and schema.field("score").type == pa.float64(), schema
assert schema.field("arch").type in (pa.string(), pa.large_string(), pa.string_view()), schema
s = pd.read_parquet(sys.argv[1] + "/scores.parquet")
t = pd.read_parquet(sys.argv[1] + "/table.parquet")
c = pd.read_csv(sys.argv[1] + "/scores.csv")
assert list(s.columns) == ["space", "task", "arch", "proxy", "settings", "seed", "score", "seconds", "accuracy"], list(s.columns)
assert str(s["score"].dtype) == "float64", s.dtypes
assert len(s) == 9 * 3 and set(s["proxy"]) == {"params", "nwot", "params+nwot"}
for proxy in ["params", "nwot", "params+nwot"]:
    got = s[s.proxy == proxy].set_index("arch")["score"]
    want = c.set_index("arch")[proxy]
    assert (got.sort_index() - want.sort_index()).abs().max() < 1e-12, proxy
assert s[s.proxy == "params+nwot"]["seconds"].isna().all() and s[s.proxy == "nwot"]["seconds"].notna().all()
assert list(t["proxy"]) == ["params", "nwot", "params+nwot"] and str(t["spearman"].dtype) == "float64"
print("ok", len(s), "rows")
"#;
    let o = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&out)
        .output()
        .expect("python3 with pandas and pyarrow (.ci/run installs them)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_second_process_on_the_same_output_is_refused_and_ctrl_c_keeps_finished_scores() {
    let out = temp_dir("lock");
    let args = ["--bench", "nb201", "--task", "cifar10", "--archs", "400", "--proxies", "nwot", "--jobs", "1"];
    let first = common::swapnas()
        .args(args)
        .arg("--data-dir")
        .arg(data_dir())
        .arg("--out")
        .arg(&out)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until it holds the lock and has written some scores.
    let cache = out.join("scores.jsonl");
    let lines = || std::fs::read_to_string(&cache).map(|s| s.lines().count()).unwrap_or(0);
    let start = std::time::Instant::now();
    while lines() < 3 {
        assert!(start.elapsed().as_secs() < 120, "the first run wrote no scores");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let second = common::swapnas().args(args).arg("--data-dir").arg(data_dir()).arg("--out").arg(&out).output().unwrap();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("in use by another swapnas process"), "{err}");

    // Ctrl-C: the first stops after the archs in flight, keeps their scores, says how to resume.
    Command::new("kill").args(["-INT", &first.id().to_string()]).status().unwrap();
    let o = first.wait_with_output().unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("interrupted (Ctrl-C)") && err.contains("run the same command again to resume"), "{err}");
    let kept = lines();
    assert!((3..400).contains(&kept), "{kept} scores kept");
    // The cache is whole (no torn line): every kept score is reused by the next run.
    let text = std::fs::read_to_string(&cache).unwrap();
    assert!(text.ends_with('\n'));
}

/// A run whose disk fills (here a file-size limit on the process, `ulimit -f`) keeps every
/// score it wrote, stops with a message naming the cache and what to do, and resumes.
#[cfg(unix)]
#[test]
fn a_full_disk_keeps_finished_scores_and_resumes() {
    let out = temp_dir("full-disk");
    let args = ["--bench", "nb201", "--task", "cifar10", "--archs", "40", "--proxies", "params", "--jobs", "1"];
    // 4 blocks of 512 bytes: the cache takes some scores, then a write fails.
    let o = Command::new("sh")
        .arg("-c")
        .arg("ulimit -f 4 && exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_swapnas"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir())
        .arg("--out")
        .arg(&out)
        .env("SWAPNAS_OFFLINE", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("could not be written") && err.contains("run the same command again to resume"), "{err}");
    let kept = std::fs::read_to_string(out.join("scores.jsonl")).unwrap().lines().count();
    assert!(kept > 0 && kept < 40, "{kept} lines kept");
    // Without the limit: the kept scores are reused, the rest computed.
    let o = common::swapnas().args(args).arg("--data-dir").arg(data_dir()).arg("--out").arg(&out).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success() && err.contains("taken from the cache"), "{err}");
    let from_cache: usize = err
        .lines()
        .find_map(|l| l.strip_prefix("scores: ")?.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no scores line: {err}"));
    assert!(from_cache >= kept - 1, "{from_cache} from the cache, {kept} kept (one torn line at most)");
    let _ = std::fs::remove_dir_all(&out);
}
