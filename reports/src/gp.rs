//! A small Gaussian process regressor, the few-shot learner beside the greedy least-squares fit
//! (`combine::Learner::Gp`; `Learner::GpGraph` gives it the space's graph features too).
//!
//! The model is scikit-learn's `GaussianProcessRegressor(ConstantKernel × RBF + WhiteKernel,
//! normalize_y=True)`, the learner `scripts/few_shot_learners.py` measured: targets
//! standardised (mean 0, sd 1), covariance s²·(R_ℓ + g·I) with R_ℓ the isotropic squared-
//! exponential kernel exp(−‖x − x′‖² / 2ℓ²), and its hyperparameters by the largest marginal
//! likelihood of the training points. The prediction is the posterior mean r_ℓ(x)ᵀ(R_ℓ + g·I)⁻¹y.
//!
//! Deliberate differences from scikit-learn: the signal variance s² is profiled out in closed
//! form (ŝ² = yᵀ(R + gI)⁻¹y / n) and (ℓ, g) are found by a grid search over ℓ ∈ [10⁻², 10²]
//! and g ∈ [10⁻⁴, 10²] (log-spaced, then a finer grid around the best point), where
//! scikit-learn runs L-BFGS from one start in the same bounds (ℓ's are scikit-learn's; its
//! white noise is bounded in [10⁻⁴, 1] on the standardised scale, our g is noise over signal):
//! a grid cannot stop in a local optimum and needs no random restarts, so the fit is
//! deterministic. One symmetric eigendecomposition per ℓ serves every g. Written here rather
//! than taken from a crate: `friedrich` (the maintained pure-Rust GP) rescales the noise with the
//! kernel when fitting a scalable kernel, so it never fits the noise-to-signal ratio that
//! matters most on noisy proxy ranks; `egobox-gp` brings linfa and ndarray for two matrix
//! operations nalgebra (already a dependency of the workspace) has.

use nalgebra::{DMatrix, DVector, SymmetricEigen};
use serde::Serialize;

/// Length-scale bounds (scikit-learn's `RBF(1.0, (1e-2, 1e2))` in the measured learner).
pub const LENGTH_SCALE: (f64, f64) = (1e-2, 1e2);
/// Noise-to-signal variance bounds.
pub const NOISE_RATIO: (f64, f64) = (1e-4, 1e2);

/// A fitted GP's hyperparameters.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct GpFit {
    pub length_scale: f64,
    /// Noise variance over signal variance, g.
    pub noise_ratio: f64,
    /// Log marginal likelihood of the standardised training targets at the fit.
    pub log_likelihood: f64,
}

/// `n` points log-spaced from `lo` to `hi` inclusive.
fn log_grid(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let (a, b) = (lo.ln(), hi.ln());
    (0..n).map(|i| (a + (b - a) * i as f64 / (n - 1) as f64).exp()).collect()
}

fn squared_distances(a: &[Vec<f64>], b: &[Vec<f64>]) -> DMatrix<f64> {
    DMatrix::from_fn(a.len(), b.len(), |i, j| a[i].iter().zip(&b[j]).map(|(x, y)| (x - y).powi(2)).sum())
}

/// The eigendecomposition of R_ℓ and the training targets in its eigenbasis.
struct Spectrum {
    values: Vec<f64>,
    vectors: DMatrix<f64>,
    projected: DVector<f64>,
}

impl Spectrum {
    fn new(distances: &DMatrix<f64>, length_scale: f64, y: &DVector<f64>) -> Self {
        let r = distances.map(|d| (-d / (2.0 * length_scale * length_scale)).exp());
        let eig = SymmetricEigen::new(r);
        // R is positive semi-definite: a negative eigenvalue is rounding.
        let values = eig.eigenvalues.iter().map(|v| v.max(0.0)).collect();
        let projected = eig.eigenvectors.transpose() * y;
        Self { values, vectors: eig.eigenvectors, projected }
    }

