//! The design rules, checked on the sources:
//! * within each crate, modules import each other without a cycle (`crate::m` references
//!   between the files of `src/`, a module's submodules counting as the module);
//! * crates depend one way: harness → proxies → benchmarks; reports on none of them;
//! * the harness names no search space and no proxy: none of the registries' names appears
//!   as a string literal in its code (comments and tests aside);
//! * the harness names no proxy setting: none of the settings the registered proxies declare
//!   appears as a string literal, as its flag (`--name`) or, for the names no other word
//!   shares (those with `_`), as a field (`.name`); its flags are generated from the
//!   declarations;
//! * the engine reads no flag: its shared layer (`engine`, `cache`, `device`) never references
//!   `cli`; the flags reach it as typed specs through `spec`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without its `#[cfg(test)]` module.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => &text,
    };
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// The top-level module a file of `src/` belongs to (`spaces/nb201/net.rs` → `spaces`);
/// `None` for the crate root.
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.trim_end_matches(".rs").to_string();
    (!matches!(name.as_str(), "lib" | "main")).then_some(name)
}

/// Every Rust file under `dir` with its code (see [`code`]).
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    rust_files(dir, &mut files);
    files.into_iter().map(|f| (f.clone(), code(&f))).collect()
}

/// Module → modules it references through `crate::`.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| top_module(src, f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = modules.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    for f in &files {
        let Some(from) = top_module(src, f) else { continue };
        let code = code(f);
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            // `use crate::{a, b::c}` names several.
            let names: Vec<String> = if rest.starts_with('{') {
                let end = rest.find('}').unwrap_or(rest.len());
                rest[1..end].split(',').map(|p| p.trim().split("::").next().unwrap_or("").to_string()).collect()
            } else {
                vec![name]
            };
            for to in names {
                if modules.contains(&to) && to != from {
                    graph.get_mut(&from).unwrap().insert(to);
                }
            }
        }
    }
    graph
}

/// A cycle of the graph, if it has one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in &graph[node] {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let start = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(next, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(node, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn no_module_imports_another_in_a_cycle() {
    for krate in ["harness", "proxies", "benchmarks", "reports"] {
        let graph = module_graph(&root().join(krate).join("src"));
        assert!(graph.len() >= 3, "{krate}: found only {graph:?}");
        if let Some(cycle) = find_cycle(&graph) {
            panic!("{krate}: modules import each other in a cycle: {}", cycle.join(" → "));
        }
    }
    // The check can fail: a graph with a cycle is found.
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.insert("a".into(), ["b".to_string()].into());
    g.insert("b".into(), ["a".to_string()].into());
    assert_eq!(find_cycle(&g), Some(vec!["a".to_string(), "b".into(), "a".into()]));
}

#[test]
fn the_engine_reads_no_flag() {
    let graph = module_graph(&root().join("harness").join("src"));
    assert!(graph["spec"].contains("cli") && graph["spec"].contains("engine"), "spec turns flags into the engine's specs");
    for shared in ["engine", "cache", "device"] {
        let uses = &graph[shared];
        assert!(!uses.contains("cli"), "{shared} references the command line ({uses:?}): take a typed spec from `spec` instead");
    }
}

#[test]
fn crates_depend_one_way() {
    let deps = |krate: &str| -> String {
        let manifest = std::fs::read_to_string(root().join(krate).join("Cargo.toml")).unwrap();
        // Only the [dependencies] table (dev-dependencies may use anything).
        let start = manifest.find("[dependencies]").unwrap();
        let rest = &manifest[start + 1..];
        rest[..rest.find("\n[").unwrap_or(rest.len())].to_string()
    };
    assert!(!deps("reports").contains("swapnas-"), "reports must know only scores and accuracies");
    let benchmarks = deps("benchmarks");
    assert!(!benchmarks.contains("swapnas-proxies") && !benchmarks.contains("swapnas-reports"));
    let proxies = deps("proxies");
    assert!(proxies.contains("swapnas-benchmarks") && !proxies.contains("swapnas-reports"));
    // Only the Python package builds on the harness.
    for krate in ["benchmarks", "proxies", "reports"] {
        assert!(!deps(krate).contains("../harness"), "{krate} depends on the harness");
    }
    assert!(deps("python").contains("../harness"), "the Python package scores through the harness's engine");
}

