//! MTF-PDNS (multi-objective training-free Pareto-dominance novelty search; arXiv 2407.20656,
//! GECCO 2024; reference code ELO-Lab/PDNS `ns_nas_bench_201.py`), and the indicators it is
//! judged by.
//!
//! Objectives: SynFlow, Jacob_cov and SNIP (maximised) and FLOPs (minimised), as four
//! minimised values `[−synflow, −jacov, −snip, flops]`. An unbounded elitist archive keeps every
//! non-dominated evaluated arch (a new arch enters unless an archive member dominates it or has
//! its genes and objectives; it removes the members it dominates). A population of 20 uniform
//! random archs; each of 50 generations pairs the shuffled population for two-point crossover
//! (always; genes `[p1, p2)` swapped for `p1 < p2` drawn from the gene positions, so the last
//! gene never moves, as in the reference), mutates each gene with probability 1/len to another
//! of its choices, evaluates the 20 children and offers them to the archive one by one. The
//! novelty of each of the 40 parents and children is its mean Euclidean distance to every
//! archive member in the objective space min–max normalised over the 40 and the archive (the
//! maximised objectives as 1 − normalised), positive for archive members and negative for the
//! others; shuffled pairs of the 40 play a tournament, the 20 winners (the first on ties) are
//! the next population. 20 + 50·20 = 1,020 evaluations.
//!
//! Judged by hypervolume (reference point (1.05, 1.05)) and IGD+ of the archive's archs,
//! re-scored as (test error, FLOPs min–max normalised over the space) and reduced to their
//! non-dominated set, against the space's true front on the same axes.
//!
//! Deviation: the reference looks the objectives up in NAS-Bench-Suite-Zero's precomputed file;
//! swapnas computes them.

use anyhow::Result;
use rand::seq::SliceRandom;
use rand::Rng;
use swapnas_benchmarks::genome::Genome;

/// The proxies PDNS reads (maximised), then the cost it minimises.
pub const OBJECTIVES: &[&str] = swapnas_proxies::PDNS_OBJECTIVES.members;
/// How many of [`OBJECTIVES`] are maximised (the first ones).
const MAXIMISED: usize = swapnas_proxies::PDNS_OBJECTIVES.members.len() - swapnas_proxies::PDNS_OBJECTIVES.minimised;

/// The reference's settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub population: usize,
    pub generations: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { population: 20, generations: 50 }
    }
}

/// One evaluated arch: genes and its minimised objectives.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub genes: Vec<u8>,
    pub objectives: Vec<f64>,
}

/// `a` dominates `b` (minimisation): no worse anywhere, better somewhere.
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x <= y) && a.iter().zip(b).any(|(x, y)| x < y)
}

/// Offers `p` to the elitist archive; returns whether it entered.
pub fn offer(archive: &mut Vec<Point>, p: &Point) -> bool {
    if archive.iter().any(|a| (a.genes == p.genes && a.objectives == p.objectives) || dominates(&a.objectives, &p.objectives)) {
        return false;
    }
    archive.retain(|a| !dominates(&p.objectives, &a.objectives));
    archive.push(p.clone());
    true
}

/// Novelty of each of `pool` against `archive` (see the module doc).
pub fn novelty(pool: &[Point], archive: &[Point]) -> Vec<f64> {
    let d = pool.first().map_or(0, |p| p.objectives.len());
    let all: Vec<&Point> = pool.iter().chain(archive).collect();
    let (mut lo, mut hi) = (vec![f64::INFINITY; d], vec![f64::NEG_INFINITY; d]);
    for p in &all {
        for k in 0..d {
            if p.objectives[k].is_finite() {
                lo[k] = lo[k].min(p.objectives[k]);
                hi[k] = hi[k].max(p.objectives[k]);
            }
        }
    }
    let norm = |o: &[f64]| -> Vec<f64> {
        (0..d)
            .map(|k| {
                let v = if hi[k] > lo[k] { (o[k] - lo[k]) / (hi[k] - lo[k]) } else { 0.0 };
                // A failed proxy (infinite when minimised) is the worst.
                if v.is_finite() {
                    v
                } else {
                    1.0
                }
            })
            .collect()
    };
    let front: Vec<Vec<f64>> = archive.iter().map(|a| norm(&a.objectives)).collect();
    pool.iter()
        .map(|p| {
            let x = norm(&p.objectives);
            let mean = front.iter().map(|f| f.iter().zip(&x).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt()).sum::<f64>()
                / front.len().max(1) as f64;
            if archive.iter().any(|a| a.genes == p.genes) {
                mean
            } else {
                -mean
            }
        })
        .collect()
}

