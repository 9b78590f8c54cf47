//! VKDNW's entropy alone: the decile entropy of the Fisher spectrum, from the pass
//! [`crate::vkdnw`] computes (its doc comment has the definition and every choice).

/// The registry entry.
pub const PROXY: crate::ProxyDecl = crate::ProxyDecl {
    name: "vkdnw_entropy",
    about: "VKDNW's entropy of the Fisher information's spectrum deciles, without the tensor count (Týbl & Neumann 2025)",
    needs: crate::vkdnw::NEEDS,
    settings: &[&crate::vkdnw::JACOBIAN],
    // 2: NB201's parameters in the reference's named_parameters() order (the first 128 differ);
    // 3: TransNAS-Bench-101's fan-out convs re-drawn by fan-in, as every conv.
    version: 3,
    function_only: false,
    key: crate::vkdnw::key,
    batch: |_| 1,
    score: |ctx| Ok(crate::vkdnw::shared(ctx)?.entropy),
};
