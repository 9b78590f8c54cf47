//! How a search sees a space: an architecture as a fixed-length list of genes, each one of a
//! few choices, with the space's constraints and its canonical label. A space declares one
//! ([`Genome`] in its [`crate::space::SpaceInfo`]) to be searchable; the search operators
//! (uniform random arch, one-gene mutation, uniform crossover) work on any declaration and
//! never touch the space's table.

pub use crate::space::Genome;
use anyhow::{bail, Result};
use rand::Rng;

/// Tries before an operator gives up on finding valid genes (only spaces with tight
/// constraints ever retry).
const TRIES: usize = 10_000;

impl Genome {
    pub fn len(&self) -> usize {
        self.choices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.choices.is_empty()
    }

    /// Checks that `genes` fit the declaration and are an arch of the space.
    pub fn check(&self, genes: &[u8]) -> Result<()> {
        if genes.len() != self.len() {
            bail!("an arch has {} genes, got {}", self.len(), genes.len());
        }
        if let Some((i, (&g, &c))) = genes.iter().zip(self.choices).enumerate().find(|(_, (g, c))| g >= c) {
            bail!("gene {i} is {g}, but it has only {c} choices");
        }
        if !(self.valid)(genes) {
            bail!("genes {genes:?} are not an arch of the space");
        }
        Ok(())
    }

    /// A uniformly random arch: each gene uniform, redrawn until valid (rejection keeps the
    /// draw uniform over the space's archs, as the encoding is one-to-one).
    pub fn random(&self, rng: &mut impl Rng) -> Result<Vec<u8>> {
        for _ in 0..TRIES {
            let genes: Vec<u8> = self.choices.iter().map(|&c| rng.random_range(0..c)).collect();
            if (self.valid)(&genes) {
                return Ok(genes);
            }
        }
        bail!("no valid arch in {TRIES} random draws: the space's constraints reject almost every gene list")
    }

    /// One gene changed to another of its choices (the gene uniform among those with a
    /// choice, the new value uniform among the others), redrawn until valid.
    pub fn mutate(&self, genes: &[u8], rng: &mut impl Rng) -> Result<Vec<u8>> {
        let open: Vec<usize> = (0..self.len()).filter(|&i| self.choices[i] > 1).collect();
        if open.is_empty() {
            bail!("the space has one arch: nothing to mutate");
        }
        for _ in 0..TRIES {
            let i = open[rng.random_range(0..open.len())];
            let mut child = genes.to_vec();
            let shift = rng.random_range(1..self.choices[i]);
            child[i] = (genes[i] + shift) % self.choices[i];
            if (self.valid)(&child) {
                return Ok(child);
            }
        }
        bail!("no valid one-gene mutation of {genes:?} in {TRIES} tries")
    }

    /// Uniform crossover: each gene from either parent with probability ½, redrawn until
    /// valid (falls back to the first parent when no mix is valid).
    pub fn crossover(&self, a: &[u8], b: &[u8], rng: &mut impl Rng) -> Vec<u8> {
        for _ in 0..100 {
            let child: Vec<u8> = a.iter().zip(b).map(|(&x, &y)| if rng.random_bool(0.5) { x } else { y }).collect();
            if (self.valid)(&child) {
                return child;
            }
        }
        a.to_vec()
    }

    /// Every valid gene list, in lexicographic order (for small spaces: tests and
    /// enumerations); None when the space has more than `limit` gene lists.
    pub fn enumerate(&self, limit: usize) -> Option<Vec<Vec<u8>>> {
        let total = self.choices.iter().try_fold(1usize, |n, &c| n.checked_mul(c as usize))?;
        if total > limit {
            return None;
        }
        let mut out = Vec::new();
        let mut genes = vec![0u8; self.len()];
        for mut k in 0..total {
            for i in (0..self.len()).rev() {
                let c = self.choices[i] as usize;
                genes[i] = (k % c) as u8;
                k /= c;
            }
            if (self.valid)(&genes) {
                out.push(genes.clone());
            }
        }
        Some(out)
    }
}

/// No constraints beyond each gene's range.
pub fn always_valid(_: &[u8]) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn even_sum(g: &[u8]) -> bool {
        g.iter().map(|&x| x as u32).sum::<u32>() % 2 == 0
    }

    const G: Genome =
        Genome { choices: &[3, 2, 4], valid: even_sum, label: |g| format!("{g:?}"), table_complete: true, largest_params: None };

    #[test]
    fn operators_stay_in_the_space() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let all = G.enumerate(1000).unwrap();
        assert_eq!(all.len(), 12);
        for _ in 0..200 {
            let a = G.random(&mut rng).unwrap();
            G.check(&a).unwrap();
            let m = G.mutate(&a, &mut rng).unwrap();
            G.check(&m).unwrap();
            // One-gene mutation under an even-sum constraint: exactly… never equal to the parent.
            assert_ne!(a, m);
            let b = G.random(&mut rng).unwrap();
            let c = G.crossover(&a, &b, &mut rng);
            G.check(&c).unwrap();
            assert!(c.iter().zip(a.iter().zip(&b)).all(|(x, (y, z))| x == y || x == z));
        }
        assert!(G.check(&[3, 0, 0]).is_err());
        assert!(G.check(&[1, 0, 0]).is_err());
        assert!(G.check(&[1, 1]).is_err());
    }

    #[test]
    fn random_is_uniform_over_valid_archs() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let all = G.enumerate(1000).unwrap();
        let mut counts = std::collections::HashMap::new();
        for _ in 0..12_000 {
            *counts.entry(G.random(&mut rng).unwrap()).or_insert(0usize) += 1;
        }
        assert_eq!(counts.len(), all.len());
        // Each of the 12 archs expected 1,000 times; 5 sd ≈ 150.
        assert!(counts.values().all(|&n| (850..1150).contains(&n)), "{counts:?}");
    }
}
