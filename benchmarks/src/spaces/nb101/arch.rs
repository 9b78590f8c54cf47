//! NAS-Bench-101 cell encodings.
//!
//! NASLib's 56-tuple (the keys of Suite-Zero's `zc_nasbench101.json`): a 7×7 upper-triangular
//! adjacency matrix flattened row-major (49 values), then 7 op codes into
//! `[input, output, maxpool3x3, conv1x1-bn-relu, conv3x3-bn-relu]` (NASLib
//! `nasbench101/conversions.py`). The matrix may contain vertices that lie on no
//! input → output path; [`Nb101Arch::pruned`] removes them as `nasbench`'s `ModelSpec` does,
//! and the network is built from the pruned cell.

use crate::cell_class::CellOp;
use anyhow::{bail, ensure, Context, Result};
use std::fmt;
use std::str::FromStr;

/// Vertices of a cell as encoded (input, up to 5 interior vertices, output).
pub const NUM_VERTICES: usize = 7;
/// The benchmark's limit on edges (of the pruned cell).
pub const MAX_EDGES: usize = 9;

/// A vertex label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Nb101Op {
    Input,
    Output,
    MaxPool3x3,
    Conv1x1,
    Conv3x3,
}

impl Nb101Op {
    /// In NASLib's code order.
    pub const ALL: [Nb101Op; 5] = [Nb101Op::Input, Nb101Op::Output, Nb101Op::MaxPool3x3, Nb101Op::Conv1x1, Nb101Op::Conv3x3];

    /// The `nasbench` name.
    pub fn name(self) -> &'static str {
        match self {
            Nb101Op::Input => "input",
            Nb101Op::Output => "output",
            Nb101Op::MaxPool3x3 => "maxpool3x3",
            Nb101Op::Conv1x1 => "conv1x1-bn-relu",
            Nb101Op::Conv3x3 => "conv3x3-bn-relu",
        }
    }

    /// NASLib's op code.
    pub fn code(self) -> usize {
        Self::ALL.iter().position(|&o| o == self).expect("op is in ALL")
    }
}

/// A NAS-Bench-101 cell as encoded: 7 vertices, `matrix[from][to]` for edges (`from < to`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nb101Arch {
    matrix: [[bool; NUM_VERTICES]; NUM_VERTICES],
    ops: [Nb101Op; NUM_VERTICES],
}

/// A cell after pruning: `n ≤ 7` vertices, input first, output last, every vertex on an
/// input → output path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nb101Spec {
    pub matrix: Vec<Vec<bool>>,
    pub ops: Vec<Nb101Op>,
}

impl Nb101Arch {
    /// Checks the cell as `nasbench` does: upper-triangular matrix, input first and output last,
    /// interior vertices maxpool/conv, and after pruning an input → output path and at most 9
    /// edges.
    pub fn new(matrix: [[bool; NUM_VERTICES]; NUM_VERTICES], ops: [Nb101Op; NUM_VERTICES]) -> Result<Self> {
        for (from, row) in matrix.iter().enumerate() {
            for (to, &edge) in row.iter().enumerate() {
                ensure!(!edge || from < to, "the matrix is not strictly upper-triangular (edge {from}→{to})");
            }
        }
        ensure!(ops[0] == Nb101Op::Input, "vertex 0 must be the input, not {}", ops[0].name());
        ensure!(ops[NUM_VERTICES - 1] == Nb101Op::Output, "vertex 6 must be the output, not {}", ops[6].name());
        for (v, op) in ops.iter().enumerate().take(NUM_VERTICES - 1).skip(1) {
            ensure!(!matches!(op, Nb101Op::Input | Nb101Op::Output), "interior vertex {v} is labelled {}", op.name());
        }
        let arch = Self { matrix, ops };
        let spec = arch.try_prune().context("the input is not connected to the output")?;
        let edges = spec.matrix.iter().flatten().filter(|&&e| e).count();
        ensure!(edges <= MAX_EDGES, "the cell has {edges} edges, NAS-Bench-101 allows at most {MAX_EDGES}");
        Ok(arch)
    }

    pub fn matrix(&self) -> &[[bool; NUM_VERTICES]; NUM_VERTICES] {
        &self.matrix
    }

    pub fn ops(&self) -> &[Nb101Op; NUM_VERTICES] {
        &self.ops
    }

    /// NASLib's 56-tuple, exactly as the keys of `zc_nasbench101.json` write it.
    pub fn to_tuple_string(&self) -> String {
        let values: Vec<String> = self
            .matrix
            .iter()
            .flatten()
            .map(|&e| usize::from(e).to_string())
            .chain(self.ops.iter().map(|o| o.code().to_string()))
            .collect();
        format!("({})", values.join(", "))
    }

