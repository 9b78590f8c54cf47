//! DARTS cell architectures (Liu et al., ICLR 2019), the space of NAS-Bench-301.
//!
//! Two encodings are in use and both parse:
//! * NASLib's compact form `[[(input, op) ×8], [(input, op) ×8]]` (normal cell, reduction
//!   cell; the keys of Suite-Zero's `zc_nasbench301.json`), ops indexed into
//!   `[max_pool_3x3, avg_pool_3x3, skip_connect, sep_conv_3x3, sep_conv_5x5, dil_conv_3x3,
//!   dil_conv_5x5]` (NASLib `nasbench301/conversions.py`, `convert_compact_to_genotype`);
//! * the DARTS genotype `Genotype(normal=[('op', input) ×8], normal_concat=[2, 3, 4, 5],
//!   reduce=[…], reduce_concat=[2, 3, 4, 5])` (the SWAP authors' `DARTS_archs_CIFAR10.csv`),
//!   which may also use the op `none`.
//!
//! In both, edges `2k` and `2k + 1` feed intermediate node `k + 2` (k = 0..4); an edge's input
//! is a cell state: 0 and 1 are the outputs of the two previous cells, 2..=5 the intermediate
//! nodes, and node `k + 2` may read states `0..k + 2`. The cell output concatenates states
//! 2..=5.

use crate::data::literal::{parse_literal, Lit};
use crate::cell_class::{self, CellOp};
use anyhow::{bail, ensure, Context, Result};
use std::fmt;
use std::str::FromStr;

/// An edge operation of the DARTS space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DartsOp {
    /// The zero op (genotype strings only; not in NB301's compact encoding).
    None,
    MaxPool3x3,
    AvgPool3x3,
    SkipConnect,
    SepConv3x3,
    SepConv5x5,
    DilConv3x3,
    DilConv5x5,
}

impl DartsOp {
    /// The ops of NASLib's compact encoding, in index order.
    pub const COMPACT: [DartsOp; 7] = [
        DartsOp::MaxPool3x3,
        DartsOp::AvgPool3x3,
        DartsOp::SkipConnect,
        DartsOp::SepConv3x3,
        DartsOp::SepConv5x5,
        DartsOp::DilConv3x3,
        DartsOp::DilConv5x5,
    ];

    /// Every op, `none` first.
    pub const ALL: [DartsOp; 8] = [
        DartsOp::None,
        DartsOp::MaxPool3x3,
        DartsOp::AvgPool3x3,
        DartsOp::SkipConnect,
        DartsOp::SepConv3x3,
        DartsOp::SepConv5x5,
        DartsOp::DilConv3x3,
        DartsOp::DilConv5x5,
    ];

    /// The DARTS genotype name.
    pub fn name(self) -> &'static str {
        match self {
            DartsOp::None => "none",
            DartsOp::MaxPool3x3 => "max_pool_3x3",
            DartsOp::AvgPool3x3 => "avg_pool_3x3",
            DartsOp::SkipConnect => "skip_connect",
            DartsOp::SepConv3x3 => "sep_conv_3x3",
            DartsOp::SepConv5x5 => "sep_conv_5x5",
            DartsOp::DilConv3x3 => "dil_conv_3x3",
            DartsOp::DilConv5x5 => "dil_conv_5x5",
        }
    }

    /// Index in NASLib's compact encoding (`None` for the zero op, which it cannot express).
    pub fn compact_index(self) -> Option<usize> {
        Self::COMPACT.iter().position(|&o| o == self)
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.name() == name)
    }
}

/// Edges per cell.
pub const EDGES_PER_CELL: usize = 8;

/// One DARTS cell: `(op, input state)` per edge, in genotype order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DartsCell(pub [(DartsOp, usize); EDGES_PER_CELL]);

impl DartsCell {
    /// The cell state edge `e` writes to (2..=5).
    pub fn target(e: usize) -> usize {
        2 + e / 2
    }

