//! Proxies by name, from the [`REGISTRY`] (the `proxies!` list in `lib.rs`: adding a proxy is
//! one file declaring `pub const PROXY: ProxyDecl` and one line there).

use crate::{Declared, Proxy, ProxyDecl, ProxySettings, REGISTRY};
use anyhow::{bail, Result};

/// The proxies a run scores when `--proxies` is not given.
pub const DEFAULT: &str = "swap,reg_swap";

/// Registry names, in report order.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|e| e.name).collect()
}

/// The declarations named in `list` (comma-separated; `all` for every one), each once, in
/// the order named.
pub fn resolve(list: &str) -> Result<Vec<&'static ProxyDecl>> {
    let mut out: Vec<&'static ProxyDecl> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if name == "all" {
            out.extend(REGISTRY.iter().copied());
            continue;
        }
        let Some(decl) = REGISTRY.iter().find(|e| e.name == name) else {
            bail!("unknown proxy `{name}`; known proxies: {}, or all", names().join(", "));
        };
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
    let decl = REGISTRY.iter().find(|e| e.name == name);
    let decl = decl.ok_or_else(|| anyhow::anyhow!("unknown proxy `{name}`; known proxies: {}", names().join(", ")))?;
    Ok(Box::new(Declared { decl, settings: settings.clone() }))
}

/// [`resolve`] then [`make`].
pub fn find(list: &str, settings: &ProxySettings) -> Result<Vec<Box<dyn Proxy>>> {
    Ok(make(&resolve(list)?, settings))
}

#[cfg(test)]
mod tests {
    use super::*;

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
