//! Combining proxies: a fitted, weighted combination in the spirit of LIBRA-NAS / RoBoT,
//! evaluated only out of fold.
//!
//! Each fold's fit sees its training archs only: every member's scores become normalised
//! ranks (rank / n within the fold's archs, non-finite last), members are chosen by greedy
//! forward selection (add the member whose least-squares weighting of the normalised ranks
//! against the accuracy's normalised rank gives the largest Spearman ρ on the training archs;
//! stop when no member adds `MIN_GAIN`, at most `MAX_MEMBERS`), and the weights are those
//! least-squares weights. A held-out arch is then scored by the same weights on where each
//! member's score of it falls among the training archs' scores (the scale of the training
//! ranks; no held-out accuracy enters anything), and the out-of-fold scores of all folds
//! together are what ρ is taken on.

use crate::stats::{average_ranks, rank_last_nonfinite, spearman_rho};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;

/// Members a fit may use at most.
pub const MAX_MEMBERS: usize = 5;
/// Training-ρ gain a member must add to be chosen.
pub const MIN_GAIN: f64 = 0.002;

/// One fold's fit: chosen members (indices into the candidate proxies) and their weights.
#[derive(Debug, Clone, Serialize)]
pub struct FoldFit {
    pub members: Vec<usize>,
    pub weights: Vec<f64>,
    /// ρ on the fold's training archs.
    pub train_rho: f64,
}

/// A fitted combination's out-of-fold scores and every fold's fit.
#[derive(Debug, Clone, Serialize)]
pub struct Fitted {
    /// Per arch, its score from the fold that held it out (comparable across folds: a
    /// weighted sum of normalised ranks).
    pub scores: Vec<f64>,
    pub folds: Vec<FoldFit>,
    pub k: usize,
    pub seed: u64,
}

impl Fitted {
    /// How often each member was chosen, most often first: `(member, folds)`.
    pub fn chosen(&self) -> Vec<(usize, usize)> {
        chosen_counts(&self.folds)
    }
}

