//! ntk_condnum — the NTK's condition number (TE-NAS, Chen et al., ICLR 2021; HNAS's second
//! number, Shu et al., NeurIPS 2022; reference `foresight/pruners/measures/condnum.py`):
//! −κ, κ = λ_max / λ_min of the Θ of [`crate::ntk`] (the same pass; NaN → 10⁵ as the
//! reference's `nan_to_num`). Negated so that larger is better (a well-conditioned NTK trains
//! well), as every proxy's score is read.

use crate::ntk::{settings_key, Ntk, BATCH};
use crate::{ProxyDecl, ProxyContext};
use anyhow::Result;

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "ntk_condnum",
    about: "−κ of the NTK Θ = J Jᵀ (λ_max / λ_min; TE-NAS, HNAS): larger is better conditioned",
    settings: &[&BATCH],
    key: settings_key,
    score,
    ..crate::ntk::PROXY
};

fn score(ctx: &ProxyContext) -> Result<f64> {
    Ok(-Ntk::shared(ctx)?.condnum)
}