/// The objectives as PDNS minimises them from the raw `[synflow, jacov, snip, flops]`
/// (a non-finite proxy is the worst value).
pub fn minimised(raw: &[f64]) -> Vec<f64> {
    raw.iter()
        .enumerate()
        .map(|(k, &v)| {
            let v = if k < MAXIMISED { -v } else { v };
            if v.is_nan() {
                f64::INFINITY
            } else {
                v
            }
        })
        .collect()
}

fn two_point(genome: &Genome, a: &[u8], b: &[u8], rng: &mut impl Rng) -> (Vec<u8>, Vec<u8>) {
    let n = a.len();
    for _ in 0..100 {
        let mut cut = rand::seq::index::sample(rng, n, 2).into_vec();
        cut.sort_unstable();
        let (mut x, mut y) = (a.to_vec(), b.to_vec());
        for i in cut[0]..cut[1] {
            std::mem::swap(&mut x[i], &mut y[i]);
        }
        if (genome.valid)(&x) && (genome.valid)(&y) {
            return (x, y);
        }
    }
    (a.to_vec(), b.to_vec())
}

fn mutate(genome: &Genome, g: &[u8], rng: &mut impl Rng) -> Vec<u8> {
    let p = 1.0 / g.len() as f64;
    for _ in 0..100 {
        let child: Vec<u8> = g
            .iter()
            .zip(genome.choices)
            .map(|(&v, &c)| if c > 1 && rng.random_bool(p) { (v + rng.random_range(1..c)) % c } else { v })
            .collect();
        if (genome.valid)(&child) {
            return child;
        }
    }
    g.to_vec()
}

/// Runs PDNS; `eval` gives an arch's minimised objectives. Returns the final archive and, per
/// evaluation, the archive's genes after it (for the indicators' curves).
pub fn pdns(
    genome: &Genome,
    settings: Settings,
    rng: &mut impl Rng,
    eval: &mut dyn FnMut(&[u8]) -> Result<Vec<f64>>,
) -> Result<(Vec<Point>, usize)> {
    let mut archive: Vec<Point> = Vec::new();
    let mut evaluations = 0;
    let mut evaluate = |genes: Vec<u8>, archive: &mut Vec<Point>| -> Result<Point> {
        let p = Point { objectives: eval(&genes)?, genes };
        evaluations += 1;
        offer(archive, &p);
        Ok(p)
    };
    let mut population = Vec::with_capacity(settings.population);
    for _ in 0..settings.population {
        let g = genome.random(rng)?;
        population.push(evaluate(g, &mut archive)?);
    }
    for _ in 0..settings.generations {
        let mut parents = population.clone();
        parents.shuffle(rng);
        let mut children = Vec::with_capacity(parents.len());
        for pair in parents.chunks(2) {
            match pair {
                [a, b] => {
                    let (x, y) = two_point(genome, &a.genes, &b.genes, rng);
                    children.push(x);
                    children.push(y);
                }
                [a] => children.push(a.genes.clone()),
                _ => unreachable!(),
            }
        }
        let mut pool = population;
        for c in children {
            let c = mutate(genome, &c, rng);
            pool.push(evaluate(c, &mut archive)?);
        }
        let fit = novelty(&pool, &archive);
        let mut order: Vec<usize> = (0..pool.len()).collect();
        order.shuffle(rng);
        population = order
            .chunks(2)
            .map(|p| if p.len() == 1 || fit[p[0]] >= fit[p[1]] { pool[p[0]].clone() } else { pool[p[1]].clone() })
            .collect();
    }
    Ok((archive, evaluations))
}

/// The non-dominated subset of 2-d points (minimisation), sorted by the first objective;
/// duplicates kept once.
pub fn front(points: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let mut f: Vec<[f64; 2]> = points.iter().copied().filter(|p| !points.iter().any(|q| dominates(q, p))).collect();
    f.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    f.dedup();
    f
}

/// Hypervolume of 2-d points (minimisation) against `reference`.
pub fn hypervolume(points: &[[f64; 2]], reference: [f64; 2]) -> f64 {
    let f = front(points);
    let mut hv = 0.0;
    let mut y_prev = reference[1];
    for p in f.iter().filter(|p| p[0] < reference[0] && p[1] < reference[1]) {
        if p[1] < y_prev {
            hv += (reference[0] - p[0]) * (y_prev - p[1]);
            y_prev = p[1];
        }
    }
    hv
}

