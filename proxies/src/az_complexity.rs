//! AZ-NAS's complexity component: the network's FLOPs (higher ranks higher, as AZ-NAS ranks
//! it). The reference reads the NAS-Bench-201 API's FLOPs; this is our count of the same
//! network ([`crate::flops`], Suite-Zero's `flops`).

use crate::{Needs, ProxyContext, ProxyDecl};
use anyhow::Result;

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "az_complexity",
    about: "AZ-NAS complexity: FLOPs of one image in millions (ranked higher-is-better)",
    needs: Needs::NOTHING,
    settings: &[],
    version: 1,
    function_only: false,
    key: |_| "flops, millions, 1 image".to_string(),
    batch: |_| 1,
    score,
};

fn score(ctx: &ProxyContext) -> Result<f64> {
    (crate::flops::PROXY.score)(ctx)
}
