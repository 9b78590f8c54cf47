//! AZ-NAS's trainability component ([`crate::az_nas`] has the definition and the shared pass).

use crate::{az_nas, Needs, ProxyContext, ProxyDecl};
use anyhow::Result;

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "az_trainability",
    about: "AZ-NAS trainability: mean over cells of −σ−1/σ+2, σ of the cell's Jacobian cross-moment",
    needs: Needs::INPUT_GRADIENTS,
    settings: &[],
    version: 1,
    key: |_| format!("noise B={} init=kaiming_fan_in bn=batch", az_nas::BATCH),
    batch: |_| 1,
    score,
};

fn score(ctx: &ProxyContext) -> Result<f64> {
    Ok(az_nas::components(ctx)?.trainability)
}
