//! NAS-Bench-201 architecture encodings.
//!
//! Two encodings are in use and both parse:
//! * the official string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|` (node k's incoming edges),
//! * NASLib's op-index tuple `(a, b, c, d, e, f)`, one index per edge in the order
//!   `(1,2),(1,3),(1,4),(2,3),(2,4),(3,4)` with ops
//!   `[skip_connect, none, nor_conv_3x3, nor_conv_1x1, avg_pool_3x3]`.

use crate::cell_class::{self, CellKey, CellOp};
use anyhow::{bail, Context, Result};
use std::fmt;
use std::str::FromStr;

/// Number of architectures in the space (5^6).
pub const NUM_ARCHS: usize = 15_625;

/// The six edges `(from, to)` in NASLib tuple order, nodes numbered 1..=4 (1 = cell input).
pub const EDGES: [(usize, usize); 6] = [(1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4)];

/// An edge operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Nb201Op {
    Skip,
    None,
    Conv3x3,
    Conv1x1,
    AvgPool3x3,
}

impl Nb201Op {
    /// Ops in NASLib's index order.
    pub const ALL: [Nb201Op; 5] = [Nb201Op::Skip, Nb201Op::None, Nb201Op::Conv3x3, Nb201Op::Conv1x1, Nb201Op::AvgPool3x3];

    /// The official NAS-Bench-201 name.
    pub fn name(self) -> &'static str {
        match self {
            Nb201Op::Skip => "skip_connect",
            Nb201Op::None => "none",
            Nb201Op::Conv3x3 => "nor_conv_3x3",
            Nb201Op::Conv1x1 => "nor_conv_1x1",
            Nb201Op::AvgPool3x3 => "avg_pool_3x3",
        }
    }

    /// NASLib's op index.
    pub fn index(self) -> usize {
        Self::ALL.iter().position(|&o| o == self).expect("op is in ALL")
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.name() == name)
    }
}

/// One NAS-Bench-201 cell: the op on each of the six edges, in [`EDGES`] order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nb201Arch(pub [Nb201Op; 6]);

impl Nb201Arch {
    /// The architecture with this index into the 5^6 enumeration of NASLib op tuples
    /// (first edge most significant). Not the official NB201 index.
    pub fn from_ordinal(ordinal: usize) -> Option<Self> {
        if ordinal >= NUM_ARCHS {
            return None;
        }
        let mut ops = [Nb201Op::Skip; 6];
        let mut rest = ordinal;
        for slot in ops.iter_mut().rev() {
            *slot = Nb201Op::ALL[rest % 5];
            rest /= 5;
        }
        Some(Self(ops))
    }

    /// Inverse of [`Nb201Arch::from_ordinal`].
    pub fn ordinal(&self) -> usize {
        self.0.iter().fold(0, |acc, op| acc * 5 + op.index())
    }

    /// The op on edge `from → to` (nodes 1..=4).
    pub fn op(&self, from: usize, to: usize) -> Nb201Op {
        let e = EDGES.iter().position(|&e| e == (from, to)).expect("a valid NB201 edge");
        self.0[e]
    }

    /// NASLib's tuple form, `(a, b, c, d, e, f)`.
    pub fn to_tuple_string(&self) -> String {
        let idx: Vec<String> = self.0.iter().map(|o| o.index().to_string()).collect();
        format!("({})", idx.join(", "))
    }

    /// The official NAS-Bench-201 string.
    pub fn to_official_string(&self) -> String {
        let node = |to: usize| -> String {
            (1..to).map(|from| format!("{}~{}", self.op(from, to).name(), from - 1)).collect::<Vec<_>>().join("|")
        };
        format!("|{}|+|{}|+|{}|", node(2), node(3), node(4))
    }

