//! Gaussian-process Bayesian optimisation over a box, as the `bayes_opt` package (the one
//! RoBoT's and HNAS's reference code drive) does it by default: scikit-learn's
//! `GaussianProcessRegressor(kernel=Matern(nu=2.5), alpha=1e-6, normalize_y=True)` — an
//! isotropic Matérn-5/2 kernel of unit amplitude on the standardised objective, its length
//! scale fitted by maximum marginal likelihood within [1e-5, 1e5] — and an acquisition
//! (UCB or EI) maximised over the box.
//!
//! Deviations, each deliberate: the length scale is fitted by a log-spaced grid and a
//! golden-section refinement of the (one-dimensional) marginal likelihood, not L-BFGS-B with
//! restarts — the same maximiser up to the optimiser's tolerance; the acquisition is maximised
//! over 10,000 uniform points and a shrinking local search from the best 10 (bayes_opt: the
//! same 10,000 points, then L-BFGS-B from 10 seeds).

use nalgebra::{DMatrix, DVector};
use rand::Rng;

/// The noise added to the kernel's diagonal (scikit-learn's `alpha`).
const ALPHA: f64 = 1e-6;

fn matern52(d: f64, length: f64) -> f64 {
    let r = 5f64.sqrt() * d / length;
    (1.0 + r + r * r / 3.0) * (-r).exp()
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt()
}

/// A GP fitted to observations.
pub struct Gp {
    xs: Vec<Vec<f64>>,
    /// `K⁻¹ y` of the standardised targets.
    weights: DVector<f64>,
    chol: nalgebra::Cholesky<f64, nalgebra::Dyn>,
    length: f64,
    mean: f64,
    scale: f64,
}

impl Gp {
    /// Fits to `(xs, ys)` (at least one point): standardises `ys`, fits the length scale.
    pub fn fit(xs: &[Vec<f64>], ys: &[f64]) -> Gp {
        let n = ys.len() as f64;
        let mean = ys.iter().sum::<f64>() / n;
        let sd = (ys.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / n).sqrt();
        // scikit-learn leaves a constant target unscaled.
        let scale = if sd > 0.0 { sd } else { 1.0 };
        let y = DVector::from_iterator(ys.len(), ys.iter().map(|v| (v - mean) / scale));
        let nll = |log_l: f64| -> f64 {
            match Self::factor(xs, log_l.exp()) {
                Some(chol) => {
                    let w = chol.solve(&y);
                    let logdet: f64 = chol.l().diagonal().iter().map(|d| d.ln()).sum();
                    0.5 * y.dot(&w) + logdet
                }
                None => f64::INFINITY,
            }
        };
        let (lo, hi) = (1e-5f64.ln(), 1e5f64.ln());
        let grid: Vec<f64> = (0..=60).map(|i| lo + (hi - lo) * i as f64 / 60.0).collect();
        let best = grid.iter().copied().min_by(|a, b| nll(*a).total_cmp(&nll(*b))).expect("a grid");
        let step = (hi - lo) / 60.0;
        let log_l = golden_min(&nll, (best - step).max(lo), (best + step).min(hi));
        let length = log_l.exp();
        let chol = Self::factor(xs, length).unwrap_or_else(|| Self::factor(xs, 1e-5).expect("the identity factors"));
        let weights = chol.solve(&y);
        Gp { xs: xs.to_vec(), weights, chol, length, mean, scale }
    }

    fn factor(xs: &[Vec<f64>], length: f64) -> Option<nalgebra::Cholesky<f64, nalgebra::Dyn>> {
        let n = xs.len();
        let k = DMatrix::from_fn(n, n, |i, j| matern52(distance(&xs[i], &xs[j]), length) + if i == j { ALPHA } else { 0.0 });
        k.cholesky()
    }

    /// Posterior mean and standard deviation at `x`, in the objective's units.
    pub fn predict(&self, x: &[f64]) -> (f64, f64) {
        let k = DVector::from_iterator(self.xs.len(), self.xs.iter().map(|xi| matern52(distance(xi, x), self.length)));
        let mu = k.dot(&self.weights);
        let v = self.chol.solve(&k);
        let var = (1.0 - k.dot(&v)).max(0.0);
        (self.mean + self.scale * mu, self.scale * var.sqrt())
    }

    /// The fitted length scale.
    pub fn length_scale(&self) -> f64 {
        self.length
    }
}

fn golden_min(f: &dyn Fn(f64) -> f64, mut a: f64, mut b: f64) -> f64 {
    let g = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..60 {
        let c = b - g * (b - a);
        let d = a + g * (b - a);
        if f(c) <= f(d) {
            b = d;
        } else {
            a = c;
        }
    }
    (a + b) / 2.0
}

/// An acquisition function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Acquisition {
    /// Upper confidence bound μ + κσ (bayes_opt's default κ = 2.576).
    Ucb { kappa: f64 },
    /// Expected improvement over the best observation plus ξ (bayes_opt's default ξ = 0).
    Ei { xi: f64 },
}