#[test]
fn the_harness_names_no_space_and_no_proxy() {
    let mut names: Vec<&str> = swapnas_benchmarks::spaces::names();
    names.extend(swapnas_proxies::names());
    let mut found = Vec::new();
    // The Python package's native module only wires, like the harness.
    let mut files = sources(&root().join("harness").join("src"));
    files.extend(sources(&root().join("python").join("src")));
    for (f, code) in files {
        for name in &names {
            for quoted in [format!("\"{name}\""), format!("\"{name}-"), format!("\"{name},")] {
                if code.contains(&quoted) {
                    found.push(format!("{}: {quoted}", f.display()));
                }
            }
        }
    }
    assert!(found.is_empty(), "the harness names spaces or proxies (declare it in the space or proxy instead): {found:?}");
}

#[test]
fn the_harness_names_no_proxy_setting() {
    let settings = swapnas_proxies::setting::all();
    assert!(settings.len() >= 5);
    let mut found = Vec::new();
    for (f, code) in sources(&root().join("harness").join("src")) {
        for s in &settings {
            let name = s.name();
            let mut forms = vec![format!("\"{name}\""), format!("\"{name}="), s.flag()];
            if name.contains('_') {
                forms.push(format!(".{name}"));
            }
            for form in forms {
                // `--batch` must not match inside `--proxy-batch`: a flag counts when whole.
                let whole = code.match_indices(&form).any(|(i, _)| {
                    let after = code[i + form.len()..].chars().next();
                    !after.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_')
                        && !code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '-' || c == '_')
                });
                if whole {
                    found.push(format!("{}: {form}", f.display()));
                }
            }
        }
    }
    assert!(found.is_empty(), "the harness names proxy settings (declare and read them in the proxy instead): {found:?}");
}

/// A space's published correlations name a registered proxy and one of the space's own tasks
/// (`reproduce` looks them up by those names: a typo would silently drop the comparison).
#[test]
fn published_figures_name_registered_proxies_and_tasks() {
    let proxies = swapnas_proxies::names();
    let mut checked = 0;
    for name in swapnas_benchmarks::spaces::names() {
        let space = swapnas_benchmarks::spaces::find(name).unwrap();
        for p in space.published() {
            assert!(proxies.contains(&p.proxy), "{name}: published ρ names `{}`, which is not a registered proxy", p.proxy);
            assert!(
                space.tasks().iter().any(|t| t.name == p.task),
                "{name}: published ρ names task `{}`, not one of its tasks",
                p.task
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "no space declares a published figure: the check checked nothing");
}

/// Networks record through `ForwardCtx`'s methods (the recording API in `nn/network.rs`),
/// never by writing a recorded field: a kind of tap is then added in one file.
#[test]
fn networks_record_through_the_recording_api() {
    let fields = [
        "relu",
        "relu_codes",
        "leaky_relu",
        "pre_gap",
        "conv_outputs",
        "linear_outputs",
        "bn_variances",
        "bn_counts",
        "module_outputs",
        "flops",
        "block_outputs",
        "block_inputs",
        "device_codes",
        "classifier",
    ];
    let mut found = Vec::new();
    for (f, code) in sources(&root().join("benchmarks").join("src").join("spaces")) {
        for field in fields {
            for write in [format!("ctx.{field} ="), format!("ctx.{field}.push("), format!("ctx.{field} +=")] {
                if code.contains(&write) {
                    found.push(format!("{}: {write}", f.display()));
                }
            }
        }
    }
    assert!(found.is_empty(), "networks write recorded fields (call ForwardCtx's recording methods instead): {found:?}");
}

/// No function of the harness is over 120 lines: a command is a short composition of shared
/// steps (a function's length: its `fn` line to the `}` at its indentation).
#[test]
fn harness_functions_are_short() {
    let mut files = Vec::new();
    rust_files(&root().join("harness").join("src"), &mut files);
    let mut long = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let body = line.trim_start();
            let indent = &line[..line.len() - body.len()];
            let is_fn = ["fn ", "pub fn ", "pub(crate) fn "].iter().any(|p| body.starts_with(p));
            if !is_fn || body.ends_with(';') {
                continue;
            }
            let close = format!("{indent}}}");
            if let Some(end) = lines[i + 1..].iter().position(|l| *l == close) {
                if end + 2 > 120 {
                    long.push(format!("{}:{} {} lines", f.display(), i + 1, end + 2));
                }
            }
        }
    }
    assert!(long.is_empty(), "harness functions over 120 lines (split them into shared steps): {long:?}");
}
