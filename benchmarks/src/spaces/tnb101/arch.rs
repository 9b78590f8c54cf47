//! TransNAS-Bench-101 architecture encodings (Duan et al., CVPR 2021).
//!
//! * Micro: NASLib's tuple `(a, b, c, d, e, f)` (Suite-Zero's keys) is the official string
//!   `64-41414-a_bc_def` digit for digit. Digits are the official ones — 0 zero, 1 skip,
//!   2 ReLU-Conv1×1-BN, 3 ReLU-Conv3×3-BN — on the edges a = 0→1, b = 0→2, c = 1→2,
//!   d = 0→3, e = 1→3, f = 2→3 (node 0 = cell input, node 3 = output). NASLib's `OP_NAMES`
//!   (Identity, Zero, 3×3, 1×1) and `EDGE_LIST` orders belong to its own cell graph, which it
//!   does not use for these tasks: read with them, Suite-Zero's parameter counts stop matching
//!   (pinned by the parity tests).
//! * Macro: a tuple of stage codes 1..4, zero-padded to 6 in the zc files (`(1, 2, 4, 2, 0, 0)`), is
//!   the official `64-1242-basic`: each code one stage of two residual blocks — 1 plain,
//!   2 channels ×2, 3 stride 2, 4 both.

use crate::cell_class::{self, CellKey, CellOp};
use anyhow::{bail, ensure, Context, Result};
use std::fmt;
use std::str::FromStr;

/// A micro cell edge's operation, by its official digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MicroOp {
    Zero,
    Skip,
    Conv1x1,
    Conv3x3,
}

impl MicroOp {
    /// Ops by official digit.
    pub const ALL: [MicroOp; 4] = [MicroOp::Zero, MicroOp::Skip, MicroOp::Conv1x1, MicroOp::Conv3x3];

    pub fn digit(self) -> u8 {
        self as u8
    }
}

/// The six edges `(from, to)` of a micro cell in tuple / string order.
pub const MICRO_EDGES: [(usize, usize); 6] = [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)];

/// The names of [`MicroArch::graph_features`], in order.
pub const MICRO_GRAPH_FEATURES: [&str; 8] = [
    "edges_zero",
    "edges_skip",
    "edges_conv1x1",
    "edges_conv3x3",
    "open_paths",
    "open_path_convs_max",
    "open_path_convs_min",
    "open_path_edges_min",
];

/// The names of [`MacroArch::graph_features`], in order.
pub const MACRO_GRAPH_FEATURES: [&str; 7] = [
    "stages",
    "stages_keep",
    "stages_widen",
    "stages_downsample",
    "stages_widen_downsample",
    "stages_before_downsample",
    "stages_before_widen",
];

/// Number of micro architectures (4^6).
pub const NUM_MICRO: usize = 4096;

/// A micro architecture: the op of each edge in [`MICRO_EDGES`] order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MicroArch(pub [MicroOp; 6]);

impl MicroArch {
    /// The official string `64-41414-a_bc_def`.
    pub fn official(&self) -> String {
        let d: Vec<u8> = self.0.iter().map(|o| o.digit()).collect();
        format!("64-41414-{}_{}{}_{}{}{}", d[0], d[1], d[2], d[3], d[4], d[5])
    }

    /// Index into the 4^6 enumeration (first edge most significant).
    pub fn ordinal(&self) -> usize {
        self.0.iter().fold(0, |acc, o| acc * 4 + o.digit() as usize)
    }

    /// The micro cell as [`crate::cell_class`] reads it, in a normal cell (`reducing` false) or a
    /// cell that changes stride or channels, where a skip from the cell input is a
    /// FactorizedReduce with weights of its own.
    fn cell_ops(&self, reducing: bool) -> [CellOp; 6] {
        std::array::from_fn(|e| match self.0[e] {
            MicroOp::Zero => CellOp::Zero,
            MicroOp::Skip if reducing && MICRO_EDGES[e].0 == 0 => CellOp::Weighted(9),
            MicroOp::Skip => CellOp::Identity,
            MicroOp::Conv1x1 => CellOp::Weighted(1),
            MicroOp::Conv3x3 => CellOp::Weighted(3),
        })
    }

