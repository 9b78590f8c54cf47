//! Same-function classes of cell architectures: which archs of a cell space compute the same
//! random function at initialisation, so that a proxy whose score depends on nothing else
//! scores one network per class (README, Speed).
//!
//! A cell is a DAG: node 0 is its input, the last node its output, and every other node the sum
//! of its incoming edges' ops. At initialisation:
//! * [`CellOp::Zero`] contributes nothing (`x·0`, zero gradient);
//! * [`CellOp::Identity`] passes its node on, so sums flatten (`(a + b) + c = a + b + c`);
//! * [`CellOp::Linear`] is a parameter-free linear map (NB201's 3×3 average pooling,
//!   `count_include_pad=False`), so it distributes over sums and maps zero to zero;
//! * [`CellOp::Weighted`] is an op with weights of its own (ReLU-conv-BN): a fresh random
//!   function per edge, which maps zero to zero at initialisation (no bias, BN's β = 0), so a
//!   weighted op whose input node is zero is zero, and its weights get zero gradient.
//!
//! A node's value is then a multiset of atoms `Linearᵏ(base)`, where a base is the cell input or
//! one weighted op's output (an *instance*, with its kind and its input value). Only instances
//! the output reaches count; the canonical form is the smallest encoding of the output's value
//! and the reached instances over every numbering of those instances, so two cells share it
//! exactly when they are the same expression DAG: isomorphic cells, edges cut off by a zero
//! (none) edge, ops whose input is zero, and skip or pooling paths that reach the same atoms
//! all land in one class. Shared instances are kept apart from distinct ones of the same kind
//! (`f(x) + f(x)` with one conv twice is not `f(x) + g(x)` with two): the nas_201_api string
//! (`to_unique_str(consider_zero=True)`) conflates these and keeps zero terms in sums, so its
//! 6,466 NB201 classes are not these (tests state both counts).
//!
//! What this does not merge: ops equal only up to BN's ε (`conv(2a)` vs `conv(a)`), and trained
//! networks (a conv on a zero node learns a bias through β): a class is a class of networks
//! *at initialisation*, which is what zero-cost proxies score. Each arch keeps its own trained
//! accuracy in every table.

use std::collections::HashMap;

/// What an edge's op does at initialisation (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CellOp {
    Zero,
    Identity,
    /// A parameter-free linear map.
    Linear,
    /// An op with its own weights, of the given kind (ops of different kinds are different
    /// random functions).
    Weighted(u8),
}

/// Path features of a cell (edge `e` runs `edges[e] = (from, to)` with `ops[e]`; node 0 the
/// input, the largest node the output; every edge runs forward), over its *open* input → output
/// paths — those without a [`CellOp::Zero`] edge: how many there are, the most and the fewest
/// weighted ops (convolutions) on one, and the fewest and the most edges on one. Without an open
/// path (the output is 0) the counts of weighted ops are −1 and the fewest and most edges one
/// more than the nodes a path can pass (`last + 1`). What spaces' `graph_features` share.
pub fn open_path_features(edges: &[(usize, usize)], ops: &[CellOp]) -> OpenPaths {
    assert_eq!(edges.len(), ops.len(), "one op per edge");
    let last = edges.iter().map(|&(_, t)| t).max().unwrap_or(0);
    // Per node, over the open paths from the input to it: how many, and the fewest / most
    // weighted ops and edges on one (nodes in index order are in topological order).
    let mut paths = vec![0.0f64; last + 1];
    let mut weighted = vec![(f64::INFINITY, f64::NEG_INFINITY); last + 1];
    let mut length = vec![(f64::INFINITY, f64::NEG_INFINITY); last + 1];
    paths[0] = 1.0;
    weighted[0] = (0.0, 0.0);
    length[0] = (0.0, 0.0);
    for node in 1..=last {
        for (&(from, _), &op) in edges.iter().zip(ops).filter(|&(&(_, to), &op)| to == node && op != CellOp::Zero) {
            if paths[from] == 0.0 {
                continue;
            }
            let w = if matches!(op, CellOp::Weighted(_)) { 1.0 } else { 0.0 };
            paths[node] += paths[from];
            weighted[node] = (weighted[node].0.min(weighted[from].0 + w), weighted[node].1.max(weighted[from].1 + w));
            length[node] = (length[node].0.min(length[from].0 + 1.0), length[node].1.max(length[from].1 + 1.0));
        }
    }
    if paths[last] == 0.0 {
        let beyond = (last + 1) as f64;
        return OpenPaths { count: 0.0, weighted_max: -1.0, weighted_min: -1.0, edges_min: beyond, edges_max: beyond };
    }
    OpenPaths {
        count: paths[last],
        weighted_max: weighted[last].1,
        weighted_min: weighted[last].0,
        edges_min: length[last].0,
        edges_max: length[last].1,
    }
}