    /// The cell without the vertices that lie on no input → output path (`ModelSpec._prune`).
    pub fn pruned(&self) -> Nb101Spec {
        self.try_prune().expect("checked in Nb101Arch::new")
    }

    fn try_prune(&self) -> Option<Nb101Spec> {
        let n = NUM_VERTICES;
        let mut from_input = [false; NUM_VERTICES];
        from_input[0] = true;
        for v in 1..n {
            from_input[v] = (0..v).any(|u| from_input[u] && self.matrix[u][v]);
        }
        let mut to_output = [false; NUM_VERTICES];
        to_output[n - 1] = true;
        for v in (0..n - 1).rev() {
            to_output[v] = (v + 1..n).any(|w| to_output[w] && self.matrix[v][w]);
        }
        let keep: Vec<usize> = (0..n).filter(|&v| from_input[v] && to_output[v]).collect();
        if keep.len() < 2 {
            return None;
        }
        Some(Nb101Spec {
            matrix: keep.iter().map(|&u| keep.iter().map(|&v| self.matrix[u][v]).collect()).collect(),
            ops: keep.iter().map(|&v| self.ops[v]).collect(),
        })
    }

    fn parse_tuple(s: &str) -> Result<Self> {
        let values = crate::data::literal::int_sequence(s).context("the encoding is a tuple (56 integers)")?;
        ensure!(values.len() == NUM_VERTICES * (NUM_VERTICES + 1), "found {} values, expected 56", values.len());
        let mut matrix = [[false; NUM_VERTICES]; NUM_VERTICES];
        for (i, v) in values[..49].iter().enumerate() {
            matrix[i / NUM_VERTICES][i % NUM_VERTICES] = match *v {
                0 => false,
                1 => true,
                _ => bail!("adjacency entry {i} is `{v}`, not 0 or 1"),
            };
        }
        let mut ops = [Nb101Op::Input; NUM_VERTICES];
        for (slot, v) in ops.iter_mut().zip(&values[49..]) {
            let code = usize::try_from(*v).ok().filter(|&c| c < 5).with_context(|| format!("op code `{v}` is not in 0..=4"))?;
            *slot = Nb101Op::ALL[code];
        }
        Self::new(matrix, ops)
    }
}

impl Nb101Spec {
    /// `nasbench`'s `graph_util.hash_module` of the pruned cell: the same for isomorphic cells
    /// (the key of the NAS-Bench-101 table). Labels: −1 input, −2 output, else the op's index
    /// in `['conv3x3-bn-relu', 'conv1x1-bn-relu', 'maxpool3x3']`; each vertex starts from the
    /// MD5 of `str((out_degree, in_degree, label))` and is rehashed n times with its sorted in-
    /// and out-neighbours' hashes; the fingerprint is the MD5 of the sorted list's `str`.
    pub fn hash(&self) -> String {
        use md5::{Digest, Md5};
        let md5 = |text: &str| format!("{:x}", Md5::digest(text.as_bytes()));
        let n = self.num_vertices();
        let label = |op: Nb101Op| -> i32 {
            match op {
                Nb101Op::Input => -1,
                Nb101Op::Output => -2,
                Nb101Op::Conv3x3 => 0,
                Nb101Op::Conv1x1 => 1,
                Nb101Op::MaxPool3x3 => 2,
            }
        };
        let edge = |u: usize, v: usize| self.matrix[u][v];
        let mut hashes: Vec<String> = (0..n)
            .map(|v| {
                let out_edges = (0..n).filter(|&w| edge(v, w)).count();
                let in_edges = (0..n).filter(|&w| edge(w, v)).count();
                md5(&format!("({out_edges}, {in_edges}, {})", label(self.ops[v])))
            })
            .collect();
        for _ in 0..n {
            hashes = (0..n)
                .map(|v| {
                    let mut ins: Vec<&str> = (0..n).filter(|&w| edge(w, v)).map(|w| hashes[w].as_str()).collect();
                    let mut outs: Vec<&str> = (0..n).filter(|&w| edge(v, w)).map(|w| hashes[w].as_str()).collect();
                    ins.sort_unstable();
                    outs.sort_unstable();
                    md5(&format!("{}|{}|{}", ins.concat(), outs.concat(), hashes[v]))
                })
                .collect();
        }
        hashes.sort();
        let list: Vec<String> = hashes.iter().map(|h| format!("'{h}'")).collect();
        md5(&format!("[{}]", list.join(", ")))
    }

    pub fn num_vertices(&self) -> usize {
        self.ops.len()
    }