/// How often fits chose each member, most often first: `(member, fits)`.
pub fn chosen_counts<'a>(fits: impl IntoIterator<Item = &'a FoldFit>) -> Vec<(usize, usize)> {
    let mut counts: Vec<(usize, usize)> = Vec::new();
    for f in fits {
        for &m in &f.members {
            match counts.iter_mut().find(|(x, _)| *x == m) {
                Some((_, n)) => *n += 1,
                None => counts.push((m, 1)),
            }
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts
}

fn normalised_ranks(values: &[f64]) -> Vec<f64> {
    let n = values.len().max(1) as f64;
    average_ranks(&rank_last_nonfinite(values)).into_iter().map(|r| r / n).collect()
}

/// A member's normalised ranks among the `train` archs (the fit's feature on them).
fn train_ranks(member: &[f64], train: &[usize]) -> Vec<f64> {
    normalised_ranks(&train.iter().map(|&i| member[i]).collect::<Vec<_>>())
}

/// The `rest` archs' places among the `train` archs' scores of a member ([`empirical_cdf`]).
fn placed(member: &[f64], train: &[usize], rest: &[usize]) -> Vec<f64> {
    let reference: Vec<f64> = train.iter().map(|&i| member[i]).collect();
    rest.iter().map(|&i| empirical_cdf(&reference, member[i])).collect()
}

/// Where `v` falls among the training archs' scores of a member, on the scale of
/// [`normalised_ranks`] (its rank among them, ties halved, / n; non-finite lowest). Uses the
/// training archs' scores, never their accuracies.
fn empirical_cdf(reference: &[f64], v: f64) -> f64 {
    let n = reference.len().max(1) as f64;
    if !v.is_finite() {
        return 0.5 * reference.iter().filter(|r| !r.is_finite()).count() as f64 / n;
    }
    let below = reference.iter().filter(|&&r| !r.is_finite() || r < v).count() as f64;
    let ties = reference.iter().filter(|&&r| r == v).count() as f64;
    (below + 0.5 * ties + 0.5) / n
}

/// Least-squares weights (with an intercept, dropped) of `features` (per member a column)
/// against `target`; None when the system is singular.
#[allow(clippy::needless_range_loop)] // matrix code reads best with indices
fn least_squares(features: &[Vec<f64>], target: &[f64]) -> Option<Vec<f64>> {
    let p = features.len() + 1;
    let n = target.len();
    let x = |i: usize, j: usize| if j == 0 { 1.0 } else { features[j - 1][i] };
    // Normal equations A w = b.
    let mut a = vec![vec![0.0; p + 1]; p];
    for (r, row) in a.iter_mut().enumerate() {
        for c in 0..p {
            row[c] = (0..n).map(|i| x(i, r) * x(i, c)).sum();
        }
        row[p] = (0..n).map(|i| x(i, r) * target[i]).sum();
    }
    // Gaussian elimination with partial pivoting.
    for col in 0..p {
        let pivot = (col..p).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        for r in 0..p {
            if r != col {
                let f = a[r][col] / a[col][col];
                for c in col..=p {
                    a[r][c] -= f * a[col][c];
                }
            }
        }
    }
    Some((1..p).map(|j| a[j][p] / a[j][j]).collect())
}

fn combine(features: &[&Vec<f64>], weights: &[f64]) -> Vec<f64> {
    let n = features.first().map_or(0, |f| f.len());
    (0..n).map(|i| features.iter().zip(weights).map(|(f, w)| w * f[i]).sum()).collect()
}

/// Fits on `train` (indices), returns the fold's fit.
fn fit(members: &[Vec<f64>], accuracy: &[f64], train: &[usize]) -> FoldFit {
    let ranks: Vec<Vec<f64>> = members.iter().map(|m| train_ranks(m, train)).collect();
    let target = train_ranks(accuracy, train);
    let mut chosen: Vec<usize> = Vec::new();
    let mut weights: Vec<f64> = Vec::new();
    let mut best_rho = f64::NEG_INFINITY;
    while chosen.len() < MAX_MEMBERS.min(members.len()) {
        let mut step: Option<(usize, Vec<f64>, f64)> = None;
        for m in (0..members.len()).filter(|m| !chosen.contains(m)) {
            let mut trial = chosen.clone();
            trial.push(m);
            let cols: Vec<Vec<f64>> = trial.iter().map(|&t| ranks[t].clone()).collect();
            let Some(w) = least_squares(&cols, &target) else { continue };
            let rho = spearman_rho(&combine(&cols.iter().collect::<Vec<_>>(), &w), &target);
            if rho.is_finite() && step.as_ref().is_none_or(|s| rho > s.2) {
                step = Some((m, w, rho));
            }
        }
        match step {
            Some((m, w, rho)) if rho > best_rho + MIN_GAIN || chosen.is_empty() => {
                chosen.push(m);
                weights = w;
                best_rho = rho;
            }
            _ => break,
        }
    }
    FoldFit { members: chosen, weights, train_rho: best_rho }
}

/// The fit's scores of the archs `held_out`, each member's score placed among the `train`
/// archs' scores of it (no held-out accuracy enters).
fn score_held_out(members: &[Vec<f64>], fit: &FoldFit, train: &[usize], held_out: &[usize]) -> Vec<f64> {
    let ranks: Vec<Vec<f64>> = fit.members.iter().map(|&m| placed(&members[m], train, held_out)).collect();
    combine(&ranks.iter().collect::<Vec<_>>(), &fit.weights)
}

/// Fits a weighted combination of `members` (per member, its scores of every arch) to
/// `accuracy` by `k`-fold cross-validation over archs (folds drawn with `seed`); returns
/// out-of-fold scores only.
pub fn fit_out_of_fold(members: &[Vec<f64>], accuracy: &[f64], k: usize, seed: u64) -> Fitted {
    let n = accuracy.len();
    let k = k.clamp(2, n.max(2));
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    let mut scores = vec![f64::NAN; n];
    let mut folds = Vec::new();
    for f in 0..k {
        let test: Vec<usize> = order.iter().copied().skip(f).step_by(k).collect();
        let train: Vec<usize> = order.iter().copied().filter(|i| !test.contains(i)).collect();
        if test.is_empty() || train.len() < 3 {
            continue;
        }
        let fold = fit(members, accuracy, &train);
        let held_out = score_held_out(members, &fold, &train, &test);
        for (&i, s) in test.iter().zip(held_out) {
            scores[i] = s;
        }
        folds.push(fold);
    }
    Fitted { scores, folds, k, seed }
}

/// What learns from the labelled archs in few-shot prediction. All read the same member
/// features: each member's scores as normalised ranks among the labelled archs, an unlabelled
/// arch placed where its score falls among theirs; the target is the labelled archs' accuracy
/// rank. `GpGraph` also reads the space's graph features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Learner {
    /// Greedy member choice and least-squares weights, as a fold of [`fit_out_of_fold`].
    Greedy,
    /// A Gaussian process on every member ([`crate::gp`]).
    Gp,
    /// The same Gaussian process on every member and every graph feature of the arch (each
    /// scaled to [0, 1] over the labelled archs, the range of the member features), as GRAF
    /// (Kadlecová et al., ICML 2024) feeds a predictor graph features beside zero-cost proxies.
    GpGraph,
}

impl Learner {
    pub const ALL: [Learner; 3] = [Learner::Greedy, Learner::Gp, Learner::GpGraph];

    pub fn name(self) -> &'static str {
        match self {
            Learner::Greedy => "greedy",
            Learner::Gp => "gp",
            Learner::GpGraph => "gp_graph",
        }
    }

    pub fn about(self) -> &'static str {
        match self {
            Learner::Greedy => "greedy member choice, least-squares weights",
            Learner::Gp => "Gaussian process (constant × RBF + white noise, marginal likelihood) on every member",
            Learner::GpGraph => "the same Gaussian process on every member and the space's graph features",
        }
    }

    /// Whether it reads the space's graph features.
    pub fn needs_graph(self) -> bool {
        self == Learner::GpGraph
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.name() == text.trim())
    }
}

