//! Proxies by name, from the [`REGISTRY`] (the `proxies!` list in `lib.rs`: adding a proxy is
//! one file declaring `pub const PROXY: ProxyDecl` and one line there).

use crate::{Declared, Proxy, ProxyDecl, ProxySettings, REGISTRY};
use anyhow::{bail, Result};

/// The proxies a run scores when `--proxies` is not given.
pub const DEFAULT: &str = "swap,reg_swap";

/// The proxies `swapnas ablate` scores in every cell: SWAP, reg-SWAP and the plain
/// activation-pattern count the SWAP paper sets beside them.
pub const ABLATION: &str = "swap,reg_swap,ap";

/// The settings `swapnas reproduce --quick` runs with (every other setting at its default):
/// SWAP with 2 repeats, the baselines on 16 images.
pub const QUICK_SETTINGS: &[(&str, &str)] = &[("repeats", "2"), ("proxy_batch", "16")];

/// Proxies `swapnas reproduce` leaves out unless `--proxies` names them: VKDNW back-propagates
/// once per class (75 to 1,000 classes on TransNAS-Bench-101, at 224²), hours per arch there
/// on a CPU.
pub const REPRODUCE_LEAVES_OUT: &[&str] = &["vkdnw", "vkdnw_entropy"];

/// `swapnas reproduce`'s default proxy list: every registered proxy but
/// [`REPRODUCE_LEAVES_OUT`].
pub fn reproduce_default() -> String {
    names().into_iter().filter(|n| !REPRODUCE_LEAVES_OUT.contains(n)).collect::<Vec<_>>().join(",")
}

/// The settings `swapnas ablate` varies by default, one cell per value (`--grid`): SWAP's
/// batch and repeats.
pub const ABLATION_GRID: &[&str] = &["batch=8,16,32", "repeats=8,16,32"];

/// The fitness `swapnas search` uses when `--fitness` is not given (the SWAP paper's).
pub const DEFAULT_FITNESS: &str = "reg_swap";

/// Registry names, in report order.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|e| e.name).collect()
}

/// A name as the registry writes it: `reg-SWAP` and `Reg_Swap` are `reg_swap`.
pub fn canonical(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace(['-', ' '], "_")
}

/// Levenshtein distance (for suggestions).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (prev + usize::from(ca != cb)).min(row[j] + 1).min(row[j + 1] + 1);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The known name closest to `name`, if it is close enough to be a likely typo.
pub fn closest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let name = canonical(name);
    known.into_iter().map(|k| (distance(&name, k), k)).filter(|(d, k)| *d <= 2.max(k.len() / 3)).min().map(|(_, k)| k)
}

/// The declaration of proxy `name` (any case, `-` for `_`), or an error suggesting the
/// closest name.
pub fn lookup(name: &str) -> Result<&'static ProxyDecl> {
    let wanted = canonical(name);
    if let Some(decl) = REGISTRY.iter().copied().find(|e| e.name == wanted) {
        return Ok(decl);
    }
    let hint = closest(name, names()).map_or(String::new(), |c| format!(" — did you mean `{c}`?"));
    bail!("unknown proxy `{name}`{hint}; known proxies: {}, or all", names().join(", "))
}

/// The declarations named in `list` (comma-separated; `all` for every one), each once, in
/// the order named.
pub fn resolve(list: &str) -> Result<Vec<&'static ProxyDecl>> {
    let mut out: Vec<&'static ProxyDecl> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if canonical(name) == "all" {
            out.extend(REGISTRY.iter().copied());
            continue;
        }
        let decl = lookup(name)?;
        out.push(decl);
    }
    if out.is_empty() {
        bail!("no proxy named: give --proxies a comma-separated list ({}) or all", names().join(", "));
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|d| seen.insert(d.name));
    Ok(out)
}

/// The proxies of `decls` with one run's `settings`.
pub fn make(decls: &[&'static ProxyDecl], settings: &ProxySettings) -> Vec<Box<dyn Proxy>> {
    decls.iter().map(|&decl| Box::new(Declared { decl, settings: settings.clone() }) as Box<dyn Proxy>).collect()
}

/// The one proxy named `name` with `settings`.
pub fn proxy(name: &str, settings: &ProxySettings) -> Result<Box<dyn Proxy>> {
    Ok(Box::new(Declared { decl: lookup(name)?, settings: settings.clone() }))
}

/// [`resolve`] then [`make`].
pub fn find(list: &str, settings: &ProxySettings) -> Result<Vec<Box<dyn Proxy>>> {
    Ok(make(&resolve(list)?, settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn friendly_names_resolve_and_typos_get_a_suggestion() {
        assert_eq!(lookup("reg-swap").unwrap().name, "reg_swap");
        assert_eq!(lookup("Reg_SWAP").unwrap().name, "reg_swap");
        assert_eq!(resolve("reg-swap, NWOT").unwrap().iter().map(|d| d.name).collect::<Vec<_>>(), vec!["reg_swap", "nwot"]);
        let err = format!("{:#}", lookup("synflw").err().unwrap());
        assert!(err.contains("did you mean `synflow`?"), "{err}");
        assert!(!format!("{:#}", lookup("qqqqqqq").err().unwrap()).contains("did you mean"));
    }

    #[test]
    fn names_are_unique_and_lists_resolve() {
        let mut seen = std::collections::HashSet::new();
        for d in REGISTRY {
            assert!(seen.insert(d.name), "two proxies are named {}", d.name);
            assert!(!d.about.is_empty());
        }
        let s = ProxySettings::default();
        assert!(resolve(DEFAULT).is_ok());
        assert_eq!(find("all", &s).unwrap().len(), REGISTRY.len());
        let two = find("snip, swap,snip", &s).unwrap();
        assert_eq!(two.iter().map(|p| p.name()).collect::<Vec<_>>(), ["snip", "swap"]);
        assert!(find("bogus", &s).err().unwrap().to_string().contains("unknown proxy `bogus`"));
    }
}
