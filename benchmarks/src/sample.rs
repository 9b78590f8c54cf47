//! Seeded samples of architectures.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// `n` distinct indices of `0..total` (all of them, in order, if `n` is 0 or ≥ `total`),
/// drawn with `seed`, returned sorted. The first `n` of one seeded permutation of all
/// indices: with the same seed a larger sample contains every smaller one, so a run grows by
/// scoring only the new archs.
pub fn sample_indices(total: usize, n: usize, seed: u64) -> Vec<usize> {
    if n == 0 || n >= total {
        return (0..total).collect();
    }
    let mut all: Vec<usize> = (0..total).collect();
    all.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut picked = all[..n].to_vec();
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

    #[test]
    fn larger_samples_contain_smaller_ones() {
        let small = sample_indices(15_625, 200, 0);
        let large = sample_indices(15_625, 1000, 0);
        assert!(small.iter().all(|i| large.binary_search(i).is_ok()));
        assert_ne!(sample_indices(15_625, 200, 1), small);
    }
}