/// [`open_path_features`]' result, over a cell's open input → output paths.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpenPaths {
    /// How many there are.
    pub count: f64,
    /// The most / fewest weighted ops on one (−1 without an open path).
    pub weighted_max: f64,
    pub weighted_min: f64,
    /// The fewest / most edges on one (`last + 1` without an open path).
    pub edges_min: f64,
    pub edges_max: f64,
}

impl OpenPaths {
    /// How many, the most and fewest weighted ops on one, the fewest edges on one: the four
    /// features NB201's and TransNAS-Bench-101 micro's cells take (one place for their order).
    pub fn count_weighted_shortest(&self) -> [f64; 4] {
        [self.count, self.weighted_max, self.weighted_min, self.edges_min]
    }
}

/// An atom `Linearᵏ(base)`: `(k, base)` with base 0 the cell input and `i + 1` instance `i`.
type Atom = (u32, u32);

/// A cell's canonical form: equal for two cells exactly when they compute the same random
/// function at initialisation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellKey(Vec<u32>);

/// The canonical form of the cell whose edge `e` runs `edges[e] = (from, to)` with `ops[e]`
/// (node 0 the input, the largest node the output; every edge runs forward).
pub fn canonical_key(edges: &[(usize, usize)], ops: &[CellOp]) -> CellKey {
    assert_eq!(edges.len(), ops.len(), "one op per edge");
    let last = edges.iter().map(|&(_, t)| t).max().unwrap_or(0);
    // Instances: (kind, input value); node values as sorted atom lists.
    let mut instances: Vec<(u8, Vec<Atom>)> = Vec::new();
    let mut values: Vec<Vec<Atom>> = vec![vec![(0, 0)]];
    for to in 1..=last {
        let mut sum = Vec::new();
        for (&(from, _), &op) in edges.iter().zip(ops).filter(|((_, t), _)| *t == to) {
            assert!(from < to, "edge {from} → {to} does not run forward");
            let input = &values[from];
            if input.is_empty() {
                continue;
            }
            match op {
                CellOp::Zero => {}
                CellOp::Identity => sum.extend_from_slice(input),
                CellOp::Linear => sum.extend(input.iter().map(|&(k, b)| (k + 1, b))),
                CellOp::Weighted(kind) => {
                    instances.push((kind, input.clone()));
                    sum.push((0, instances.len() as u32));
                }
            }
        }
        sum.sort_unstable();
        values.push(sum);
    }
    let output = values.pop().expect("the input node at least");
    // The instances the output reaches.
    let mut live = vec![false; instances.len()];
    let mut stack: Vec<u32> = output.iter().map(|&(_, b)| b).filter(|&b| b > 0).collect();
    while let Some(b) = stack.pop() {
        let i = b as usize - 1;
        if !std::mem::replace(&mut live[i], true) {
            stack.extend(instances[i].1.iter().map(|&(_, b)| b).filter(|&b| b > 0));
        }
    }
    let live: Vec<usize> = (0..instances.len()).filter(|&i| live[i]).collect();
    let mut order: Vec<usize> = (0..live.len()).collect();
    let mut best: Option<Vec<u32>> = None;
    let mut rename = vec![0u32; instances.len() + 1];
    loop {
        for (new, &slot) in order.iter().enumerate() {
            rename[live[slot] + 1] = new as u32 + 1;
        }
        let encoded = encode(&instances, &live, &order, &rename, &output);
        if best.as_ref().is_none_or(|b| encoded < *b) {
            best = Some(encoded);
        }
        if !next_permutation(&mut order) {
            break;
        }
    }
    CellKey(best.expect("at least one numbering"))
}

