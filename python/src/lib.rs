//! `swapnas._swapnas`: the Python package's native half. Every function takes plain values and
//! returns JSON text that `swapnas/__init__.py` turns into DataFrames, so this file only
//! wires: flags are validated exactly as the CLI validates them (the same `RunArgs`), scoring
//! runs on the same engine and score cache ([`swapnas::commands::run::score_task`]), and every
//! error reaches Python with the CLI's message.

use clap::Parser;
use pyo3::exceptions::{PyKeyboardInterrupt, PyValueError};
use pyo3::prelude::*;
use serde_json::{json, Value};
use swapnas::commands::run::{score_task, RunConfig, ScoredTask};
use swapnas::commands::search::{search_task, SearchConfig};
use swapnas::commands::Cli;

/// The run the flags `argv` describe (as `swapnas ARGV` would), validated.
fn config(argv: &[String]) -> PyResult<RunConfig> {
    let cli = Cli::try_parse_from(std::iter::once("swapnas".to_string()).chain(argv.iter().cloned()))
        .map_err(|e| PyValueError::new_err(e.render().to_string()))?;
    if cli.command.is_some() {
        return Err(PyValueError::new_err("score() takes a run's flags, not a subcommand"));
    }
    RunConfig::resolve(&cli.run).map_err(|e| PyValueError::new_err(format!("{e:#}")))
}

/// A scored task as columns: the arch labels, the space's extra columns, `same_function_as`,
/// the accuracy, each proxy's and ensemble's scores, and the errors.
fn frame(scored: &ScoredTask) -> Value {
    let ScoredTask { loaded, engine, results, accuracies, rows, columns, .. } = scored;
    let mut names: Vec<String> = vec!["arch".into()];
    let mut data: Vec<Value> = vec![json!(loaded.candidates.iter().map(|c| &c.label).collect::<Vec<_>>())];
    for (i, name) in loaded.column_names.iter().enumerate() {
        names.push(name.to_string());
        data.push(json!(loaded.candidates.iter().map(|c| c.columns.get(i)).collect::<Vec<_>>()));
    }
    names.push("same_function_as".into());
    data.push(json!(loaded.candidates.iter().map(|c| engine.scored_as(c)).collect::<Vec<_>>()));
    names.push("accuracy".into());
    data.push(numbers(accuracies));
    for (row, column) in rows.iter().zip(columns) {
        names.push(row.proxy.clone());
        data.push(numbers(column));
    }
    names.push("errors".into());
    data.push(json!(results.iter().map(|r| r.errors.join("; ")).collect::<Vec<_>>()));
    json!({ "columns": names, "data": data, "run": loaded.name, "accuracy": loaded.accuracy_label })
}

/// Floats with NaN and ±inf as JSON strings pandas reads back as floats.
fn numbers(v: &[f64]) -> Value {
    json!(v.iter().map(|&x| if x.is_finite() { json!(x) } else { json!(x.to_string()) }).collect::<Vec<_>>())
}

/// Runs `work` on its own thread while this one watches for Ctrl-C: on KeyboardInterrupt the
/// engine stops as the CLI's Ctrl-C stops it (archs in flight finish and are cached) and the
/// interrupt is raised once the work has wound down.
/// `progress`, if given, is called with (archs done, archs in all) as scoring advances (the
/// terminal bar is then hidden).
fn watched<T: Send + 'static>(
    py: Python<'_>,
    progress: Option<Py<PyAny>>,
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> PyResult<T> {
    swapnas::engine::interrupts_handled_by_caller();
    if progress.is_some() {
        swapnas::engine::progress_shown_by_caller();
    }
    let worker = std::thread::spawn(work);
    let mut interrupted = None;
    let mut shown = None;
    loop {
        let finished = worker.is_finished();
        if let Err(e) = py.check_signals() {
            swapnas::engine::interrupt();
            interrupted.get_or_insert(e);
        }
        if let Some(callback) = &progress {
            let now = swapnas::engine::progress();
            if shown != Some(now) {
                shown = Some(now);
                // A failing callback stops the work like an interrupt, and is raised.
                if let Err(e) = callback.call1(py, now) {
                    swapnas::engine::interrupt();
                    interrupted.get_or_insert(e);
                }
            }
        }
        if finished {
            break;
        }
        py.detach(|| std::thread::sleep(std::time::Duration::from_millis(50)));
    }
    let result = worker.join().map_err(|_| PyValueError::new_err("swapnas panicked"))?;
    match (result, interrupted) {
        (_, Some(e)) if e.is_instance_of::<PyKeyboardInterrupt>(py) => {
            Err(PyKeyboardInterrupt::new_err("interrupted: the scores finished so far are cached; call again to resume"))
        }
        (_, Some(e)) => Err(e),
        (Ok(v), None) => Ok(v),
        (Err(e), None) => Err(PyValueError::new_err(format!("{e:#}"))),
    }
}