    /// The cell as [`crate::cell_class`] reads it (nodes renumbered from 0).
    fn cell_ops(&self) -> [CellOp; 6] {
        self.0.map(|op| match op {
            Nb201Op::Skip => CellOp::Identity,
            Nb201Op::None => CellOp::Zero,
            Nb201Op::Conv3x3 => CellOp::Weighted(3),
            Nb201Op::Conv1x1 => CellOp::Weighted(1),
            Nb201Op::AvgPool3x3 => CellOp::Linear,
        })
    }

    /// Its same-function class's canonical form ([`crate::cell_class`]).
    pub fn function_key(&self) -> CellKey {
        cell_class::canonical_key(&CELL_EDGES, &self.cell_ops())
    }

    /// The representative of its same-function class: the member with the smallest ordinal.
    pub fn representative(&self) -> Nb201Arch {
        let r = representatives()[self.ordinal()] as usize;
        Self::from_ordinal(r).expect("a representative is an arch of the space")
    }

    /// Its graph features ([`GRAPH_FEATURES`]): how many edges carry each op (`none`,
    /// `skip_connect`, `nor_conv_1x1`, `nor_conv_3x3`, `avg_pool_3x3`); how many of the cell's
    /// four input → output paths (1→4, 1→2→4, 1→3→4, 1→2→3→4) have no `none` edge; the most and
    /// the fewest convolutions (1×1 or 3×3 edges) on such a path; and the shortest such path's
    /// edges. Without such a path (the cell's output is 0) the conv counts are −1 and the
    /// shortest path 4, one beyond the longest.
    ///
    /// The op counts are GRAF's `op_count` and the shortest path its `min_path_len` with `none`
    /// banned (Kadlecová et al., ICML 2024); the path count and the conv depth along open paths
    /// are ours (GRAF's `max_op_on_path` weighs the other ops of a path against the counted
    /// ones, which this does not). The nine were written down, then tried in the `gp_graph`
    /// few-shot learner on NB201 CIFAR-100's accuracies and kept there over GRAF's own 185 NB201
    /// features (README, "Graph features beside the proxies"): chosen with accuracies in view.
    pub fn graph_features(&self) -> [f64; 9] {
        const ORDER: [Nb201Op; 5] = [Nb201Op::None, Nb201Op::Skip, Nb201Op::Conv1x1, Nb201Op::Conv3x3, Nb201Op::AvgPool3x3];
        let mut f = [0.0; 9];
        for (slot, op) in f.iter_mut().zip(ORDER) {
            *slot = self.0.iter().filter(|&&o| o == op).count() as f64;
        }
        f[5..].copy_from_slice(&cell_class::open_path_features(&CELL_EDGES, &self.cell_ops()).count_weighted_shortest());
        f
    }

    fn parse_tuple(s: &str) -> Result<Self> {
        let parts = crate::data::literal::int_sequence(s).context("a tuple must be written (a, b, c, d, e, f)")?;
        if parts.len() != 6 {
            bail!("a tuple needs 6 op indices, found {}", parts.len());
        }
        let mut ops = [Nb201Op::Skip; 6];
        for (slot, &i) in ops.iter_mut().zip(&parts) {
            let op = usize::try_from(i).ok().and_then(|i| Nb201Op::ALL.get(i));
            *slot = *op.with_context(|| format!("op index {i} is not in 0..=4"))?;
        }
        Ok(Self(ops))
    }

    fn parse_official(s: &str) -> Result<Self> {
        let nodes: Vec<&str> = s.trim().split('+').collect();
        if nodes.len() != 3 {
            bail!("the official string has 3 nodes separated by '+', found {}", nodes.len());
        }
        let mut ops = [None; 6];
        for (k, node) in nodes.iter().enumerate() {
            let to = k + 2;
            let node = node
                .strip_prefix('|')
                .and_then(|n| n.strip_suffix('|'))
                .with_context(|| format!("node {} `{node}` must be wrapped in '|'", k + 1))?;
            let inputs: Vec<&str> = node.split('|').collect();
            if inputs.len() != k + 1 {
                bail!("node {} must have {} inputs, found {}", k + 1, k + 1, inputs.len());
            }
            for input in inputs {
                let (name, src) = input.split_once('~').with_context(|| format!("`{input}` is not op~input"))?;
                let op = Nb201Op::from_name(name).with_context(|| {
                    format!("unknown op `{name}` (expected skip_connect, none, nor_conv_3x3, nor_conv_1x1 or avg_pool_3x3)")
                })?;
                let src: usize = src.parse().with_context(|| format!("input `{src}` is not a node number"))?;
                let e = EDGES
                    .iter()
                    .position(|&e| e == (src + 1, to))
                    .with_context(|| format!("node {} cannot take input from node {src}", k + 1))?;
                if ops[e].replace(op).is_some() {
                    bail!("edge {src}→{} is given twice", k + 1);
                }
            }
        }
        let ops = ops.map(|o| o.expect("every edge was filled: counts checked above"));
        Ok(Self(ops))
    }
}

