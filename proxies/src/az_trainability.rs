//! AZ-NAS's trainability component ([`crate::az_nas`] has the definition and the shared pass).

/// The registry entry.
pub const PROXY: crate::ProxyDecl = crate::az_nas::component!("az_trainability", trainability, "AZ-NAS trainability: mean over cells of −σ−1/σ+2, σ of the cell's Jacobian cross-moment");