/// Scores a task as `swapnas ARGV` would (through its score cache) and returns its columns as
/// JSON; `archs`: exactly these archs instead of `--archs`' sample; `progress(done, total)`
/// is called as archs are scored.
#[pyfunction]
#[pyo3(signature = (argv, archs=None, progress=None))]
fn score(py: Python<'_>, argv: Vec<String>, archs: Option<Vec<String>>, progress: Option<Py<PyAny>>) -> PyResult<String> {
    let config = config(&argv)?;
    watched(py, progress, move || score_task(&config, archs.as_deref()).map(|s| frame(&s).to_string()))
}

/// Searches as `swapnas search ARGV` would; returns `{"out": its output directory, "report":
/// search.md}` as JSON (runs.csv and trace.csv are in the directory).
#[pyfunction]
fn search(py: Python<'_>, argv: Vec<String>) -> PyResult<String> {
    let args = std::iter::once("swapnas".to_string()).chain(std::iter::once("search".to_string())).chain(argv);
    let cli = Cli::try_parse_from(args).map_err(|e| PyValueError::new_err(e.render().to_string()))?;
    let Some(swapnas::commands::Command::Search(args)) = cli.command else {
        return Err(PyValueError::new_err("search() takes the search command's flags"));
    };
    let config = SearchConfig::resolve(&args).map_err(|e| PyValueError::new_err(format!("{e:#}")))?;
    let out = config.out.display().to_string();
    let report = watched(py, None, move || search_task(&config))?;
    Ok(json!({ "out": out, "report": report }).to_string())
}

/// The correlation statistics of each named score column against `accuracy` (the rows of the
/// CLI's table: ρ with its interval and p-value, τ, r, top-10% hit rate, n), as JSON.
#[pyfunction]
fn correlate(names: Vec<String>, columns: Vec<Vec<f64>>, accuracy: Vec<f64>) -> PyResult<String> {
    if names.len() != columns.len() {
        return Err(PyValueError::new_err("one name per score column"));
    }
    let mut rows = Vec::new();
    for (name, column) in names.iter().zip(&columns) {
        if column.len() != accuracy.len() {
            return Err(PyValueError::new_err(format!(
                "column `{name}` has {} values for {} accuracies",
                column.len(),
                accuracy.len()
            )));
        }
        let c = swapnas_reports::correlate(column, &accuracy);
        let mut row = serde_json::to_value(c).map_err(|e| PyValueError::new_err(e.to_string()))?;
        row["proxy"] = json!(name);
        rows.push(row);
    }
    Ok(Value::Array(rows).to_string())
}

/// The registered proxies (name, about, settings flags, whether one network per same-function
/// class serves it) and ensembles, as JSON.
#[pyfunction]
fn proxies() -> String {
    let mut out: Vec<Value> = swapnas_proxies::REGISTRY
        .iter()
        .map(|d| {
            json!({
                "name": d.name,
                "about": d.about,
                "settings": d.settings.iter().map(|s| s.flag()).collect::<Vec<_>>(),
                "function_only": d.function_only,
                "ensemble_of": Value::Null,
            })
        })
        .collect();
    out.extend(
        swapnas_proxies::ENSEMBLES.iter().map(
            |e| json!({ "name": e.name, "about": e.about, "settings": [], "function_only": false, "ensemble_of": e.members }),
        ),
    );
    Value::Array(out).to_string()
}

/// The registered search spaces (name, about, tasks, same-function classes), as JSON.
#[pyfunction]
fn spaces() -> String {
    let out: Vec<Value> = swapnas_benchmarks::spaces::registry()
        .iter()
        .map(|s| {
            json!({
                "name": s.name(),
                "about": s.about(),
                "tasks": s.tasks().iter().map(|t| t.name).collect::<Vec<_>>(),
                "encodings": s.info().encodings,
                "function_classes": s.function_classes(),
            })
        })
        .collect();
    Value::Array(out).to_string()
}

#[pymodule]
fn _swapnas(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(score, m)?)?;
    m.add_function(wrap_pyfunction!(search, m)?)?;
    m.add_function(wrap_pyfunction!(correlate, m)?)?;
    m.add_function(wrap_pyfunction!(proxies, m)?)?;
    m.add_function(wrap_pyfunction!(spaces, m)?)?;
    Ok(())
}