    /// Log marginal likelihood with s² at its maximum, up to a constant in (ℓ, g).
    fn profiled_log_likelihood(&self, g: f64) -> f64 {
        let n = self.values.len() as f64;
        let quad: f64 = self.values.iter().zip(self.projected.iter()).map(|(l, p)| p * p / (l + g)).sum();
        let log_det: f64 = self.values.iter().map(|l| (l + g).ln()).sum();
        -0.5 * n * (quad / n).ln() - 0.5 * log_det - 0.5 * n * (1.0 + (2.0 * std::f64::consts::PI).ln())
    }

    /// (R + gI)⁻¹ y.
    fn solve(&self, g: f64) -> DVector<f64> {
        let scaled =
            DVector::from_iterator(self.values.len(), self.values.iter().zip(self.projected.iter()).map(|(l, p)| p / (l + g)));
        &self.vectors * scaled
    }
}

/// The best point of a grid of ℓ and g (the first of equals): (ℓ, g, log-likelihood) and R_ℓ's
/// spectrum there.
fn search(distances: &DMatrix<f64>, y: &DVector<f64>, ls: &[f64], gs: &[f64]) -> (f64, f64, f64, Spectrum) {
    let mut best: Option<(f64, f64, f64, Spectrum)> = None;
    let mut best_ll = f64::NEG_INFINITY;
    for &l in ls {
        let spectrum = Spectrum::new(distances, l, y);
        let mut top = None;
        for &g in gs {
            let ll = spectrum.profiled_log_likelihood(g);
            if ll > best_ll {
                (top, best_ll) = (Some(g), ll);
            }
        }
        if let Some(g) = top {
            best = Some((l, g, best_ll, spectrum));
        }
    }
    best.unwrap_or_else(|| (ls[0], gs[0], f64::NEG_INFINITY, Spectrum::new(distances, ls[0], y)))
}