    /// Its graph features ([`GRAPH_FEATURES`]), of the pruned cell: its vertices of each op
    /// (3×3 conv, 1×1 conv, 3×3 max pool) and its edges; how many input → output paths it has;
    /// the most and the fewest convolutions (1×1 or 3×3 vertices) on one of them; and the
    /// shortest and the longest one's edges. Written down for `gp_graph` as NB201's nine were
    /// (op counts, GRAF's `op_count`; the shortest path, its `min_path_len`; Kadlecová et al.,
    /// ICML 2024), with the longest path beside it since NB101's cells vary in depth, **before**
    /// any NB101 accuracy was looked at with them.
    pub fn graph_features(&self) -> [f64; 9] {
        let n = self.num_vertices();
        let count = |op: Nb101Op| self.ops.iter().filter(|&&o| o == op).count() as f64;
        // The paths as `cell_class` reads a cell: an edge carries the op of the vertex it
        // enters (a conv vertex makes its incoming edges weighted; the output sums).
        let (edges, ops): (Vec<(usize, usize)>, Vec<CellOp>) = (0..n)
            .flat_map(|v| (0..v).filter(move |&u| self.matrix[u][v]).map(move |u| (u, v)))
            .map(|(u, v)| {
                let op = match self.ops[v] {
                    Nb101Op::Conv1x1 => CellOp::Weighted(1),
                    Nb101Op::Conv3x3 => CellOp::Weighted(3),
                    _ => CellOp::Identity,
                };
                ((u, v), op)
            })
            .unzip();
        let p = crate::cell_class::open_path_features(&edges, &ops);
        [
            count(Nb101Op::Conv3x3),
            count(Nb101Op::Conv1x1),
            count(Nb101Op::MaxPool3x3),
            edges.len() as f64,
            p.count,
            p.weighted_max,
            p.weighted_min,
            p.edges_min,
            p.edges_max,
        ]
    }

    /// Channels of every vertex of a cell from `c_in` to `c_out` channels (`nasbench`'s
    /// `compute_vertex_channels`): the output's channels are split among the vertices feeding
    /// it (the first ones get the remainder), and every other interior vertex takes the max of
    /// its successors.
    pub fn vertex_channels(&self, c_in: usize, c_out: usize) -> Vec<usize> {
        let n = self.num_vertices();
        let mut ch = vec![0; n];
        ch[0] = c_in;
        ch[n - 1] = c_out;
        if n == 2 {
            return ch;
        }
        let into_output = (1..n - 1).filter(|&v| self.matrix[v][n - 1]).count().max(1);
        let interior = c_out / into_output;
        let mut correction = c_out % into_output;
        for (v, c) in ch.iter_mut().enumerate().take(n - 1).skip(1) {
            if self.matrix[v][n - 1] {
                *c = interior;
                if correction > 0 {
                    *c += 1;
                    correction -= 1;
                }
            }
        }
        for v in (1..n.saturating_sub(2)).rev() {
            if !self.matrix[v][n - 1] {
                for dst in v + 1..n - 1 {
                    if self.matrix[v][dst] {
                        ch[v] = ch[v].max(ch[dst]);
                    }
                }
            }
        }
        ch
    }
}

impl FromStr for Nb101Arch {
    type Err = anyhow::Error;

    /// Parses NASLib's 56-tuple; the error names the string and what is wrong with it.
    fn from_str(s: &str) -> Result<Self> {
        Self::parse_tuple(s).with_context(|| format!("invalid NAS-Bench-101 architecture `{s}`"))
    }
}

impl fmt::Display for Nb101Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_tuple_string())
    }
}