    /// Its graph features ([`MICRO_GRAPH_FEATURES`]), as NB201's (`Nb201Arch::graph_features`)
    /// on this cell of four ops: its edges of each op (zero, skip, 1×1 conv, 3×3 conv), then
    /// [`cell_class::open_path_features`] of the cell (a normal cell: skips are identities).
    /// Declared for `gp_graph` before any TransNAS-Bench-101 accuracy was looked at with them.
    pub fn graph_features(&self) -> [f64; 8] {
        let mut f = [0.0; 8];
        for (slot, op) in f.iter_mut().zip(MicroOp::ALL) {
            *slot = self.0.iter().filter(|&&o| o == op).count() as f64;
        }
        f[4..].copy_from_slice(&cell_class::open_path_features(&MICRO_EDGES, &self.cell_ops(false)).count_weighted_shortest());
        f
    }

    /// Its same-function class's canonical form: the network has normal and reducing cells
    /// (`64-41414`), so both must compute the same function.
    pub fn function_key(&self) -> (CellKey, CellKey) {
        let key = |reducing| cell_class::canonical_key(&MICRO_EDGES, &self.cell_ops(reducing));
        (key(false), key(true))
    }

    /// The representative of its same-function class: the member with the smallest ordinal.
    pub fn representative(&self) -> MicroArch {
        Self::from_ordinal(micro_representatives()[self.ordinal()] as usize)
    }

    /// The arch with this index into the 4^6 enumeration (first edge most significant).
    fn from_ordinal(ordinal: usize) -> Self {
        let mut ops = [MicroOp::Zero; 6];
        let mut rest = ordinal;
        for slot in ops.iter_mut().rev() {
            *slot = MicroOp::ALL[rest % 4];
            rest /= 4;
        }
        Self(ops)
    }

    fn from_digits(digits: &[i64]) -> Result<Self> {
        ensure!(digits.len() == 6, "a micro arch has 6 op digits, found {}", digits.len());
        let mut ops = [MicroOp::Zero; 6];
        for (slot, &d) in ops.iter_mut().zip(digits) {
            let op = usize::try_from(d).ok().and_then(|d| MicroOp::ALL.get(d));
            *slot = *op.with_context(|| format!("op digit {d} is not in 0..=3"))?;
        }
        Ok(Self(ops))
    }
}

/// Per ordinal, its same-function class's representative (computed once).
fn micro_representatives() -> &'static [u32] {
    static TABLE: std::sync::OnceLock<Vec<u32>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| cell_class::representatives(NUM_MICRO, |i| MicroArch::from_ordinal(i).function_key()))
}

/// How many same-function classes the 4,096 micro archs fall into (1,376; tested against an
/// independent enumeration).
pub fn micro_function_classes() -> usize {
    cell_class::class_count(micro_representatives())
}

impl FromStr for MicroArch {
    type Err = anyhow::Error;

    /// The tuple `(a, b, c, d, e, f)` or the official string `64-41414-a_bc_def`.
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        if let Some(cell) = t.strip_prefix("64-41414-") {
            let digits: Vec<i64> = cell.chars().filter(|c| *c != '_').map(|c| c.to_digit(10).map_or(-1, i64::from)).collect();
            let parts: Vec<usize> = cell.split('_').map(str::len).collect();
            ensure!(parts == [1, 2, 3], "`{t}` is not 64-41414-a_bc_def");
            return Self::from_digits(&digits).with_context(|| format!("`{t}`"));
        }
        let digits = crate::data::literal::int_sequence(t)
            .with_context(|| format!("`{t}` is neither a tuple (a, b, c, d, e, f) nor 64-41414-a_bc_def"))?;
        Self::from_digits(&digits).with_context(|| format!("`{t}`"))
    }
}