    fn check(&self) -> Result<()> {
        for (e, &(_, input)) in self.0.iter().enumerate() {
            let node = Self::target(e);
            ensure!(input < node, "edge {e} feeds node {node}, which can read states 0..={} only, not {input}", node - 1);
        }
        Ok(())
    }

    /// Its eleven graph features ([`GRAPH_FEATURES`] per cell): its edges of each op of
    /// NB301's compact encoding (7); its edges that read the cell's inputs (states 0 and 1);
    /// how many paths lead from the inputs to the output (which concatenates states 2..=5);
    /// the longest such path's edges; and the most convolutions (separable or dilated) on one.
    /// A `none` edge carries no path. Written down for `gp_graph` as NB201's and NB101's
    /// (GRAF's `op_count` and node degree of the input; Kadlecová et al., ICML 2024) **before**
    /// any NB301 accuracy was looked at with them.
    pub fn graph_features(&self) -> [f64; 11] {
        let mut f = [0.0; 11];
        for (slot, op) in f.iter_mut().zip(DartsOp::COMPACT) {
            *slot = self.0.iter().filter(|(o, _)| *o == op).count() as f64;
        }
        f[7] = self.0.iter().filter(|&&(o, i)| o != DartsOp::None && i < 2).count() as f64;
        // The paths as `cell_class` reads a cell: a node 0 feeding both inputs (states 0, 1 →
        // nodes 1, 2; state s → node s + 1), and node 7 summing states 2..=5, both by identity
        // edges — so a path has two edges more than from an input to a state.
        let conv = |op| matches!(op, DartsOp::SepConv3x3 | DartsOp::SepConv5x5 | DartsOp::DilConv3x3 | DartsOp::DilConv5x5);
        let mut edges = vec![(0, 1), (0, 2)];
        let mut ops = vec![CellOp::Identity; 2];
        for (e, &(op, input)) in self.0.iter().enumerate() {
            edges.push((input + 1, Self::target(e) + 1));
            ops.push(match op {
                DartsOp::None => CellOp::Zero,
                op if conv(op) => CellOp::Weighted(0),
                _ => CellOp::Identity,
            });
        }
        edges.extend((3..=6).map(|node| (node, 7)));
        ops.extend([CellOp::Identity; 4]);
        let p = cell_class::open_path_features(&edges, &ops);
        if p.count > 0.0 {
            (f[8], f[9], f[10]) = (p.count, p.edges_max - 2.0, p.weighted_max);
        }
        f
    }

    fn genotype_list(&self) -> String {
        let edges: Vec<String> = self.0.iter().map(|(op, i)| format!("('{}', {i})", op.name())).collect();
        format!("[{}]", edges.join(", "))
    }

    fn compact_list(&self) -> Option<String> {
        let edges: Option<Vec<String>> = self.0.iter().map(|(op, i)| Some(format!("({i}, {})", op.compact_index()?))).collect();
        Some(format!("[{}]", edges?.join(", ")))
    }
}

/// A DARTS architecture: the normal and the reduction cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DartsArch {
    pub normal: DartsCell,
    pub reduce: DartsCell,
}

impl DartsArch {
    /// Checks that every edge reads a state its node can see.
    pub fn new(normal: DartsCell, reduce: DartsCell) -> Result<Self> {
        normal.check().context("normal cell")?;
        reduce.check().context("reduction cell")?;
        Ok(Self { normal, reduce })
    }

    /// NASLib's compact form, exactly as the keys of `zc_nasbench301.json` write it; `None`
    /// if a cell uses the zero op.
    pub fn to_compact_string(&self) -> Option<String> {
        Some(format!("[{}, {}]", self.normal.compact_list()?, self.reduce.compact_list()?))
    }

    /// The DARTS genotype, as `DARTS_archs_CIFAR10.csv` writes it.
    pub fn to_genotype_string(&self) -> String {
        format!(
            "Genotype(normal={}, normal_concat=[2, 3, 4, 5], reduce={}, reduce_concat=[2, 3, 4, 5])",
            self.normal.genotype_list(),
            self.reduce.genotype_list()
        )
    }

