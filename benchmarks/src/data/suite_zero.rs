//! NAS-Bench-Suite-Zero's per-arch reference scores (`zc_<benchmark>.json`): the scores its
//! proxies produced, arch by arch, against which ours are checked.

use crate::data::data_dir::DataFile;
use crate::DataDir;
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// An architecture of a search space and its accuracy (percent).
#[derive(Debug, Clone, PartialEq)]
pub struct ArchRecord<A> {
    pub arch: A,
    pub accuracy: f64,
}

/// One architecture's row: its arch string, validation accuracy and proxy scores.
#[derive(Debug, Clone, PartialEq)]
pub struct ZcEntry {
    pub arch: String,
    pub val_accuracy: f64,
    /// Proxy name → score (NaN where the file holds none or a non-number).
    pub scores: BTreeMap<String, f64>,
}

/// One row of a Suite-Zero "zen" benchmark zip (`zen/benchmark--<space>--<task>--<start>.json`,
/// each a JSON list of `{idx, arch, zen: {score}, val_accuracy}`): every arch of a space with
/// its validation metric per task.
#[derive(Debug, Clone, PartialEq)]
pub struct ZenRow {
    /// The task named in the entry's file name.
    pub task: String,
    pub arch: String,
    pub val_accuracy: f64,
    pub zen: f64,
}

#[derive(serde::Deserialize)]
struct RawZenRow {
    arch: String,
    zen: RawScore,
    val_accuracy: f64,
}

#[derive(serde::Deserialize)]
struct RawScore {
    score: f64,
}

/// The rows of a Suite-Zero zen zip: every task's, or with `only` one task's (the other
/// entries are not decompressed). Every entry must name one of `tasks` (an entry of another
/// task is an error naming it).
pub fn read_zen_zip(path: &Path, tasks: &[&str], only: Option<&str>) -> Result<Vec<ZenRow>> {
    use std::io::Read;
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut zip = zip::ZipArchive::new(file).context("not a readable zip archive")?;
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).context("corrupt zip entry")?;
        let name = entry.name().to_string();
        if !name.ends_with(".json") {
            continue;
        }
        let task = tasks
            .iter()
            .find(|t| name.contains(&format!("--{t}--")))
            .with_context(|| format!("entry `{name}` names none of the tasks {}", tasks.join(", ")))?;
        if only.is_some_and(|o| o != *task) {
            continue;
        }
        let mut text = String::new();
        entry.read_to_string(&mut text).with_context(|| format!("cannot decompress `{name}`"))?;
        let rows: Vec<RawZenRow> =
            serde_json::from_str(&text).with_context(|| format!("entry `{name}` is not a JSON list of rows"))?;
        out.extend(rows.into_iter().map(|r| ZenRow {
            task: task.to_string(),
            arch: r.arch,
            val_accuracy: r.val_accuracy,
            zen: r.zen.score,
        }));
    }
    Ok(out)
}

/// All rows of one task, in file order.
#[derive(Debug, Clone)]
pub struct ZcTable {
    pub task: String,
    pub entries: Vec<ZcEntry>,
}

impl ZcTable {
    /// Loads task `task` (e.g. `cifar10`) of a Suite-Zero zc file from the data directory.
    pub fn load(dir: &DataDir, file: &DataFile, task: &str) -> Result<Self> {
        let path = dir.require(file)?;
        Self::load_file(&path, task)
    }

    /// Task `task` of a zc file as parsed archs with their `val_accuracy`, in the table's order
    /// (sorted by arch string: serde_json sorts object keys); a bad arch string names the file.
    pub fn load_records<A>(dir: &DataDir, file: &DataFile, task: &str) -> Result<Vec<ArchRecord<A>>>
    where
        A: std::str::FromStr<Err = anyhow::Error>,
    {
        Self::load(dir, file, task)?
            .entries
            .iter()
            .map(|e| {
                Ok(ArchRecord {
                    arch: e.arch.parse::<A>().with_context(|| format!("in {}", file.rel_path))?,
                    accuracy: e.val_accuracy,
                })
            })
            .collect()
    }