impl fmt::Display for MicroArch {
    /// NASLib's tuple, as Suite-Zero writes it (the cache key).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d: Vec<String> = self.0.iter().map(|o| o.digit().to_string()).collect();
        write!(f, "({})", d.join(", "))
    }
}

/// A macro architecture: 4 to 6 stage codes in 1..=4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacroArch {
    codes: [u8; 6],
    len: usize,
}

impl MacroArch {
    pub fn new(codes: &[u8]) -> Result<Self> {
        ensure!((1..=6).contains(&codes.len()), "a macro arch has 1 to 6 stages, found {}", codes.len());
        let mut out = [0u8; 6];
        for (slot, &c) in out.iter_mut().zip(codes) {
            ensure!((1..=4).contains(&c), "stage code {c} is not in 1..=4");
            *slot = c;
        }
        Ok(Self { codes: out, len: codes.len() })
    }

    /// The stage codes.
    pub fn codes(&self) -> &[u8] {
        &self.codes[..self.len]
    }

    /// Its graph features ([`MACRO_GRAPH_FEATURES`]): its stages; its stages of each code (1
    /// keeps the shape, 2 doubles the channels, 3 halves the resolution, 4 both); and the
    /// stages before the first that halves the resolution and before the first that doubles the
    /// channels (all of them when none does). Declared for `gp_graph` before any
    /// TransNAS-Bench-101 accuracy was looked at with them.
    pub fn graph_features(&self) -> [f64; 7] {
        let codes = self.codes();
        let count = |c: u8| codes.iter().filter(|&&x| x == c).count() as f64;
        let before = |f: fn(u8) -> bool| codes.iter().position(|&c| f(c)).unwrap_or(codes.len()) as f64;
        [codes.len() as f64, count(1), count(2), count(3), count(4), before(|c| c > 2), before(|c| c % 2 == 0)]
    }

    /// The official string `64-{codes}-basic`.
    pub fn official(&self) -> String {
        let codes: String = self.codes().iter().map(|c| c.to_string()).collect();
        format!("64-{codes}-basic")
    }
}

impl FromStr for MacroArch {
    type Err = anyhow::Error;

    /// The zero-padded tuple `(1, 2, 4, 2, 0, 0)` or the official string `64-1242-basic`.
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        if let Some(rest) = t.strip_prefix("64-") {
            let codes = rest.strip_suffix("-basic").with_context(|| format!("`{t}` is not 64-<codes>-basic"))?;
            let codes: Vec<u8> = codes.chars().map(|c| c.to_digit(10).map_or(0, |d| d as u8)).collect();
            return Self::new(&codes).with_context(|| format!("`{t}`"));
        }
        let values = crate::data::literal::int_sequence(t)
            .with_context(|| format!("`{t}` is neither a tuple of 6 stage codes nor 64-<codes>-basic"))?;
        // Suite-Zero's zc files pad to 6 entries with zeros; its zen zips do not pad.
        ensure!((1..=6).contains(&values.len()), "`{t}`: a macro tuple has 1 to 6 entries, found {}", values.len());
        let end = values.iter().position(|&v| v == 0).unwrap_or(values.len());
        if values[end..].iter().any(|&v| v != 0) {
            bail!("`{t}`: a stage code after a 0");
        }
        let codes: Vec<u8> = values[..end].iter().map(|&v| u8::try_from(v).unwrap_or(u8::MAX)).collect();
        Self::new(&codes).with_context(|| format!("`{t}`"))
    }
}