    /// Its graph features: the normal cell's eleven, then the reduction cell's
    /// ([`DartsCell::graph_features`], [`GRAPH_FEATURES`]).
    pub fn graph_features(&self) -> Vec<f64> {
        self.normal.graph_features().into_iter().chain(self.reduce.graph_features()).collect()
    }

    /// Whether any edge uses the zero op.
    pub fn has_none_op(&self) -> bool {
        self.normal.0.iter().chain(&self.reduce.0).any(|(op, _)| *op == DartsOp::None)
    }

    fn parse_compact(s: &str) -> Result<Self> {
        let shape = "the compact form is [[(input, op) ×8], [(input, op) ×8]]";
        let Lit::Seq(cells) = parse_literal(s)? else { bail!("{shape}") };
        ensure!(cells.len() == 2, "{shape}: found {} cells", cells.len());
        let mut parsed = Vec::with_capacity(2);
        for (c, cell) in cells.iter().enumerate() {
            let name = ["normal", "reduction"][c];
            let Lit::Seq(edges) = cell else { bail!("{shape}: the {name} cell is not a list") };
            ensure!(edges.len() == EDGES_PER_CELL, "the {name} cell has {} edges, not 8", edges.len());
            let mut out = [(DartsOp::None, 0); EDGES_PER_CELL];
            for (slot, edge) in out.iter_mut().zip(edges) {
                let (input, op) = match edge {
                    Lit::Seq(pair) => match pair.as_slice() {
                        [Lit::Int(input), Lit::Int(op)] => (*input, *op),
                        _ => bail!("{shape}: an edge of the {name} cell is not (input, op)"),
                    },
                    _ => bail!("{shape}: an edge of the {name} cell is not (input, op)"),
                };
                let op = usize::try_from(op)
                    .ok()
                    .and_then(|i| DartsOp::COMPACT.get(i).copied())
                    .with_context(|| format!("op index {op} is not in 0..=6"))?;
                let input = usize::try_from(input).ok().with_context(|| format!("input {input} is negative"))?;
                *slot = (op, input);
            }
            parsed.push(DartsCell(out));
        }
        Self::new(parsed[0], parsed[1])
    }

    fn parse_genotype(s: &str) -> Result<Self> {
        let Lit::Call(name, args) = parse_literal(s)? else {
            bail!("a genotype is written Genotype(normal=[…], normal_concat=[…], reduce=[…], reduce_concat=[…])")
        };
        ensure!(name == "Genotype", "expected Genotype(…), found {name}(…)");
        const FIELDS: [&str; 4] = ["normal", "normal_concat", "reduce", "reduce_concat"];
        let mut values: [Option<&Lit>; 4] = [None; 4];
        for (i, (key, value)) in args.iter().enumerate() {
            let slot = match key {
                Some(k) => FIELDS.iter().position(|f| f == k).with_context(|| format!("unknown field `{k}`"))?,
                None => i,
            };
            ensure!(slot < 4, "Genotype takes 4 fields, found {}", args.len());
            ensure!(values[slot].replace(value).is_none(), "field `{}` is given twice", FIELDS[slot]);
        }
        let field = |i: usize| values[i].with_context(|| format!("field `{}` is missing", FIELDS[i]));
        for i in [1, 3] {
            check_concat(field(i)?).with_context(|| format!("field `{}`", FIELDS[i]))?;
        }
        let normal = genotype_cell(field(0)?).context("field `normal`")?;
        let reduce = genotype_cell(field(2)?).context("field `reduce`")?;
        Self::new(normal, reduce)
    }
}

fn genotype_cell(lit: &Lit) -> Result<DartsCell> {
    let Lit::Seq(edges) = lit else { bail!("a cell is a list of ('op', input) pairs") };
    ensure!(edges.len() == EDGES_PER_CELL, "a cell has 8 edges, found {}", edges.len());
    let mut out = [(DartsOp::None, 0); EDGES_PER_CELL];
    for (slot, edge) in out.iter_mut().zip(edges) {
        let (op, input) = match edge {
            Lit::Seq(pair) => match pair.as_slice() {
                [Lit::Str(op), Lit::Int(input)] => (op, *input),
                _ => bail!("an edge is ('op', input)"),
            },
            _ => bail!("an edge is ('op', input)"),
        };
        let op = DartsOp::from_name(op)
            .with_context(|| format!("unknown op `{op}` (expected one of {})", DartsOp::ALL.map(DartsOp::name).join(", ")))?;
        let input = usize::try_from(input).ok().with_context(|| format!("input {input} is negative"))?;
        *slot = (op, input);
    }
    Ok(DartsCell(out))
}

