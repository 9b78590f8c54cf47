//! Proxies by name. Adding a proxy: one file with its `impl Proxy`, one line here.

use crate::{GradNorm, Proxy, ProxySettings, RegSwap, Swap};
use anyhow::{bail, Result};

/// A registered proxy: its name, one line about it, and how to make it from the settings.
pub struct ProxyEntry {
    pub name: &'static str,
    pub about: &'static str,
    pub make: fn(&ProxySettings) -> Box<dyn Proxy>,
}

/// Every proxy, in report order.
pub fn registry() -> Vec<ProxyEntry> {
    vec![
        ProxyEntry { name: "swap", about: "SWAP: distinct sample-wise ReLU activation patterns (Peng et al. 2024)", make: |s| Box::new(Swap::new(s)) },
        ProxyEntry { name: "reg_swap", about: "regularised SWAP: SWAP × exp(-(params-μ)²/σ)", make: |s| Box::new(RegSwap::new(s)) },
        // Baselines I (issue 3): params, flops, l2_norm, nwot, zen, meco, jacov, epe_nas.
        // Baselines II (issue 4): grad_norm, snip, grasp, fisher, synflow, plain, zico.
        ProxyEntry { name: "grad_norm", about: "Σ‖∂L/∂W‖ of cross-entropy on a real batch (Abdelfattah et al. 2021)", make: |s| Box::new(GradNorm::new(s)) },
    ]
}

/// Registry names, in report order.
pub fn names() -> Vec<&'static str> {
    registry().iter().map(|e| e.name).collect()
}

/// Makes the proxies named in `list` (comma-separated; `all` for every one).
pub fn find(list: &str, settings: &ProxySettings) -> Result<Vec<Box<dyn Proxy>>> {
    let entries = registry();
    let mut out: Vec<Box<dyn Proxy>> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if name == "all" {
            out.extend(entries.iter().map(|e| (e.make)(settings)));
            continue;
        }
        let Some(entry) = entries.iter().find(|e| e.name == name) else {
            bail!("unknown proxy `{name}`; known proxies: {}, or all", names().join(", "));
        };
        out.push((entry.make)(settings));
    }
    if out.is_empty() {
        bail!("no proxy named: give --proxies a comma-separated list ({}) or all", names().join(", "));
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.name()));
    Ok(out)
}