/// The names of [`Nb201Arch::graph_features`], in order.
pub const GRAPH_FEATURES: [&str; 9] = [
    "edges_none",
    "edges_skip_connect",
    "edges_nor_conv_1x1",
    "edges_nor_conv_3x3",
    "edges_avg_pool_3x3",
    "open_paths",
    "open_path_convs_max",
    "open_path_convs_min",
    "open_path_edges_min",
];

/// [`EDGES`] with the cell input numbered 0.
const CELL_EDGES: [(usize, usize); 6] = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)];

/// Per ordinal, its same-function class's representative (computed once: ≈ 0.1 s).
fn representatives() -> &'static [u32] {
    static TABLE: std::sync::OnceLock<Vec<u32>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        cell_class::representatives(NUM_ARCHS, |i| Nb201Arch::from_ordinal(i).expect("in range").function_key())
    })
}

/// How many same-function classes the 15,625 archs fall into (5,044; tested against an
/// independent enumeration).
pub fn function_classes() -> usize {
    cell_class::class_count(representatives())
}

impl FromStr for Nb201Arch {
    type Err = anyhow::Error;

    /// Parses either encoding; the error names the string and what is wrong with it.
    fn from_str(s: &str) -> Result<Self> {
        let parsed = if s.trim_start().starts_with('(') { Self::parse_tuple(s) } else { Self::parse_official(s) };
        parsed.with_context(|| format!("invalid NAS-Bench-201 architecture `{s}`"))
    }
}