/// Fits the GP to `(x_train, y)` (one feature vector per point) and returns its fit and its
/// posterior mean at each of `x_test`. Constant targets carry nothing: every prediction is
/// their value, with no fit.
pub fn fit_predict(x_train: &[Vec<f64>], y: &[f64], x_test: &[Vec<f64>]) -> (GpFit, Vec<f64>) {
    let n = y.len();
    let mean = y.iter().sum::<f64>() / n.max(1) as f64;
    let sd = (y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n.max(1) as f64).sqrt();
    if n < 2 || sd <= 1e-12 * mean.abs().max(1.0) {
        return (GpFit { length_scale: f64::NAN, noise_ratio: f64::NAN, log_likelihood: f64::NAN }, vec![mean; x_test.len()]);
    }
    let y = DVector::from_iterator(n, y.iter().map(|v| (v - mean) / sd));
    let distances = squared_distances(x_train, x_train);
    // Coarse: ℓ a factor 10^⅛ apart, g 10^⅒; then a grid 8 times finer around the best.
    let coarse =
        search(&distances, &y, &log_grid(LENGTH_SCALE.0, LENGTH_SCALE.1, 33), &log_grid(NOISE_RATIO.0, NOISE_RATIO.1, 61));
    let around = |v: f64, step: f64, (lo, hi): (f64, f64)| log_grid((v / step).max(lo), (v * step).min(hi), 17);
    let (l, g, log_likelihood, spectrum) = search(
        &distances,
        &y,
        &around(coarse.0, 10f64.powf(1.0 / 8.0), LENGTH_SCALE),
        &around(coarse.1, 10f64.powf(0.1), NOISE_RATIO),
    );
    let alpha = spectrum.solve(g);
    let cross = squared_distances(x_test, x_train).map(|d| (-d / (2.0 * l * l)).exp());
    let predictions = (cross * alpha).iter().map(|v| v * sd + mean).collect();
    (GpFit { length_scale: l, noise_ratio: g, log_likelihood }, predictions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// A smooth nonlinear function of one of two inputs, with a little noise: the GP's posterior
    /// mean follows it on points it has not seen, its length scale is of the function's, and
    /// its noise ratio is small; the fit is deterministic.
    #[test]
    fn follows_a_smooth_function_and_fits_its_scales() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let f = |x: &[f64]| (4.0 * x[0]).sin();
        let points = |rng: &mut rand_chacha::ChaCha8Rng, n: usize| -> Vec<Vec<f64>> {
            (0..n).map(|_| vec![rng.random::<f64>(), 0.0]).collect()
        };
        let train = points(&mut rng, 60);
        let y: Vec<f64> = train.iter().map(|x| f(x) + 0.05 * (rng.random::<f64>() - 0.5)).collect();
        let test = points(&mut rng, 200);
        let (fit, predicted) = fit_predict(&train, &y, &test);
        let worst = test.iter().zip(&predicted).map(|(x, p)| (f(x) - p).abs()).fold(0.0, f64::max);
        assert!(worst < 0.05, "largest error {worst}, {fit:?}");
        assert!((0.1..1.0).contains(&fit.length_scale) && fit.noise_ratio < 0.01, "{fit:?}");
        let (again, repeated) = fit_predict(&train, &y, &test);
        assert_eq!(predicted, repeated);
        assert_eq!(fit.length_scale, again.length_scale);
    }

    /// Pure noise: the likelihood prefers noise to signal, and the posterior mean stays near the
    /// training mean; constant targets predict their value without a fit.
    #[test]
    fn noise_is_fitted_as_noise_and_constants_carry_nothing() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let train: Vec<Vec<f64>> = (0..80).map(|_| (0..3).map(|_| rng.random::<f64>()).collect()).collect();
        let y: Vec<f64> = (0..80).map(|_| rng.random::<f64>()).collect();
        let (fit, predicted) = fit_predict(&train, &y, &train);
        let mean = y.iter().sum::<f64>() / 80.0;
        let spread = predicted.iter().map(|p| (p - mean).abs()).fold(0.0, f64::max);
        assert!(fit.noise_ratio > 1.0 && spread < 0.15, "{fit:?}, spread {spread}");
        let (fit, predicted) = fit_predict(&train, &[0.3; 80], &train[..4]);
        assert!(fit.length_scale.is_nan() && predicted.iter().all(|p| (p - 0.3).abs() < 1e-12), "{predicted:?}");
    }

    /// The grid's likelihood is the closed form's: the profiled log-likelihood equals the full
    /// Gaussian log-density of y under s²·(R + gI) at s² = ŝ², computed by Cholesky.
    #[test]
    fn profiled_likelihood_is_the_gaussian_log_density() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let x: Vec<Vec<f64>> = (0..25).map(|_| vec![rng.random::<f64>(), rng.random::<f64>()]).collect();
        let y = DVector::from_iterator(25, (0..25).map(|_| rng.random::<f64>() - 0.5));
        let d = squared_distances(&x, &x);
        let (l, g) = (0.4, 0.05);
        let spectrum = Spectrum::new(&d, l, &y);
        let k = d.map(|v| (-v / (2.0 * l * l)).exp()) + DMatrix::identity(25, 25) * g;
        let chol = k.clone().cholesky().unwrap();
        let s2 = (y.transpose() * chol.solve(&y))[0] / 25.0;
        let cov = k * s2;
        let chol = cov.clone().cholesky().unwrap();
        let log_det = 2.0 * chol.l().diagonal().iter().map(|v| v.ln()).sum::<f64>();
        let direct = -0.5 * (y.transpose() * chol.solve(&y))[0] - 0.5 * log_det - 12.5 * (2.0 * std::f64::consts::PI).ln();
        assert!(
            (spectrum.profiled_log_likelihood(g) - direct).abs() < 1e-8,
            "{} vs {direct}",
            spectrum.profiled_log_likelihood(g)
        );
        let alpha = spectrum.solve(g);
        let back = (d.map(|v| (-v / (2.0 * l * l)).exp()) + DMatrix::identity(25, 25) * g) * alpha;
        assert!((back - y).norm() < 1e-8);
    }
}
