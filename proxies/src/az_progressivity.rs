//! AZ-NAS's progressivity component ([`crate::az_nas`] has the definition and the shared pass).

/// The registry entry.
pub const PROXY: crate::ProxyDecl = crate::az_nas::component!("az_progressivity", progressivity, "AZ-NAS progressivity: smallest cell-to-cell increase of that entropy");