impl fmt::Display for MacroArch {
    /// NASLib's zero-padded tuple, as Suite-Zero writes it (the cache key).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c: Vec<String> = self.codes.iter().map(|c| c.to_string()).collect();
        write!(f, "({})", c.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The micro cell's graph features, counted by hand: the same cell as NB201's test with its
    /// pooling-free ops.
    #[test]
    fn micro_graph_features_count_ops_and_open_paths() {
        // 0→1 skip, 0→2 3×3, 1→2 3×3, 0→3 1×1, 1→3 3×3, 2→3 zero: open paths 0→3 (one conv)
        // and 0→1→3 (one); both through node 2 end in the zero edge.
        let a: MicroArch = "64-41414-1_33_230".parse().unwrap();
        assert_eq!(a.graph_features(), [1.0, 1.0, 1.0, 3.0, 2.0, 1.0, 1.0, 1.0]);
        let none: MicroArch = "64-41414-0_00_000".parse().unwrap();
        assert_eq!(none.graph_features(), [6.0, 0.0, 0.0, 0.0, 0.0, -1.0, -1.0, 4.0]);
    }

    #[test]
    fn macro_graph_features_count_stage_codes() {
        let a = MacroArch::new(&[1, 2, 1, 3, 4]).unwrap();
        assert_eq!(a.graph_features(), [5.0, 2.0, 1.0, 1.0, 1.0, 3.0, 1.0]);
        let keep = MacroArch::new(&[1, 1, 1, 1]).unwrap();
        assert_eq!(keep.graph_features(), [4.0, 4.0, 0.0, 0.0, 0.0, 4.0, 4.0]);
    }

    #[test]
    fn micro_tuple_is_the_official_string_digit_for_digit() {
        let a: MicroArch = "(1, 0, 0, 2, 1, 0)".parse().unwrap();
        assert_eq!(a.official(), "64-41414-1_00_210");
        assert_eq!(a.0, [MicroOp::Skip, MicroOp::Zero, MicroOp::Zero, MicroOp::Conv1x1, MicroOp::Skip, MicroOp::Zero]);
        assert_eq!(a.to_string(), "(1, 0, 0, 2, 1, 0)");
        assert_eq!("64-41414-1_00_210".parse::<MicroArch>().unwrap(), a);
        assert_eq!("(3, 3, 3, 3, 3, 3)".parse::<MicroArch>().unwrap().ordinal(), NUM_MICRO - 1);
        assert!("(4, 0, 0, 0, 0, 0)".parse::<MicroArch>().is_err());
        assert!("64-41414-1_002_10".parse::<MicroArch>().is_err());
        assert!("(1, 0, 0)".parse::<MicroArch>().is_err());
    }

    /// The classes agree with the numeric fingerprint of both kinds of cell, which evaluates
    /// each cell without the canonical form's expression DAG.
    #[test]
    fn same_function_classes_agree_with_an_independent_enumeration() {
        let by_fingerprint = cell_class::representatives(NUM_MICRO, |i| {
            let a = MicroArch::from_ordinal(i);
            [false, true].map(|r| cell_class::numeric_fingerprint(&MICRO_EDGES, &a.cell_ops(r)))
        });
        assert_eq!(by_fingerprint, micro_representatives());
        for i in 0..NUM_MICRO {
            let a = MicroArch::from_ordinal(i);
            assert_eq!(a.ordinal(), i);
            let r = a.representative();
            assert!(r.ordinal() <= i && r.representative() == r && r.function_key() == a.function_key());
        }
        assert_eq!(micro_function_classes(), 1_376);
    }

    #[test]
    fn macro_tuple_drops_trailing_zeros() {
        let a: MacroArch = "(1, 2, 4, 2, 0, 0)".parse().unwrap();
        assert_eq!(a.official(), "64-1242-basic");
        assert_eq!(a.codes(), [1, 2, 4, 2]);
        assert_eq!(a.to_string(), "(1, 2, 4, 2, 0, 0)");
        assert_eq!("64-413331-basic".parse::<MacroArch>().unwrap().to_string(), "(4, 1, 3, 3, 3, 1)");
        assert_eq!("(3, 2, 3, 3)".parse::<MacroArch>().unwrap(), "(3, 2, 3, 3, 0, 0)".parse::<MacroArch>().unwrap());
        assert!("(1, 0, 2, 0, 0, 0)".parse::<MacroArch>().is_err());
        assert!("(5, 1, 1, 1, 0, 0)".parse::<MacroArch>().is_err());
        assert!("64-12x-basic".parse::<MacroArch>().is_err());
    }
}
