//! Seeded samples of architectures.

use rand::seq::index;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// `n` distinct indices of `0..total` (all of them, in order, if `n` is 0 or ≥ `total`),
/// drawn with `seed`, returned sorted.
pub fn sample_indices(total: usize, n: usize, seed: u64) -> Vec<usize> {
    if n == 0 || n >= total {
        return (0..total).collect();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut picked = index::sample(&mut rng, total, n).into_vec();
    picked.sort_unstable();
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_distinct_and_sorted() {
        let a = sample_indices(15_625, 100, 3);
        assert_eq!(a, sample_indices(15_625, 100, 3));
        assert_ne!(a, sample_indices(15_625, 100, 4));
        assert_eq!(a.len(), 100);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(sample_indices(5, 0, 1), vec![0, 1, 2, 3, 4]);
    }
}
