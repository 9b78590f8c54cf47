//! AZ-NAS's progressivity component ([`crate::az_nas`] has the definition and the shared pass).

use crate::{az_nas, Needs, ProxyContext, ProxyDecl};
use anyhow::Result;

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "az_progressivity",
    about: "AZ-NAS progressivity: smallest cell-to-cell increase of that entropy",
    needs: Needs::INPUT_GRADIENTS,
    settings: &[],
    version: 1,
    key: |_| format!("noise B={} init=kaiming_fan_in bn=batch", az_nas::BATCH),
    batch: |_| 1,
    score,
};

fn score(ctx: &ProxyContext) -> Result<f64> {
    Ok(az_nas::components(ctx)?.progressivity)
}