/// The DAG under one numbering: per instance in the new order its kind and renamed input
/// atoms, then the output's atoms.
fn encode(instances: &[(u8, Vec<Atom>)], live: &[usize], order: &[usize], rename: &[u32], output: &[Atom]) -> Vec<u32> {
    let atoms = |v: &[Atom], out: &mut Vec<u32>| {
        let mut renamed: Vec<Atom> = v.iter().map(|&(k, b)| (k, rename[b as usize])).collect();
        renamed.sort_unstable();
        out.push(renamed.len() as u32);
        out.extend(renamed.into_iter().flat_map(|(k, b)| [k, b]));
    };
    let mut out = vec![live.len() as u32];
    for &slot in order {
        let (kind, input) = &instances[live[slot]];
        out.push(u32::from(*kind));
        atoms(input, &mut out);
    }
    atoms(output, &mut out);
    out
}

/// The next permutation in lexicographic order; false after the last.
fn next_permutation(p: &mut [usize]) -> bool {
    let Some(i) = (1..p.len()).rev().find(|&i| p[i - 1] < p[i]) else { return false };
    let j = (i..p.len()).rev().find(|&j| p[j] > p[i - 1]).expect("p[i] is larger");
    p.swap(i - 1, j);
    p[i..].reverse();
    true
}

/// The classes of a space's archs `0..n` (by ordinal) under `key`: for each arch, the smallest
/// ordinal with its key (its class's representative).
pub fn representatives<K: Eq + std::hash::Hash>(n: usize, key: impl Fn(usize) -> K) -> Vec<u32> {
    let mut first: HashMap<K, u32> = HashMap::new();
    (0..n).map(|i| *first.entry(key(i)).or_insert(i as u32)).collect()
}

/// How many classes `representatives` found.
pub fn class_count(representatives: &[u32]) -> usize {
    representatives.iter().enumerate().filter(|&(i, &r)| i as u32 == r).count()
}

/// The independent check of the canonical form (tests): each cell evaluated as arithmetic
/// modulo the prime 2⁶¹ − 1 on two random inputs, with every weighted edge one of three keyed
/// random odd cubics of its kind (zero to zero, like a fresh ReLU-conv-BN), the linear op a
/// multiplication by a random constant; the cell's fingerprint is the distribution of its two
/// outputs over all key draws of its weighted edges. It never builds the expression DAG, so
/// archs with equal fingerprints and equal canonical keys agree for independent reasons.
#[cfg(test)]
pub(crate) fn numeric_fingerprint(edges: &[(usize, usize)], ops: &[CellOp]) -> Vec<((u64, u64), u64)> {
    const P: u64 = (1 << 61) - 1;
    const KEYS: usize = 3;
    let mul = |a: u64, b: u64| ((a as u128 * b as u128) % P as u128) as u64;
    // Fixed "random" constants (splitmix64 of small seeds).
    let constant = |i: u64| {
        let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % P
    };
    let inputs = [constant(1), constant(2)];
    let linear = constant(3);
    let weighted: Vec<usize> = (0..ops.len()).filter(|&e| matches!(ops[e], CellOp::Weighted(_))).collect();
    let last = edges.iter().map(|&(_, t)| t).max().unwrap_or(0);
    let mut counts: HashMap<(u64, u64), u64> = HashMap::new();
    for draw in 0..KEYS.pow(weighted.len() as u32) {
        let mut key = vec![0usize; ops.len()];
        let mut rest = draw;
        for &e in &weighted {
            key[e] = rest % KEYS;
            rest /= KEYS;
        }
        let out = inputs.map(|x| {
            let mut nodes = vec![x];
            for to in 1..=last {
                let mut sum = 0;
                for (e, &(from, _)) in edges.iter().enumerate().filter(|(_, (_, t))| *t == to) {
                    let a = nodes[from];
                    let y = match ops[e] {
                        CellOp::Zero => 0,
                        CellOp::Identity => a,
                        CellOp::Linear => mul(a, linear),
                        CellOp::Weighted(kind) => {
                            let seed = 100 + 10 * u64::from(kind) + 2 * key[e] as u64;
                            let cube = mul(mul(a, a), a);
                            (mul(cube, constant(seed)) + mul(a, constant(seed + 1))) % P
                        }
                    };
                    sum = (sum + y) % P;
                }
                nodes.push(sum);
            }
            nodes[last]
        });
        *counts.entry((out[0], out[1])).or_default() += 1;
    }
    // Draws of unreached edges only repeat each outcome: scale to a common denominator.
    let scale = KEYS.pow((ops.len() - weighted.len()) as u32) as u64;
    let mut fingerprint: Vec<_> = counts.into_iter().map(|(o, c)| (o, c * scale)).collect();
    fingerprint.sort_unstable();
    fingerprint
}

