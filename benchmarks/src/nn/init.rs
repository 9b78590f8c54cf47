//! Weight initialisation, generated on the host from a seeded ChaCha stream.
//!
//! Generating on the host (rather than with the backend's RNG) makes a network's weights a
//! function of `(arch, scheme, seed)` alone: the same seed gives the same weights on the flex
//! CPU backend and on libtorch/CUDA, so scores can be compared across devices.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

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
    /// (`kaiming_normal_(mode='fan_in', nonlinearity='relu')`), biases 0; BN weight 1, bias 0.
    /// Convs a network initialises by fan-out (TransNAS-Bench-101's encoder) keep that.
    KaimingNormalFanIn,
}

/// A seeded source of initial weights. Layers ask it for their tensors in construction order.
pub struct WeightInit {
    scheme: InitScheme,
    rng: ChaCha8Rng,
}

impl WeightInit {
    pub fn new(scheme: InitScheme, seed: u64) -> Self {
        Self { scheme, rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    pub fn scheme(&self) -> InitScheme {
        self.scheme
    }

    /// Weights of a conv (`[out, in/groups, kh, kw]`) or linear (`[out, in]`) layer.
    pub fn weight(&mut self, numel: usize, fan_in: usize) -> Vec<f32> {
        match self.scheme {
            InitScheme::PytorchDefault => self.uniform(numel, 1.0 / (fan_in as f32).sqrt()),
            InitScheme::Gaussian => (0..numel).map(|_| StandardNormal.sample(&mut self.rng)).collect(),
            InitScheme::KaimingNormalFanIn => self.normal(numel, (2.0 / fan_in as f64).sqrt()),
        }
    }

    fn normal(&mut self, numel: usize, std: f64) -> Vec<f32> {
        (0..numel).map(|_| (std * Distribution::<f64>::sample(&StandardNormal, &mut self.rng)) as f32).collect()
    }

    /// Conv weights the reference initialises with `kaiming_normal_(mode='fan_out',
    /// nonlinearity='relu')` (TransNAS-Bench-101's encoder): N(0, 2/fan_out) under
    /// [`InitScheme::PytorchDefault`]; N(0, 1) under [`InitScheme::Gaussian`] as every weight.
    pub fn kaiming_fan_out(&mut self, numel: usize, fan_out: usize) -> Vec<f32> {
        match self.scheme {
            InitScheme::PytorchDefault | InitScheme::KaimingNormalFanIn => self.normal(numel, (2.0 / fan_out as f64).sqrt()),
            InitScheme::Gaussian => (0..numel).map(|_| StandardNormal.sample(&mut self.rng)).collect(),
        }
    }

    /// Bias of a conv or linear layer.
    pub fn bias(&mut self, numel: usize, fan_in: usize) -> Vec<f32> {
        match self.scheme {
            InitScheme::PytorchDefault => self.uniform(numel, 1.0 / (fan_in as f32).sqrt()),
            InitScheme::Gaussian | InitScheme::KaimingNormalFanIn => vec![0.0; numel],
        }
    }

    fn uniform(&mut self, numel: usize, bound: f32) -> Vec<f32> {
        (0..numel).map(|_| self.rng.random_range(-bound..bound)).collect()
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
}