/// IGD+ (Ishibuchi et al. 2015) of `points` against the true front `truth`: the mean over the
/// true front of the smallest modified distance √Σ max(a_k − z_k, 0)².
pub fn igd_plus(points: &[[f64; 2]], truth: &[[f64; 2]]) -> f64 {
    truth
        .iter()
        .map(|z| {
            points
                .iter()
                .map(|a| ((a[0] - z[0]).max(0.0).powi(2) + (a[1] - z[1]).max(0.0).powi(2)).sqrt())
                .fold(f64::INFINITY, f64::min)
        })
        .sum::<f64>()
        / truth.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use swapnas_benchmarks::genome::always_valid;

    fn pt(g: u8, o: &[f64]) -> Point {
        Point { genes: vec![g], objectives: o.to_vec() }
    }

    #[test]
    fn dominance_and_archive_by_hand() {
        assert!(dominates(&[1.0, 2.0], &[1.0, 3.0]));
        assert!(!dominates(&[1.0, 2.0], &[1.0, 2.0]), "equal points do not dominate");
        assert!(!dominates(&[0.0, 3.0], &[1.0, 2.0]), "a trade-off");
        let mut a = Vec::new();
        assert!(offer(&mut a, &pt(0, &[2.0, 2.0])));
        assert!(offer(&mut a, &pt(1, &[1.0, 3.0])), "a trade-off enters");
        assert!(!offer(&mut a, &pt(2, &[3.0, 3.0])), "dominated: out");
        assert!(!offer(&mut a, &pt(0, &[2.0, 2.0])), "the same genes and objectives: once");
        assert!(offer(&mut a, &pt(3, &[2.0, 2.0])), "equal objectives, other genes: in");
        assert!(offer(&mut a, &pt(4, &[1.0, 1.0])), "dominates all");
        assert_eq!(a, vec![pt(4, &[1.0, 1.0])], "and removes them");
    }

    #[test]
    fn novelty_by_hand() {
        // Archive {A (0,0), B (1,1)}; pool {A, C (0,1)}; normalised over pool ∪ archive the
        // values stay as they are (each column spans [0, 1]).
        let (a, b, c) = (pt(0, &[0.0, 0.0]), pt(1, &[1.0, 1.0]), pt(2, &[0.0, 1.0]));
        let archive = vec![a.clone(), b];
        let nov = novelty(&[a, c], &archive);
        let s2 = 2f64.sqrt();
        assert!((nov[0] - s2 / 2.0).abs() < 1e-12, "A: +mean(0, √2) = {}", nov[0]);
        assert!((nov[1] + 1.0).abs() < 1e-12, "C, not in the archive: −mean(1, 1) = {}", nov[1]);
    }

    #[test]
    fn indicators_by_hand() {
        let pts = [[0.2, 0.8], [0.5, 0.5], [0.6, 0.9]];
        // Front {(0.2, 0.8), (0.5, 0.5)}; ref (1, 1): 0.8·0.2 + 0.5·0.3 = 0.31.
        assert!((hypervolume(&pts, [1.0, 1.0]) - 0.31).abs() < 1e-12);
        let truth = [[0.1, 0.8], [0.5, 0.4]];
        // z1 = (0.1, 0.8): nearest (0.2, 0.8) → 0.1; z2 = (0.5, 0.4): (0.5, 0.5) → 0.1.
        assert!((igd_plus(&pts, &truth) - 0.1).abs() < 1e-12);
        assert_eq!(igd_plus(&truth, &truth), 0.0);
    }

    /// On a toy landscape PDNS's archive is exactly the true front of what it evaluated, and
    /// it spends 20 + 50·20 evaluations.
    #[test]
    fn archive_is_the_evaluated_front() {
        const G: Genome = Genome {
            choices: &[5; 6],
            valid: always_valid,
            label: |g| format!("{g:?}"),
            table_complete: true,
            largest_params: None,
        };
        let mut seen: Vec<Point> = Vec::new();
        let mut eval = |g: &[u8]| -> Result<Vec<f64>> {
            let o = vec![-(g[0] as f64 + g[1] as f64), g.iter().map(|&x| x as f64).sum::<f64>()];
            seen.push(Point { genes: g.to_vec(), objectives: o.clone() });
            Ok(o)
        };
        let (archive, n) = pdns(&G, Settings::default(), &mut rand_chacha::ChaCha8Rng::seed_from_u64(1), &mut eval).unwrap();
        assert_eq!(n, 1020);
        for a in &archive {
            assert!(!seen.iter().any(|s| dominates(&s.objectives, &a.objectives)));
        }
        for s in &seen {
            assert!(
                archive.iter().any(|a| a.objectives == s.objectives)
                    || archive.iter().any(|a| dominates(&a.objectives, &s.objectives))
            );
        }
    }
}
