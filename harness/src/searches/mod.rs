//! The searches beside SWAP-NAS's evolution (which lives in [`crate::commands::search`]):
//! RoBoT and HNAS, which spend a budget of queried (briefly trained) accuracies through an
//! [`oracle::Oracle`], and MTF-PDNS, a multi-objective novelty search that stays accuracy-blind.
//! Each is one file holding its paper's algorithm and defaults; they share the GP of
//! [`gp`] and a [`Pool`] of scored archs.

pub mod gp;
pub mod hnas;
pub mod oracle;
pub mod pdns;
pub mod robot;

/// Archs of a space with their training-free metrics: what RoBoT and HNAS rank.
#[derive(Debug, Clone)]
pub struct Pool {
    /// Canonical labels (the genome's).
    pub labels: Vec<String>,
    /// The metrics' names, in column order.
    pub names: Vec<&'static str>,
    /// `[arch][metric]` raw scores (NaN where a metric failed on an arch).
    pub metrics: Vec<Vec<f64>>,
}

/// `n` distinct genes of a genome, seeded: a uniform sample of its enumeration where the space
/// can be enumerated (all of it for `n` = 0, in enumeration order), else distinct uniform
/// random archs. With the same seed a larger pool contains every smaller one where the space
/// enumerates.
pub fn pool_genes(genome: &swapnas_benchmarks::genome::Genome, n: usize, seed: u64) -> anyhow::Result<Vec<Vec<u8>>> {
    if let Some(all) = genome.enumerate(200_000) {
        let picked = swapnas_benchmarks::sample::sample_indices(all.len(), n, seed);
        return Ok(picked.into_iter().map(|i| all[i].clone()).collect());
    }
    anyhow::ensure!(n > 0, "the space is too large to enumerate: give a pool size (--pool N)");
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut tries = 0usize;
    while out.len() < n {
        let g = genome.random(&mut rng)?;
        if seen.insert((genome.label)(&g)) {
            out.push(g);
        }
        tries += 1;
        anyhow::ensure!(tries < 100 * n + 1000, "could not draw {n} distinct archs from the space");
    }
    Ok(out)
}
