//! Weight initialisation, generated on the host from a seeded ChaCha stream.
//!
//! Generating on the host (rather than with the backend's RNG) makes a network's weights a
//! function of `(arch, scheme, seed)` alone: the same seed gives the same weights on the flex
//! CPU backend and on libtorch/CUDA, so scores can be compared across devices.
//!
//! A *stacked* source ([`WeightInit::stacked`]) holds R streams and gives every tensor as the
//! R tensors the streams would give one after another, concatenated along the first
//! dimension: the weights of R networks built side by side, each exactly what a one-stream
//! source with that seed gives (SWAP's R repeats as one grouped network).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// Which initialisation a network is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitScheme {
    /// PyTorch's defaults (what NASLib / zero-cost-nas measure): conv and linear weights and
    /// biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform with a = sqrt(5)); BN weight 1,
    /// bias 0.
    PytorchDefault,
    /// The SWAP reference's `network_weight_gaussian_init`: conv and linear weights N(0, 1),
    /// biases 0; BN weight 1, bias 0.
    Gaussian,
    /// AZ-NAS's `init_model(model, 'kaiming_norm_fanin')`: conv and linear weights N(0, 2/fan_in)
    /// (`kaiming_normal_(mode='fan_in', nonlinearity='relu')`), biases 0; BN weight 1, bias 0 —
    /// every conv, those a network initialises by fan-out (TransNAS-Bench-101's encoder) too, as
    /// `init_model` re-draws every `nn.Conv2d`.
    KaimingNormalFanIn,
}

/// A seeded source of initial weights. Layers ask it for their tensors in construction order.
pub struct WeightInit {
    scheme: InitScheme,
    /// One stream per stacked network (one for an ordinary source).
    rngs: Vec<ChaCha8Rng>,
}

impl WeightInit {
    pub fn new(scheme: InitScheme, seed: u64) -> Self {
        Self::stacked(scheme, &[seed])
    }

    /// R streams side by side (see the module doc): each tensor comes as the R tensors of
    /// `WeightInit::new(scheme, seeds[r])`, concatenated in `seeds` order.
    pub fn stacked(scheme: InitScheme, seeds: &[u64]) -> Self {
        assert!(!seeds.is_empty(), "a weight source needs at least one stream");
        Self { scheme, rngs: seeds.iter().map(|&s| ChaCha8Rng::seed_from_u64(s)).collect() }
    }

    pub fn scheme(&self) -> InitScheme {
        self.scheme
    }

    /// How many networks' weights each tensor holds (1 unless [`WeightInit::stacked`]).
    pub fn stack(&self) -> usize {
        self.rngs.len()
    }

    /// `numel` values from each stream, concatenated; the streams draw in parallel.
    fn draw(&mut self, numel: usize, f: impl Fn(&mut ChaCha8Rng, usize) -> Vec<f32> + Sync) -> Vec<f32> {
        match self.rngs.as_mut_slice() {
            [rng] => f(rng, numel),
            rngs => rngs.par_iter_mut().map(|rng| f(rng, numel)).collect::<Vec<_>>().concat(),
        }
    }

    /// Weights of a conv (`[out, in/groups, kh, kw]`) or linear (`[out, in]`) layer.
    pub fn weight(&mut self, numel: usize, fan_in: usize) -> Vec<f32> {
        match self.scheme {
            InitScheme::PytorchDefault => self.uniform(numel, 1.0 / (fan_in as f32).sqrt()),
            InitScheme::Gaussian => self.standard(numel),
            InitScheme::KaimingNormalFanIn => self.normal(numel, (2.0 / fan_in as f64).sqrt()),
        }
    }

    fn standard(&mut self, numel: usize) -> Vec<f32> {
        self.draw(numel, |rng, n| (0..n).map(|_| StandardNormal.sample(rng)).collect())
    }

    /// N(0, std²) whatever the scheme: for a network whose reference fixes its own
    /// initialisation and no proxy re-initialises it (ELECTRA's N(0, 0.02²)).
    pub fn normal(&mut self, numel: usize, std: f64) -> Vec<f32> {
        self.draw(numel, |rng, n| (0..n).map(|_| (std * Distribution::<f64>::sample(&StandardNormal, rng)) as f32).collect())
    }

    /// Conv weights the reference initialises with `kaiming_normal_(mode='fan_out',
    /// nonlinearity='relu')` (TransNAS-Bench-101's encoder): N(0, 2/fan_out) under
    /// [`InitScheme::PytorchDefault`] (the network's own init); a proxy's scheme re-draws them
    /// as it re-draws every conv — N(0, 1) under [`InitScheme::Gaussian`], N(0, 2/fan_in) under
    /// [`InitScheme::KaimingNormalFanIn`] (AZ-NAS' `init_model` walks every `nn.Conv2d`).
    pub fn kaiming_fan_out(&mut self, numel: usize, fan_in: usize, fan_out: usize) -> Vec<f32> {
        match self.scheme {
            InitScheme::PytorchDefault => self.normal(numel, (2.0 / fan_out as f64).sqrt()),
            InitScheme::Gaussian => self.standard(numel),
            InitScheme::KaimingNormalFanIn => self.weight(numel, fan_in),
        }
    }