    pub fn load_file(path: &Path, task: &str) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let root: Value = serde_json::from_str(&python_json_to_strict(&text))
            .with_context(|| format!("{} is not valid JSON (truncated download?)", path.display()))?;
        let rows = find_task(&root, task)
            .with_context(|| format!("{} has no task `{task}` (it has: {})", path.display(), task_names(&root).join(", ")))?;
        let Value::Object(rows) = rows else {
            bail!("{}: task `{task}` is not an object of arch rows", path.display());
        };
        let mut entries = Vec::with_capacity(rows.len());
        for (key, row) in rows {
            let Value::Object(fields) = row else {
                bail!("{}: row `{key}` is not an object", path.display());
            };
            let val_accuracy = fields.get("val_accuracy").and_then(Value::as_f64).unwrap_or(f64::NAN);
            let scores = fields
                .iter()
                .filter_map(|(name, v)| {
                    // `{"score": …, "time": …}`, or (NB101's file) the bare number.
                    let score = match v {
                        Value::Number(_) if name != "val_accuracy" => v,
                        Value::String(w) if matches!(w.as_str(), "NaN" | "Infinity" | "-Infinity") => v,
                        _ => v.get("score")?,
                    };
                    Some((name.clone(), json_number(score)))
                })
                .collect();
            let arch = fields.get("arch").and_then(Value::as_str).unwrap_or(key).to_string();
            entries.push(ZcEntry { arch, val_accuracy, scores });
        }
        Ok(Self { task: task.to_string(), entries })
    }
}

/// Python's `json` writes `NaN`, `Infinity` and `-Infinity` as bare words, which strict JSON
/// parsers reject. This quotes them (outside strings), and [`json_number`] reads them back.
pub fn python_json_to_strict(text: &str) -> std::borrow::Cow<'_, str> {
    if !(text.contains("NaN") || text.contains("Infinity")) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 64);
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if let Some(word) = ["-Infinity", "Infinity", "NaN"].into_iter().find(|w| rest.starts_with(w)) {
            out.push('"');
            out.push_str(word);
            out.push('"');
            rest = &rest[word.len()..];
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    std::borrow::Cow::Owned(out)
}

/// A JSON score: a number, or one of Python's quoted non-finite words; NaN otherwise.
pub fn json_number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) => match s.as_str() {
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            _ => f64::NAN,
        },
        _ => f64::NAN,
    }
}

/// The task's rows, at the top level (`{task: …}`) or one level down (`{bench: {task: …}}`).
fn find_task<'a>(root: &'a Value, task: &str) -> Option<&'a Value> {
    root.get(task).or_else(|| root.as_object()?.values().find_map(|v| v.get(task)))
}

fn task_names(root: &Value) -> Vec<String> {
    let Some(obj) = root.as_object() else { return vec![] };
    obj.iter()
        .flat_map(|(k, v)| match v.as_object() {
            Some(inner) if inner.values().all(|r| r.get("val_accuracy").is_none()) => {
                inner.keys().map(|i| format!("{k}/{i}")).collect()
            }
            _ => vec![k.clone()],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_number_scores_are_read() {
        let path = std::env::temp_dir().join(format!("swapnas-zc-flat-{}.json", std::process::id()));
        std::fs::write(
            &path,
            r#"{"nasbench101": {"cifar10": {"(0, 1)": {"params": 1.5, "synflow": NaN, "val_accuracy": 90.0}}}}"#,
        )
        .unwrap();
        let t = ZcTable::load_file(&path, "cifar10").unwrap();
        std::fs::remove_file(&path).ok();
        let e = &t.entries[0];
        assert_eq!((e.arch.as_str(), e.val_accuracy, e.scores["params"]), ("(0, 1)", 90.0, 1.5));
        assert!(e.scores["synflow"].is_nan());
        assert!(!e.scores.contains_key("val_accuracy"));
    }

    #[test]
    fn python_non_finite_words_are_read() {
        let text = r#"{"a": {"score": -Infinity}, "b": [NaN, Infinity, "NaN \" Infinity"]}"#;
        let v: Value = serde_json::from_str(&python_json_to_strict(text)).unwrap();
        assert_eq!(json_number(&v["a"]["score"]), f64::NEG_INFINITY);
        assert!(json_number(&v["b"][0]).is_nan());
        assert_eq!(json_number(&v["b"][1]), f64::INFINITY);
        assert_eq!(v["b"][2], Value::String("NaN \" Infinity".into()));
    }
}