/// The cell output must be the concatenation of nodes 2..=5 (`[2, 3, 4, 5]` or `range(2, 6)`).
fn check_concat(lit: &Lit) -> Result<()> {
    let ok = match lit {
        Lit::Seq(items) => {
            items
                .iter()
                .map(|i| match i {
                    Lit::Int(v) => Some(*v),
                    _ => None,
                })
                .collect::<Option<Vec<i64>>>()
                == Some(vec![2, 3, 4, 5])
        }
        Lit::Call(name, args) => name == "range" && matches!(args.as_slice(), [(None, Lit::Int(2)), (None, Lit::Int(6))]),
        _ => false,
    };
    ensure!(ok, "only the concatenation of nodes [2, 3, 4, 5] is supported");
    Ok(())
}

impl FromStr for DartsArch {
    type Err = anyhow::Error;

    /// Parses either encoding; the error names the string and what is wrong with it.
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim_start();
        let parsed = if t.starts_with('[') || t.starts_with('(') {
            Self::parse_compact(s)
        } else if t.starts_with("Genotype") {
            Self::parse_genotype(s)
        } else {
            Err(anyhow::anyhow!("expected the compact form [[(input, op), …], […]] or Genotype(…)"))
        };
        parsed.with_context(|| format!("invalid DARTS architecture `{s}`"))
    }
}

impl fmt::Display for DartsArch {
    /// The compact form where it exists, else the genotype.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_compact_string() {
            Some(c) => f.write_str(&c),
            None => f.write_str(&self.to_genotype_string()),
        }
    }
}