#[cfg(test)]
mod tests {
    use super::*;
    use CellOp::*;

    const EDGES: [(usize, usize); 6] = [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)];

    #[test]
    fn what_merges_and_what_does_not() {
        let key = |ops: [CellOp; 6]| canonical_key(&EDGES, &ops);
        let conv = Weighted(0);
        // Skips chain; a conv reached through a skip is the conv on the input.
        assert_eq!(key([Identity, Zero, Zero, Zero, Identity, Zero]), key([Zero, Zero, Zero, Identity, Zero, Zero]));
        assert_eq!(key([Identity, Zero, conv, Zero, Zero, Identity]), key([Zero, Zero, Zero, conv, Zero, Zero]));
        // Node 1 cut off from the output: its conv does not count.
        assert_eq!(key([conv, Zero, Zero, conv, Zero, Zero]), key([Zero, Zero, Zero, conv, Zero, Zero]));
        // A conv on a zero node is zero.
        assert_eq!(key([Zero, Zero, conv, conv, Zero, Identity]), key([Zero, Zero, Zero, conv, Zero, Zero]));
        // Isomorphic: nodes 1 and 2 swapped when neither reads the other.
        assert_eq!(key([conv, Identity, Zero, Zero, Weighted(1), conv]), key([Identity, conv, Zero, Zero, conv, Weighted(1)]));
        // Pooling distributes over sums: pool(a + b) = pool(a) + pool(b).
        assert_eq!(key([conv, conv, Identity, Zero, Zero, Linear]), key([conv, conv, Zero, Zero, Linear, Linear]));
        // One conv reached twice is not two convs; kinds differ; a sum of one term twice is
        // not the term.
        assert_ne!(key([conv, Zero, Zero, Zero, Identity, Zero]), key([Zero, Zero, Zero, Identity, Zero, Zero]));
        assert_ne!(key([conv, Zero, Identity, Zero, Identity, Identity]), key([conv, conv, Zero, Zero, Identity, Identity]));
        assert_ne!(key([conv, Zero, Zero, Zero, Identity, Zero]), key([Weighted(1), Zero, Zero, Zero, Identity, Zero]));
        assert_ne!(key([Identity, Identity, Zero, Zero, Identity, Identity]), key([Zero, Zero, Zero, Identity, Zero, Zero]));
    }

    #[test]
    fn permutations_are_all_visited() {
        let mut p = vec![0, 1, 2, 3];
        let mut n = 1;
        while next_permutation(&mut p) {
            n += 1;
        }
        assert_eq!((n, p), (24, vec![3, 2, 1, 0]));
    }
}