/// A few-shot draw's fit, by learner.
#[derive(Debug, Clone, Serialize)]
pub enum LearnerFit {
    Greedy(FoldFit),
    Gp(crate::gp::GpFit),
}

/// One few-shot draw: `k` labelled archs, the fit on them, and ρ on every other arch.
#[derive(Debug, Clone, Serialize)]
pub struct FewShotDraw {
    pub seed: u64,
    /// The labelled archs (indices).
    pub labelled: Vec<usize>,
    pub fit: LearnerFit,
    /// Spearman ρ of the fitted scores with accuracy over the unlabelled archs only (0 when
    /// the fit gave them all one score).
    pub rho: f64,
    /// Kendall τ-b over the same archs (likewise).
    pub tau: f64,
    /// Whether the fit gave every unlabelled arch the same score (it ranks nothing).
    pub constant: bool,
}

/// Few-shot prediction with `k` labels: for each seed, `k` archs drawn at random are
/// labelled, `learner` is fitted on them alone and scores every other arch, whose accuracies
/// enter nothing but the ρ reported for that draw. The draws depend on the seeds only, so every
/// learner sees the same labelled archs. `graph`: per graph feature, its value for every arch
/// (read by [`Learner::GpGraph`] only, which gives no draws without them).
pub fn few_shot(
    members: &[Vec<f64>],
    graph: &[Vec<f64>],
    accuracy: &[f64],
    k: usize,
    seeds: &[u64],
    learner: Learner,
) -> Vec<FewShotDraw> {
    let n = accuracy.len();
    let mut draws = Vec::new();
    if k < 3 || k >= n || (learner.needs_graph() && graph.is_empty()) {
        return draws;
    }
    for &seed in seeds {
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
        let (labelled, rest) = order.split_at(k);
        let mut labelled = labelled.to_vec();
        labelled.sort_unstable();
        let (fit, scores) = match learner {
            Learner::Greedy => {
                let fit = fit(members, accuracy, &labelled);
                let scores = score_held_out(members, &fit, &labelled, rest);
                (LearnerFit::Greedy(fit), scores)
            }
            Learner::Gp | Learner::GpGraph => {
                let (mut x, mut x_rest) = rank_features(members, &labelled, rest);
                if learner.needs_graph() {
                    for feature in graph {
                        let (train, others) = scaled_to_train(feature, &labelled, rest);
                        x.iter_mut().zip(train).for_each(|(row, v)| row.push(v));
                        x_rest.iter_mut().zip(others).for_each(|(row, v)| row.push(v));
                    }
                }
                let (fit, scores) = crate::gp::fit_predict(&x, &train_ranks(accuracy, &labelled), &x_rest);
                (LearnerFit::Gp(fit), scores)
            }
        };
        let truth: Vec<f64> = rest.iter().map(|&i| accuracy[i]).collect();
        // One value for every unlabelled arch (a GP that fits the labels as noise) ranks
        // nothing: ρ and τ are 0, their value when the ties are broken at random.
        let constant = scores.windows(2).all(|w| w[0] == w[1]);
        let (rho, tau) =
            if constant { (0.0, 0.0) } else { (spearman_rho(&scores, &truth), crate::stats::kendall_tau(&scores, &truth)) };
        draws.push(FewShotDraw { seed, labelled, fit, rho, tau, constant });
    }
    draws
}