/// The names of [`Nb101Spec::graph_features`], in order.
pub const GRAPH_FEATURES: [&str; 9] = [
    "vertices_conv3x3",
    "vertices_conv1x1",
    "vertices_maxpool3x3",
    "edges",
    "paths",
    "path_convs_max",
    "path_convs_min",
    "path_edges_min",
    "path_edges_max",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The features of cells whose paths are counted by hand, after pruning.
    #[test]
    fn graph_features_count_ops_and_paths_of_the_pruned_cell() {
        use Nb101Op::*;
        let mut m = [[false; NUM_VERTICES]; NUM_VERTICES];
        // 0→1 (3×3) →2 (1×1) →6, 0→3 (pool) →6, 0→6, and vertex 4 (3×3) fed by 1 but feeding
        // nothing, vertex 5 (1×1) isolated: both pruned away.
        for (a, b) in [(0, 1), (1, 2), (2, 6), (0, 3), (3, 6), (0, 6), (1, 4)] {
            m[a][b] = true;
        }
        let arch = Nb101Arch::new(m, [Input, Conv3x3, Conv1x1, MaxPool3x3, Conv3x3, Conv1x1, Output]).unwrap();
        // Paths: 0→1→2→6 (2 convs, 3 edges), 0→3→6 (0, 2), 0→6 (0, 1).
        assert_eq!(arch.pruned().graph_features(), [1.0, 1.0, 1.0, 6.0, 3.0, 2.0, 0.0, 1.0, 3.0]);
        // A diamond: 0→1, 0→2, 1→3, 2→3, 3→6, with 1 and 2 convs, 3 a pool (4 and 5 pruned).
        let mut m = [[false; NUM_VERTICES]; NUM_VERTICES];
        for (a, b) in [(0, 1), (0, 2), (1, 3), (2, 3), (3, 6)] {
            m[a][b] = true;
        }
        let arch = Nb101Arch::new(m, [Input, Conv3x3, Conv1x1, MaxPool3x3, Conv3x3, Conv3x3, Output]).unwrap();
        assert_eq!(arch.pruned().graph_features(), [1.0, 1.0, 1.0, 5.0, 2.0, 1.0, 1.0, 3.0, 3.0]);
    }

    /// `graph_util.hash_module` run in Python on two cells (the values it printed); an
    /// isomorphic relabelling of the interior vertices keeps the hash, another op changes it.
    #[test]
    fn hash_is_nasbenchs() {
        let m = |edges: &[(usize, usize)], ops: [usize; 7]| {
            let mut matrix = [[false; NUM_VERTICES]; NUM_VERTICES];
            for &(u, v) in edges {
                matrix[u][v] = true;
            }
            Nb101Arch::new(matrix, ops.map(|c| Nb101Op::ALL[c])).unwrap().pruned()
        };
        let a = m(&[(0, 1), (0, 2), (0, 3), (0, 5), (1, 6), (2, 6), (3, 4), (4, 6), (5, 6)], [0, 4, 4, 3, 2, 4, 1]);
        assert_eq!(a.hash(), "48d7c9958eea77e66797eaac09b5a859");
        // Vertices 1 and 3 swapped (the chain 3 → 4 becomes 1 → 4).
        let b = m(&[(0, 1), (0, 2), (0, 3), (0, 5), (3, 6), (2, 6), (1, 4), (4, 6), (5, 6)], [0, 3, 4, 4, 2, 4, 1]);
        assert_eq!(b.hash(), a.hash());
        let c = m(&[(0, 1), (0, 2), (0, 3), (0, 5), (1, 6), (2, 6), (3, 4), (4, 6), (5, 6)], [0, 4, 4, 3, 2, 3, 1]);
        assert_ne!(c.hash(), a.hash());
        // input → maxpool → output, the unused vertices pruned.
        let d = m(&[(0, 1), (0, 6), (1, 6)], [0, 2, 4, 4, 4, 4, 1]);
        assert_eq!(d.hash(), "6f6257bc3b12d87b8736e81cd4b7ed8b");
    }

    /// The first key of zc_nasbench101.json: vertex 5 has no way out and is pruned.
    const FIRST: &str = "(0, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 4, 4, 4, 1)";

    #[test]
    fn parses_prunes_and_round_trips() {
        let a: Nb101Arch = FIRST.parse().unwrap();
        assert_eq!(a.to_tuple_string(), FIRST);
        assert_eq!(a.ops()[3], Nb101Op::Conv3x3);
        let spec = a.pruned();
        // Vertex 3 feeds only 4 and 5, vertex 5 feeds nothing: vertex 5 goes; 3 stays (3→4→6).
        assert_eq!(spec.num_vertices(), 6);
        assert_eq!(
            spec.ops,
            vec![Nb101Op::Input, Nb101Op::MaxPool3x3, Nb101Op::MaxPool3x3, Nb101Op::Conv3x3, Nb101Op::Conv3x3, Nb101Op::Output]
        );
        // Vertices 1, 2, 4 feed the output: 128 = 43 + 43 + 42; vertex 3 feeds only 4.
        assert_eq!(spec.vertex_channels(128, 128), vec![128, 43, 43, 42, 42, 128]);
    }

    #[test]
    fn bad_strings_are_errors_that_name_them() {
        let mut lower = FIRST.to_string();
        lower.replace_range(1..2, "1"); // a self-loop on vertex 0
        let bad_op = FIRST.replace("4, 1)", "7, 1)");
        let no_output = FIRST.replace("4, 1)", "4, 4)");
        let two = FIRST.replace(", 1)", ", 2)");
        let cut = "(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 1)";
        let dense = "(0, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 1)";
        for bad in ["", "()", "(0, 1, 2)", FIRST.trim_end_matches(')'), &lower, &bad_op, &no_output, &two, cut, dense, "(x)"] {
            let err = format!("{:#}", bad.parse::<Nb101Arch>().unwrap_err());
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
    }
}