/// The names of [`DartsArch::graph_features`], in order.
pub const GRAPH_FEATURES: [&str; 22] = [
    "normal_max_pool_3x3",
    "normal_avg_pool_3x3",
    "normal_skip_connect",
    "normal_sep_conv_3x3",
    "normal_sep_conv_5x5",
    "normal_dil_conv_3x3",
    "normal_dil_conv_5x5",
    "normal_input_edges",
    "normal_paths",
    "normal_path_edges_max",
    "normal_path_convs_max",
    "reduce_max_pool_3x3",
    "reduce_avg_pool_3x3",
    "reduce_skip_connect",
    "reduce_sep_conv_3x3",
    "reduce_sep_conv_5x5",
    "reduce_dil_conv_3x3",
    "reduce_dil_conv_5x5",
    "reduce_input_edges",
    "reduce_paths",
    "reduce_path_edges_max",
    "reduce_path_convs_max",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The features of a cell whose paths are counted by hand.
    #[test]
    fn graph_features_count_ops_and_paths() {
        use DartsOp::*;
        // Node 2 ← 0 (sep3), 1 (skip); node 3 ← 2 (dil5), 0 (max); node 4 ← 3 (sep5), 1 (avg);
        // node 5 ← 4 (sep3), 2 (none).
        let cell = DartsCell([
            (SepConv3x3, 0),
            (SkipConnect, 1),
            (DilConv5x5, 2),
            (MaxPool3x3, 0),
            (SepConv5x5, 3),
            (AvgPool3x3, 1),
            (SepConv3x3, 4),
            (None, 2),
        ]);
        // Paths into node 2: 2, node 3: 2 + 1 = 3, node 4: 3 + 1 = 4, node 5: 4 (the `none`
        // edge carries none): 13. Longest: 0→2→3→4→5, 4 edges, with 4 convs.
        assert_eq!(cell.graph_features(), [1.0, 1.0, 1.0, 2.0, 1.0, 0.0, 1.0, 4.0, 13.0, 4.0, 4.0]);
        let arch = DartsArch::new(cell, cell).unwrap();
        assert_eq!(arch.graph_features().len(), GRAPH_FEATURES.len());
    }

    /// Suite-Zero row idx 534 of zc_nasbench301.json.
    const COMPACT_534: &str = "[[(0, 0), (1, 5), (1, 1), (0, 1), (1, 3), (0, 3), (1, 3), (3, 2)], [(1, 0), (0, 2), (1, 3), (0, 3), (3, 0), (0, 1), (2, 0), (3, 6)]]";
    /// Row 1 of DARTS_archs_CIFAR10.csv.
    const GENOTYPE_ROW1: &str = "Genotype(normal=[('none', 0), ('dil_conv_5x5', 0), ('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('dil_conv_5x5', 2), ('sep_conv_5x5', 3), ('skip_connect', 4)], normal_concat=[2, 3, 4, 5], reduce=[('none', 0), ('dil_conv_5x5', 0), ('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('dil_conv_5x5', 2), ('sep_conv_5x5', 3), ('skip_connect', 4)], reduce_concat=[2, 3, 4, 5])";

    #[test]
    fn both_encodings_round_trip_and_agree() {
        let a: DartsArch = COMPACT_534.parse().unwrap();
        assert_eq!(a.to_compact_string().unwrap(), COMPACT_534);
        assert_eq!(a.to_string(), COMPACT_534);
        assert_eq!(a.normal.0[0], (DartsOp::MaxPool3x3, 0));
        assert_eq!(a.normal.0[1], (DartsOp::DilConv3x3, 1));
        assert_eq!(a.reduce.0[7], (DartsOp::DilConv5x5, 3));
        let g = a.to_genotype_string();
        assert!(g.starts_with("Genotype(normal=[('max_pool_3x3', 0), ('dil_conv_3x3', 1),"), "{g}");
        assert_eq!(g.parse::<DartsArch>().unwrap(), a);

        let b: DartsArch = GENOTYPE_ROW1.parse().unwrap();
        assert_eq!(b.to_genotype_string(), GENOTYPE_ROW1);
        assert!(b.has_none_op() && b.to_compact_string().is_none());
        assert_eq!(b.to_string(), GENOTYPE_ROW1);
        // Tuples, double quotes, range() and positional fields parse too.
        let alt = GENOTYPE_ROW1.replace('\'', "\"").replace("normal_concat=[2, 3, 4, 5]", "normal_concat=range(2, 6)");
        assert_eq!(alt.parse::<DartsArch>().unwrap(), b);
        let tuple = COMPACT_534.replace('[', "(").replace(']', ")");
        assert_eq!(tuple.parse::<DartsArch>().unwrap(), a);
    }

    #[test]
    fn bad_strings_are_errors_that_name_them() {
        let too_far = COMPACT_534.replacen("(0, 0)", "(2, 0)", 1);
        let bad_op = COMPACT_534.replacen("(1, 5)", "(1, 7)", 1);
        let seven = COMPACT_534.replacen("(0, 0), ", "", 1);
        let bad_name = GENOTYPE_ROW1.replacen("dil_conv_5x5", "conv_9x9", 1);
        let bad_concat = GENOTYPE_ROW1.replacen("normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 3, 4, 5, 6]", 1);
        let missing = GENOTYPE_ROW1.replacen(", reduce_concat=[2, 3, 4, 5]", "", 1);
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        for bad in [
            "",
            "[]",
            "[[], []]",
            "Genotype()",
            "Genotype(normal=[('none', 0)]",
            "[[(0, 0)]] trailing",
            "[[(0, -1)",
            "[[('a', 'b')]]",
            "99999999999999999999999",
            "Genotype(normal='x", // unterminated
            "é[",
            too_far.as_str(),
            bad_op.as_str(),
            seven.as_str(),
            bad_name.as_str(),
            bad_concat.as_str(),
            missing.as_str(),
            deep.as_str(),
        ] {
            let err = format!("{:#}", bad.parse::<DartsArch>().unwrap_err());
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
    }
}