impl fmt::Display for Nb201Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_official_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The features of cells whose paths are counted by hand.
    #[test]
    fn graph_features_count_ops_and_open_paths() {
        // 1→2 skip, 1→3 3×3, 1→4 1×1, 2→3 3×3, 2→4 3×3, 3→4 none: open paths 1→4 (one conv)
        // and 1→2→4 (one); 1→3→4 and 1→2→3→4 end in `none`.
        let a: Nb201Arch = "(0, 2, 3, 2, 2, 1)".parse().unwrap();
        assert_eq!(a.graph_features(), [1.0, 1.0, 1.0, 3.0, 0.0, 2.0, 1.0, 1.0, 1.0]);
        // Every edge a 3×3 conv: four paths of 1–3 convs, the shortest one edge.
        assert_eq!(Nb201Arch([Nb201Op::Conv3x3; 6]).graph_features(), [0.0, 0.0, 0.0, 6.0, 0.0, 4.0, 3.0, 1.0, 1.0]);
        // 1→2→3→4 only (pool, skip, 1×1): one open path of 3 edges, one conv.
        let chain: Nb201Arch = "|avg_pool_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|nor_conv_1x1~2|".parse().unwrap();
        assert_eq!(chain.graph_features(), [3.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 3.0]);
        // No open path: the output is 0.
        assert_eq!(Nb201Arch([Nb201Op::None; 6]).graph_features(), [6.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, -1.0, 4.0]);
    }

    #[test]
    fn both_encodings_agree() {
        // Suite-Zero row idx 534 of zc_nasbench201.json and its official string.
        let t: Nb201Arch = "(0, 2, 3, 2, 3, 1)".parse().unwrap();
        assert_eq!(
            t.to_official_string(),
            "|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|none~2|"
        );
        let o: Nb201Arch = t.to_official_string().parse().unwrap();
        assert_eq!(o, t);
        assert_eq!(o.to_tuple_string(), "(0, 2, 3, 2, 3, 1)");
    }

    #[test]
    fn ordinals_round_trip() {
        for i in [0, 1, 4, 5, 777, NUM_ARCHS - 1] {
            assert_eq!(Nb201Arch::from_ordinal(i).unwrap().ordinal(), i);
        }
        assert!(Nb201Arch::from_ordinal(NUM_ARCHS).is_none());
    }

    /// 5,044 same-function classes, and the same partition from the numeric fingerprint, which
    /// evaluates each cell without the canonical form's expression DAG.
    #[test]
    fn same_function_classes_agree_with_an_independent_enumeration() {
        use std::collections::HashMap;
        let archs: Vec<Nb201Arch> = (0..NUM_ARCHS).map(|i| Nb201Arch::from_ordinal(i).unwrap()).collect();
        assert_eq!(function_classes(), 5_044);
        let by_fingerprint = cell_class::representatives(NUM_ARCHS, |i| {
            cell_class::numeric_fingerprint(&CELL_EDGES, &archs[i].cell_ops())
        });
        assert_eq!(by_fingerprint, representatives());
        // Every representative is the smallest ordinal of its class and represents itself.
        for a in &archs {
            let r = a.representative();
            assert!(r.ordinal() <= a.ordinal() && r.representative() == r && r.function_key() == a.function_key());
        }
        // nas_201_api's `to_unique_str(consider_zero=True)`: 6,466 strings, which keep zero
        // terms in sums (over-splitting) and write a conv reached twice like two convs
        // (over-merging): some of its classes hold archs of different classes of ours.
        let mut unique: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, a) in archs.iter().enumerate() {
            unique.entry(unique_str(a)).or_default().push(i);
        }
        assert_eq!(unique.len(), 6_466);
        let mixed = unique.values().filter(|v| v.iter().any(|&i| representatives()[i] != representatives()[v[0]])).count();
        assert!(mixed > 0);
        // The zero cell's class (every edge `none`) holds exactly the archs whose output is
        // zero numerically.
        let zero = archs.iter().filter(|a| a.function_key() == Nb201Arch([Nb201Op::None; 6]).function_key()).count();
        let zero_numeric =
            archs.iter().filter(|a| cell_class::numeric_fingerprint(&CELL_EDGES, &a.cell_ops()).iter().all(|((a, b), _)| *a == 0 && *b == 0)).count();
        assert_eq!(zero, zero_numeric);
    }

    /// nas_201_api's `Structure.to_unique_str(consider_zero=True)`, as written there.
    fn unique_str(arch: &Nb201Arch) -> String {
        let mut nodes = vec!["0".to_string()];
        for to in 2..=4 {
            let mut cur: Vec<String> = (1..to)
                .map(|from| {
                    let (op, input) = (arch.op(from, to), &nodes[from - 1]);
                    if op == Nb201Op::None || input == "#" {
                        "#".to_string()
                    } else if op == Nb201Op::Skip {
                        input.clone()
                    } else {
                        format!("({input})@{}", op.name())
                    }
                })
                .collect();
            cur.sort();
            nodes.push(cur.join("+"));
        }
        nodes.pop().unwrap()
    }

    #[test]
    fn bad_strings_are_errors_that_name_them() {
        for bad in [
            "",
            "(0, 1, 2)",
            "(0, 1, 2, 3, 4, 5)",
            "(a, 1, 2, 3, 4, 0)",
            "|skip_connect~0|+|none~0|none~1|",
            "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",
            "|none~0|+|none~0|none~0|+|none~0|none~1|none~2|",
            "|none~0|+|none~0|none~1|+|none~0|none~1|none~7|",
        ] {
            let err = format!("{:#}", bad.parse::<Nb201Arch>().unwrap_err());
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
    }
}
