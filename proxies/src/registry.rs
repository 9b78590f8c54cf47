//! Proxies by name. Adding a proxy: one file with its `impl Proxy`, one line here.

use crate::{GradNorm, Proxy, ProxySettings, RegSwap, Swap};
use anyhow::{bail, Result};
use crate::{Fisher, Grasp, Plain, Snip, Synflow, Zico};
use crate::{EpeNas, Flops, Jacov, L2Norm, Meco, Nwot, Params, Zen};

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
        ProxyEntry { name: "params", about: "parameters in millions (tensorwatch count, as Suite-Zero)", make: |_| Box::new(Params) },
        ProxyEntry { name: "flops", about: "multiply-adds of one image in millions (tensorwatch count, as Suite-Zero)", make: |_| Box::new(Flops) },
        ProxyEntry { name: "l2_norm", about: "Σ‖W‖ of conv/linear weights at default init (Abdelfattah et al. 2021)", make: |_| Box::new(L2Norm) },
        ProxyEntry { name: "nwot", about: "NASWOT: log|det K| of ReLU-code agreements on a real batch (Mellor et al. 2021)", make: |s| Box::new(Nwot::new(s)) },
        ProxyEntry { name: "zen", about: "Zen-NAS: log of pre-GAP response to input noise + BN log-stds, Gaussian init (Lin et al. 2021)", make: |s| Box::new(Zen::new(s)) },
        ProxyEntry { name: "meco", about: "MeCo: Σ min eigenvalue of channel correlations over module outputs, one image (Jiang et al. 2023)", make: |_| Box::new(Meco) },
        ProxyEntry { name: "jacov", about: "Jacobian covariance: eigenvalues of input-Jacobian correlations (Mellor et al. 2020)", make: |s| Box::new(Jacov::new(s)) },
        ProxyEntry { name: "epe_nas", about: "EPE-NAS: per-class input-Jacobian correlations (Lopes et al. 2021)", make: |s| Box::new(EpeNas::new(s)) },
        // Baselines II (issue 4): grad_norm, snip, grasp, fisher, synflow, plain, zico.
        ProxyEntry { name: "grad_norm", about: "Σ‖∂L/∂W‖ of cross-entropy on a real batch (Abdelfattah et al. 2021)", make: |s| Box::new(GradNorm::new(s)) },
        ProxyEntry { name: "snip", about: "SNIP: Σ|W ⊙ ∂L/∂W| of cross-entropy on a real batch (Lee et al. 2019)", make: |s| Box::new(Snip::new(s)) },
        ProxyEntry { name: "grasp", about: "GraSP: Σ −W ⊙ Hg, Hg by central difference in float64 (Wang et al. 2020)", make: |s| Box::new(Grasp::new(s)) },
        ProxyEntry { name: "fisher", about: "Fisher: Σ per-channel 0.5·mean(Σ act·∂L/∂act)² × fan-in (Turner et al. 2020)", make: |s| Box::new(Fisher::new(s)) },
        ProxyEntry { name: "synflow", about: "SynFlow: log Σ|W ⊙ ∂R/∂W|, |W|, BN off, all-ones input, float64 (Tanaka et al. 2020)", make: |s| Box::new(Synflow::new(s)) },
        ProxyEntry { name: "plain", about: "plain: Σ W ⊙ ∂L/∂W (signed) of cross-entropy on a real batch (Mozer & Smolensky 1989)", make: |s| Box::new(Plain::new(s)) },
        ProxyEntry { name: "zico", about: "ZiCo: Σ_layers log Σ mean|g|/std(g) over 2 real batches (Li et al. 2023)", make: |s| Box::new(Zico::new(s)) },
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
