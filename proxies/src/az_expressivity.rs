//! AZ-NAS's expressivity component ([`crate::az_nas`] has the definition and the shared pass).

/// The registry entry.
pub const PROXY: crate::ProxyDecl = crate::az_nas::component!("az_expressivity", expressivity, "AZ-NAS expressivity: Σ over cells of the entropy of the feature covariance spectrum");