    /// Bias of a conv or linear layer.
    pub fn bias(&mut self, numel: usize, fan_in: usize) -> Vec<f32> {
        match self.scheme {
            InitScheme::PytorchDefault => self.uniform(numel, 1.0 / (fan_in as f32).sqrt()),
            InitScheme::Gaussian | InitScheme::KaimingNormalFanIn => vec![0.0; numel * self.stack()],
        }
    }

    /// U(−bound, bound) whatever the scheme: for a network whose reference fixes its own
    /// initialisation and no proxy re-initialises it (NAS-Bench-NLP's cells and embedding).
    pub fn uniform(&mut self, numel: usize, bound: f32) -> Vec<f32> {
        self.draw(numel, |rng, n| (0..n).map(|_| rng.random_range(-bound..bound)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_weights_and_schemes_differ() {
        let a = WeightInit::new(InitScheme::Gaussian, 7).weight(1000, 10);
        let b = WeightInit::new(InitScheme::Gaussian, 7).weight(1000, 10);
        assert_eq!(a, b);
        let mean = a.iter().sum::<f32>() / 1000.0;
        let var = a.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 1000.0;
        assert!(mean.abs() < 0.1 && (var - 1.0).abs() < 0.15, "N(0,1): mean {mean} var {var}");
        let u = WeightInit::new(InitScheme::PytorchDefault, 7).weight(1000, 16);
        assert!(u.iter().all(|v| v.abs() <= 0.25));
        assert!(u.iter().any(|v| v.abs() > 0.2));
        let k = WeightInit::new(InitScheme::KaimingNormalFanIn, 7).weight(4000, 50);
        let var = k.iter().map(|v| v * v).sum::<f32>() / 4000.0;
        assert!((var - 2.0 / 50.0).abs() < 0.004, "N(0, 2/fan_in): var {var}");
        assert_eq!(WeightInit::new(InitScheme::KaimingNormalFanIn, 7).bias(3, 50), vec![0.0; 3]);
    }

    /// A stacked source gives, tensor by tensor, each stream's own values side by side.
    #[test]
    fn stacked_streams_concatenate_single_streams() {
        for scheme in [InitScheme::Gaussian, InitScheme::PytorchDefault, InitScheme::KaimingNormalFanIn] {
            let seeds = [3, 9, 4];
            let mut stacked = WeightInit::stacked(scheme, &seeds);
            let mut single: Vec<WeightInit> = seeds.iter().map(|&s| WeightInit::new(scheme, s)).collect();
            assert_eq!(stacked.stack(), 3);
            for (numel, fan) in [(12, 3), (5, 5), (40, 8)] {
                let expect: Vec<f32> = single.iter_mut().flat_map(|w| w.weight(numel, fan)).collect();
                assert_eq!(stacked.weight(numel, fan), expect, "{scheme:?} weight");
                let expect: Vec<f32> = single.iter_mut().flat_map(|w| w.bias(numel, fan)).collect();
                assert_eq!(stacked.bias(numel, fan), expect, "{scheme:?} bias");
                let expect: Vec<f32> = single.iter_mut().flat_map(|w| w.kaiming_fan_out(numel, fan, fan + 1)).collect();
                assert_eq!(stacked.kaiming_fan_out(numel, fan, fan + 1), expect, "{scheme:?} fan-out");
            }
        }
    }

    /// A proxy's fan-in scheme re-draws a fan-out conv as every conv (AZ-NAS' `init_model`);
    /// the network's own init keeps N(0, 2/fan_out).
    #[test]
    fn fan_out_convs_follow_the_proxys_fan_in_scheme() {
        let (numel, fan_in, fan_out) = (20_000, 27, 288);
        let (mut a, mut b) =
            (WeightInit::new(InitScheme::KaimingNormalFanIn, 4), WeightInit::new(InitScheme::KaimingNormalFanIn, 4));
        assert_eq!(a.kaiming_fan_out(numel, fan_in, fan_out), b.weight(numel, fan_in));
        let sd = |w: &[f32]| (w.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / w.len() as f64).sqrt();
        let own = WeightInit::new(InitScheme::PytorchDefault, 4).kaiming_fan_out(numel, fan_in, fan_out);
        let fan_in_draw = WeightInit::new(InitScheme::KaimingNormalFanIn, 4).kaiming_fan_out(numel, fan_in, fan_out);
        assert!((sd(&own) / (2.0 / fan_out as f64).sqrt() - 1.0).abs() < 0.03, "{}", sd(&own));
        assert!((sd(&fan_in_draw) / (2.0 / fan_in as f64).sqrt() - 1.0).abs() < 0.03, "{}", sd(&fan_in_draw));
    }
}
