//! The search-space registry: one folder per space, one line per space below. A space's
//! folder holds its encodings, network, table loader and its [`SearchSpace`] declaration
//! (`pub const SPACE`);
//! `--bench` values, fetch manifests and reference files all come from here.

use crate::space::SearchSpace;
use anyhow::{bail, Result};

/// Declares each space's folder (`spaces/<name>/`, whose `mod.rs` declares the space, e.g.
/// `pub const SPACE`) and lists its declarations in [`registry`], in report order.
macro_rules! spaces {
    ($($name:ident [$($entry:ident),*]),* $(,)?) => {
        $(pub mod $name;)*
        const REGISTRY: &[&dyn SearchSpace] = &[$($(&$name::$entry,)*)*];
    };
}

// The registry, in report order. Adding a space: its folder, and a line here naming the
// folder and its declaration(s) (`SPACE`, or one folder's several spaces).
spaces! {
    nb201 [SPACE],
    darts [SPACE],
    nb101 [SPACE],
    tnb101 [MICRO, MACRO],
    flexibert [SPACE],
    nbnlp [SPACE],
}

/// The `--bench` a run scores when none is given (the first registered space).
pub const DEFAULT: &str = "nb201";

/// Every search space, in report order.
pub fn registry() -> &'static [&'static dyn SearchSpace] {
    REGISTRY
}

/// The space named `name` (its `--bench` value), or an error listing them.
pub fn find(name: &str) -> Result<&'static dyn SearchSpace> {
    match registry().iter().find(|s| s.name().eq_ignore_ascii_case(name)) {
        Some(s) => Ok(*s),
        None => bail!("unknown --bench `{name}`; known: {}", names().join(", ")),
    }
}

/// The registered spaces' names.
pub fn names() -> Vec<&'static str> {
    registry().iter().map(|s| s.name()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_tasks_sets_and_files_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for space in registry() {
            assert!(seen.insert(space.name()), "two spaces are named {}", space.name());
            assert!(!space.tasks().is_empty(), "{} declares no task", space.name());
            for task in space.tasks() {
                assert!(!task.accuracies.is_empty(), "{}/{} has no accuracy column", space.name(), task.name);
                assert_eq!(space.task(task.name).unwrap(), task);
                for alias in task.aliases {
                    assert_eq!(space.task(alias).unwrap().name, task.name);
                }
            }
            for f in space.data_files() {
                // Tables under benchmarks/; a text set's corpus (fetched like a table) under text/.
                assert!(
                    f.file.rel_path.starts_with("benchmarks/") || f.file.rel_path.starts_with("text/"),
                    "{}",
                    f.file.rel_path
                );
                assert_eq!(f.sha256.len(), 64);
            }
        }
        assert_eq!(registry()[0].name(), DEFAULT);
        let err = find("nb999").err().unwrap().to_string();
        assert!(err.contains("nb201") && err.contains("nb101"), "{err}");
        let err = find("nb201").unwrap().task("mnist").err().unwrap().to_string();
        assert!(err.contains("unknown task `mnist`") && err.contains("ImageNet16-120"), "{err}");
    }
}