/// Feature vectors (one per arch, one entry per member) of the `train` archs — each member's
/// normalised ranks among them — and of the `rest`, placed among the train archs' scores.
fn rank_features(members: &[Vec<f64>], train: &[usize], rest: &[usize]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let rows =
        |columns: Vec<Vec<f64>>, n: usize| -> Vec<Vec<f64>> { (0..n).map(|i| columns.iter().map(|c| c[i]).collect()).collect() };
    (
        rows(members.iter().map(|m| train_ranks(m, train)).collect(), train.len()),
        rows(members.iter().map(|m| placed(m, train, rest)).collect(), rest.len()),
    )
}

/// A feature's values on the `train` archs and the `rest`, scaled so that the train archs span
/// [0, 1] (a constant feature is 0 on them; the rest may fall outside); uses no accuracy.
fn scaled_to_train(feature: &[f64], train: &[usize], rest: &[usize]) -> (Vec<f64>, Vec<f64>) {
    let (lo, hi) =
        train.iter().map(|&i| feature[i]).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let scale = |ids: &[usize]| ids.iter().map(|&i| (feature[i] - lo) / span).collect();
    (scale(train), scale(rest))
}

/// Mean and sample standard deviation of a statistic over draws (NaN sd for one draw).
pub fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    (mean, sd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// Few-shot, with each learner: informative members give a high ρ on the unlabelled rest
    /// from 30 labels; a shuffled accuracy (no relation to any member) gives ρ ≈ 0 there, though
    /// each greedy fit finds some training ρ; a labelled arch is never among those the ρ is taken
    /// on, and every learner labels the same archs for a seed.
    #[test]
    fn few_shot_learns_from_k_labels_and_leaks_nothing() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let n = 400;
        let a = c_noise(&mut rng, n);
        let b = c_noise(&mut rng, n);
        let acc: Vec<f64> = (0..n).map(|i| a[i] + 0.5 * b[i] + 0.05 * rng.random::<f64>()).collect();
        // The graph feature repeats an informative member: every learner reads what it needs.
        let graph = [b.clone()];
        let members = [a.clone(), b, c_noise(&mut rng, n)];
        let mut shuffled = acc.clone();
        shuffled.shuffle(&mut rng);
        let mut labelled = Vec::new();
        for learner in Learner::ALL {
            let draws = few_shot(&members, &graph, &acc, 30, &[1, 2, 3, 4, 5], learner);
            assert_eq!(draws.len(), 5);
            let (rho, _) = mean_sd(&draws.iter().map(|d| d.rho).collect::<Vec<_>>());
            assert!(rho > spearman_rho(&a, &acc) + 0.05 && rho > 0.9, "{learner:?}: few-shot ρ {rho}");
            assert!(draws.iter().all(|d| d.labelled.len() == 30 && d.labelled.windows(2).all(|w| w[0] < w[1])));
            labelled.push(draws.iter().map(|d| d.labelled.clone()).collect::<Vec<_>>());
            let draws = few_shot(&members, &graph, &shuffled, 30, &(1..=20).collect::<Vec<_>>(), learner);
            let rhos: Vec<f64> = draws.iter().map(|d| d.rho).filter(|r| r.is_finite()).collect();
            let (mean, _) = mean_sd(&rhos);
            assert!(rhos.len() >= 15 && mean.abs() < 0.05, "{learner:?}, shuffled target: mean ρ {mean} over {rhos:?}");
            if learner == Learner::Greedy {
                assert!(
                    draws.iter().all(|d| matches!(&d.fit, LearnerFit::Greedy(f) if f.train_rho > 0.0)),
                    "each fit finds some training ρ"
                );
            }
            assert!(few_shot(&members, &graph, &acc, 400, &[1], learner).is_empty(), "k = n leaves nothing to predict");
        }
        assert!(labelled.windows(2).all(|w| w[0] == w[1]), "the draws depend on the seeds only");
    }

    /// `gp_graph` learns from a graph feature that no member carries, and scaling it over the
    /// labelled archs lets no unlabelled accuracy in: against a shuffled target its ρ on the rest
    /// is ≈ 0. Without graph features it gives no draws.
    #[test]
    fn gp_graph_reads_what_the_members_lack_and_leaks_nothing() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let n = 300;
        let a = c_noise(&mut rng, n);
        // A graph feature on another scale, as counts are.
        let g: Vec<f64> = (0..n).map(|_| (rng.random::<f64>() * 6.0).floor()).collect();
        let acc: Vec<f64> = (0..n).map(|i| a[i] + g[i] / 6.0 + 0.05 * rng.random::<f64>()).collect();
        let members = [a, c_noise(&mut rng, n)];
        let graph = [g];
        let seeds: Vec<u64> = (1..=5).collect();
        let rho = |learner, acc: &[f64], seeds: &[u64]| {
            let draws = few_shot(&members, &graph, acc, 40, seeds, learner);
            assert_eq!(draws.len(), seeds.len());
            mean_sd(&draws.iter().map(|d| d.rho).collect::<Vec<_>>()).0
        };
        let (with, without) = (rho(Learner::GpGraph, &acc, &seeds), rho(Learner::Gp, &acc, &seeds));
        assert!(with > 0.9 && with > without + 0.1, "gp_graph ρ {with}, gp ρ {without}");
        let mut shuffled = acc.clone();
        shuffled.shuffle(&mut rng);
        let mean = rho(Learner::GpGraph, &shuffled, &(1..=20).collect::<Vec<_>>());
        assert!(mean.abs() < 0.05, "shuffled target: mean ρ {mean}");
        assert!(few_shot(&members, &[], &acc, 40, &seeds, Learner::GpGraph).is_empty());
        // Labels that say nothing (all alike): the GP scores every unlabelled arch alike, which
        // ranks nothing — ρ = τ = 0 and the draw says so.
        let flat = few_shot(&members, &graph, &vec![0.5; n], 40, &seeds, Learner::GpGraph);
        assert!(flat.iter().all(|d| d.constant && d.rho == 0.0 && d.tau == 0.0));
        assert!(few_shot(&members, &graph, &acc, 40, &seeds, Learner::GpGraph).iter().all(|d| !d.constant));
    }

    fn c_noise(rng: &mut impl Rng, n: usize) -> Vec<f64> {
        (0..n).map(|_| rng.random::<f64>()).collect()
    }

    #[test]
    fn least_squares_recovers_weights() {
        let a: Vec<f64> = (0..20).map(|i| i as f64).collect();
        let b: Vec<f64> = (0..20).map(|i| ((i * 7) % 11) as f64).collect();
        let y: Vec<f64> = a.iter().zip(&b).map(|(x, z)| 3.0 + 2.0 * x - 0.5 * z).collect();
        let w = least_squares(&[a, b], &y).unwrap();
        assert!((w[0] - 2.0).abs() < 1e-9 && (w[1] + 0.5).abs() < 1e-9, "{w:?}");
    }

    #[test]
    fn picks_informative_members_and_never_scores_a_training_arch() {
        // Accuracy = a + b + noise; c is noise. The fit picks a and b, out of fold.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let n = 200;
        let a: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
        let b: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
        let c: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
        let acc: Vec<f64> = (0..n).map(|i| a[i] + b[i] + 0.1 * rng.random::<f64>()).collect();
        let fitted = fit_out_of_fold(&[a.clone(), b, c], &acc, 5, 7);
        assert_eq!(fitted.folds.len(), 5);
        assert!(fitted.scores.iter().all(|s| s.is_finite()));
        let chosen = fitted.chosen();
        assert!(chosen.iter().any(|&(m, k)| m == 0 && k == 5) && chosen.iter().any(|&(m, k)| m == 1 && k == 5), "{chosen:?}");
        let rho = spearman_rho(&fitted.scores, &acc);
        assert!(rho > spearman_rho(&a, &acc) + 0.1, "combined {rho}");
        // Against an accuracy unrelated to every member, the out-of-fold ρ is near 0 even
        // though each fold's fit finds some training ρ.
        let unrelated: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
        let fitted = fit_out_of_fold(&[a, c_noise(&mut rng, n)], &unrelated, 5, 7);
        let rho = spearman_rho(&fitted.scores, &unrelated);
        assert!(rho.abs() < 0.2, "{rho}");
    }
}