impl Acquisition {
    fn value(self, gp: &Gp, x: &[f64], best: f64) -> f64 {
        let (mu, sd) = gp.predict(x);
        match self {
            Acquisition::Ucb { kappa } => mu + kappa * sd,
            Acquisition::Ei { xi } => {
                if sd <= 0.0 {
                    return 0.0;
                }
                let z = (mu - best - xi) / sd;
                (mu - best - xi) * normal_cdf(z) + sd * normal_pdf(z)
            }
        }
    }
}

fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

fn normal_cdf(z: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(-z / std::f64::consts::SQRT_2)
}

/// The next point to evaluate in the box `bounds`: the acquisition's maximiser under the GP of
/// the observations so far.
pub fn suggest(xs: &[Vec<f64>], ys: &[f64], bounds: &[(f64, f64)], acq: Acquisition, rng: &mut impl Rng) -> Vec<f64> {
    let gp = Gp::fit(xs, ys);
    let best = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let uniform = |rng: &mut dyn rand::RngCore| -> Vec<f64> { bounds.iter().map(|&(a, b)| rng.random_range(a..=b)).collect() };
    let mut scored: Vec<(f64, Vec<f64>)> = (0..10_000)
        .map(|_| {
            let x = uniform(rng);
            (acq.value(&gp, &x, best), x)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.truncate(10);
    let mut top = scored[0].clone();
    for (mut v, mut x) in scored {
        // Shrinking local search: Gaussian steps in the box, kept when they improve.
        let mut step = 0.1;
        for _ in 0..200 {
            let y: Vec<f64> = x
                .iter()
                .zip(bounds)
                .map(|(&xi, &(a, b))| {
                    let z: f64 = rng.sample(rand_distr::StandardNormal);
                    (xi + step * (b - a) * z).clamp(a, b)
                })
                .collect();
            let w = acq.value(&gp, &y, best);
            if w > v {
                (v, x) = (w, y);
            } else {
                step *= 0.97;
            }
        }
        if v > top.0 {
            top = (v, x);
        }
    }
    top.1
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// The posterior interpolates its observations (noise 1e-6) and reverts to the prior far
    /// from them; the fitted length scale of a smooth function is of the function's scale.
    #[test]
    fn posterior_interpolates_and_reverts() {
        let xs: Vec<Vec<f64>> = (0..8).map(|i| vec![i as f64 / 7.0]).collect();
        let ys: Vec<f64> = xs.iter().map(|x| (3.0 * x[0]).sin()).collect();
        let gp = Gp::fit(&xs, &ys);
        for (x, y) in xs.iter().zip(&ys) {
            let (m, s) = gp.predict(x);
            assert!((m - y).abs() < 1e-3 && s < 1e-2, "{m} vs {y}, sd {s}");
        }
        let (m, s) = gp.predict(&[1e3]);
        let mean = ys.iter().sum::<f64>() / 8.0;
        assert!((m - mean).abs() < 1e-6 && s > 0.1, "{m} {s}");
        assert!(gp.length_scale() > 0.1 && gp.length_scale() < 10.0, "{}", gp.length_scale());
    }

    /// EI by hand at one point: the closed form against a numerical integral.
    #[test]
    fn expected_improvement_matches_its_integral() {
        let xs = vec![vec![0.0], vec![1.0]];
        let ys = vec![0.0, 1.0];
        let gp = Gp::fit(&xs, &ys);
        let x = [0.6];
        let (mu, sd) = gp.predict(&x);
        let ei = Acquisition::Ei { xi: 0.0 }.value(&gp, &x, 1.0);
        let n = 200_000;
        let integral: f64 = (0..n)
            .map(|i| {
                let z = -8.0 + 16.0 * (i as f64 + 0.5) / n as f64;
                (mu + sd * z - 1.0).max(0.0) * normal_pdf(z) * 16.0 / n as f64
            })
            .sum();
        assert!((ei - integral).abs() < 1e-6, "{ei} vs {integral}");
    }

    /// BO finds the maximum of a smooth 2-d function in few evaluations.
    #[test]
    fn bo_climbs_a_smooth_function() {
        let f = |x: &[f64]| -((x[0] - 0.3).powi(2) + (x[1] + 0.5).powi(2));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let bounds = [(-1.0, 1.0), (-1.0, 1.0)];
        let mut xs: Vec<Vec<f64>> = (0..3).map(|_| bounds.iter().map(|&(a, b)| rng.random_range(a..b)).collect()).collect();
        let mut ys: Vec<f64> = xs.iter().map(|x| f(x)).collect();
        for _ in 0..15 {
            let x = suggest(&xs, &ys, &bounds, Acquisition::Ucb { kappa: 2.576 }, &mut rng);
            ys.push(f(&x));
            xs.push(x);
        }
        let best = ys.iter().copied().fold(f64::MIN, f64::max);
        assert!(best > -0.01, "best {best}");
    }
}
