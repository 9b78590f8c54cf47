//! NAS-Bench-NLP's cell recipes (fmsnew/nas-bench-nlp-release `custom_rnn.py`): a DAG of named
//! nodes, each `{op, input: [names]}`, over the leaves `x` (the layer's input) and `h_prev_i`
//! (the i-th element of the hidden tuple); `h_new_i` are the tuple's next values and `h_new_0`
//! is the layer's output. Ops: `linear` (one weight per input, one bias), `activation_tanh`,
//! `activation_sigm`, `activation_leaky_relu`, `elementwise_sum`, `elementwise_prod`, `blend`
//! (z·a + (1 − z)·b).
//!
//! A [`Recipe`]'s label is a compact, parseable form of the whole graph, nodes in name order:
//! `n1=lin(h0,x);o0=tanh(n1)` — `x`, `hI` for `h_prev_I`, `oI` for `h_new_I`, `nK` for
//! `node_K`, any other name as written; ops `lin`, `tanh`, `sigm`, `lrelu`, `sum`, `prod`,
//! `blend`. Equal graphs have equal labels (the benchmark's 345 logs hold 291 distinct
//! recipes), so a repeated recipe is scored once.

use crate::nn::network::CellActivation;
use anyhow::{bail, ensure, Context, Result};
use std::collections::{BTreeMap, HashMap};

/// A node's operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeOp {
    /// `MultiLinear`: Σ_j W_j·in_j + b, output width H.
    Linear,
    Activation(CellActivation),
    Sum,
    Prod,
    /// blend(z, a, b) = z ⊙ a + (1 − z) ⊙ b.
    Blend,
}

impl NodeOp {
    const NAMES: [(&'static str, &'static str, NodeOp); 7] = [
        ("linear", "lin", NodeOp::Linear),
        ("activation_tanh", "tanh", NodeOp::Activation(CellActivation::Tanh)),
        ("activation_sigm", "sigm", NodeOp::Activation(CellActivation::Sigmoid)),
        ("activation_leaky_relu", "lrelu", NodeOp::Activation(CellActivation::LeakyRelu)),
        ("elementwise_sum", "sum", NodeOp::Sum),
        ("elementwise_prod", "prod", NodeOp::Prod),
        ("blend", "blend", NodeOp::Blend),
    ];

    fn from_recipe(name: &str) -> Result<NodeOp> {
        Self::NAMES.iter().find(|(n, _, _)| *n == name).map(|e| e.2).with_context(|| {
            format!("unknown op `{name}` (known: {})", Self::NAMES.map(|e| e.0).join(", "))
        })
    }

    fn from_short(name: &str) -> Result<NodeOp> {
        Self::NAMES.iter().find(|(_, s, _)| *s == name).map(|e| e.2).with_context(|| {
            format!("unknown op `{name}` (known: {})", Self::NAMES.map(|e| e.1).join(", "))
        })
    }

    fn short(self) -> &'static str {
        Self::NAMES.iter().find(|e| e.2 == self).map_or("?", |e| e.1)
    }

    /// How many inputs it takes (`None`: two or more).
    fn arity(self) -> Option<usize> {
        match self {
            NodeOp::Linear => None,
            NodeOp::Activation(_) => Some(1),
            NodeOp::Sum | NodeOp::Prod => Some(2),
            NodeOp::Blend => Some(3),
        }
    }
}

/// Where a node's input comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The layer's input at this step.
    X,
    /// Element i of the hidden tuple the step receives.
    Prev(usize),
    /// An earlier node (its place in [`Recipe::nodes`]).
    Node(usize),
}

/// One node, its inputs resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub op: NodeOp,
    pub inputs: Vec<Source>,
}

/// A cell: its nodes in an order where every input comes first, and which node gives each
/// element of the next hidden tuple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipe {
    pub nodes: Vec<Node>,
    /// `outputs[i]` is the node `h_new_i` (`outputs[0]` the layer's output); its length is the
    /// hidden tuple's size.
    pub outputs: Vec<usize>,
}

/// A node as the recipe writes it.
#[derive(Debug, Clone, serde::Deserialize)]
struct RawNode {
    op: String,
    input: Vec<String>,
}

/// `h_new_I`'s I (digits only, as `custom_rnn.py` checks).
fn indexed<'a>(name: &'a str, prefix: &str) -> Option<usize> {
    let rest: &'a str = name.strip_prefix(prefix)?;
    (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())).then(|| rest.parse().ok()).flatten()
}

impl Recipe {
    /// A recipe as the benchmark's logs hold it (`recepie`, a JSON object).
    pub fn from_json(text: &str) -> Result<Recipe> {
        let raw: BTreeMap<String, RawNode> = serde_json::from_str(text).context("a recipe is a JSON object of nodes {op, input}")?;
        let nodes = raw.into_iter().map(|(name, n)| Ok((name, NodeOp::from_recipe(&n.op)?, n.input))).collect::<Result<Vec<_>>>()?;
        Self::build(nodes)
    }

    /// Orders the nodes (inputs first; ties in name order) and resolves their inputs.
    fn build(mut named: Vec<(String, NodeOp, Vec<String>)>) -> Result<Recipe> {
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let index: HashMap<&str, usize> = named.iter().enumerate().map(|(i, n)| (n.0.as_str(), i)).collect();
        ensure!(index.len() == named.len(), "a node name is given twice");
        let size = named.iter().filter_map(|n| indexed(&n.0, "h_new_")).max().map(|m| m + 1).context("the cell has no h_new_0")?;
        for (name, op, inputs) in &named {
            if let Some(k) = op.arity() {
                ensure!(inputs.len() == k, "node {name} ({}) takes {k} input(s), has {}", op.short(), inputs.len());
            } else {
                ensure!(!inputs.is_empty(), "node {name} (lin) has no input");
            }
            for i in inputs {
                let leaf = i == "x" || indexed(i, "h_prev_").is_some_and(|p| p < size);
                ensure!(leaf || index.contains_key(i.as_str()), "node {name} reads `{i}`, which is neither a node, x nor h_prev_0..{}", size - 1);
            }
        }
        // Kahn's algorithm, the smallest ready name first.
        let mut order = Vec::with_capacity(named.len());
        let mut place = vec![usize::MAX; named.len()];
        let mut done = vec![false; named.len()];
        while order.len() < named.len() {
            let ready = (0..named.len()).find(|&i| {
                !done[i] && named[i].2.iter().all(|inp| index.get(inp.as_str()).is_none_or(|&j| done[j]))
            });
            let Some(i) = ready else { bail!("the cell's graph has a cycle") };
            done[i] = true;
            place[i] = order.len();
            order.push(i);
        }
        let nodes: Vec<Node> = order
            .iter()
            .map(|&i| {
                let (name, op, inputs) = &named[i];
                let inputs = inputs
                    .iter()
                    .map(|inp| match index.get(inp.as_str()) {
                        Some(&j) => Source::Node(place[j]),
                        None if inp == "x" => Source::X,
                        None => Source::Prev(indexed(inp, "h_prev_").expect("checked above")),
                    })
                    .collect();
                Node { name: name.clone(), op: *op, inputs }
            })
            .collect();
        let outputs = (0..size)
            .map(|i| {
                let name = format!("h_new_{i}");
                nodes.iter().position(|n| n.name == name).with_context(|| format!("the cell gives h_new_0..{} but no {name}", size - 1))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Recipe { nodes, outputs })
    }

    /// The hidden tuple's size.
    pub fn hidden_tuple(&self) -> usize {
        self.outputs.len()
    }

    /// Input widths of each linear node, `in_size` for `x` and `hidden` otherwise, in node order.
    pub fn linear_inputs(&self, in_size: usize, hidden: usize) -> Vec<Vec<usize>> {
        self.nodes
            .iter()
            .filter(|n| n.op == NodeOp::Linear)
            .map(|n| n.inputs.iter().map(|s| if *s == Source::X { in_size } else { hidden }).collect())
            .collect()
    }

    /// Parameters of one layer: Σ over linear nodes of (Σ_j dim_j·H + H).
    pub fn layer_params(&self, in_size: usize, hidden: usize) -> usize {
        self.linear_inputs(in_size, hidden).iter().map(|dims| dims.iter().sum::<usize>() * hidden + hidden).sum()
    }
}

/// A name in the label's short form.
fn short_name(name: &str) -> String {
    if let Some(i) = indexed(name, "node_") {
        format!("n{i}")
    } else if let Some(i) = indexed(name, "h_new_") {
        format!("o{i}")
    } else if let Some(i) = indexed(name, "h_prev_") {
        format!("h{i}")
    } else {
        name.to_string()
    }
}

/// A short name as the recipe writes it.
fn long_name(name: &str) -> String {
    let digits = |p: &str| name.strip_prefix(p).filter(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()));
    if let Some(i) = digits("n") {
        format!("node_{i}")
    } else if let Some(i) = digits("o") {
        format!("h_new_{i}")
    } else if let Some(i) = digits("h") {
        format!("h_prev_{i}")
    } else {
        name.to_string()
    }
}

impl std::fmt::Display for Recipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut by_name: Vec<&Node> = self.nodes.iter().collect();
        by_name.sort_by(|a, b| a.name.cmp(&b.name));
        let source = |s: &Source| match s {
            Source::X => "x".to_string(),
            Source::Prev(i) => format!("h{i}"),
            Source::Node(j) => short_name(&self.nodes[*j].name),
        };
        let text: Vec<String> = by_name
            .iter()
            .map(|n| format!("{}={}({})", short_name(&n.name), n.op.short(), n.inputs.iter().map(source).collect::<Vec<_>>().join(",")))
            .collect();
        write!(f, "{}", text.join(";"))
    }
}

impl std::str::FromStr for Recipe {
    type Err = anyhow::Error;

    /// The label form (`n1=lin(h0,x);o0=tanh(n1)`), or a recipe's JSON.
    fn from_str(s: &str) -> Result<Recipe> {
        let s = s.trim();
        if s.starts_with('{') {
            return Recipe::from_json(s);
        }
        let nodes = s
            .split(';')
            .filter(|p| !p.trim().is_empty())
            .map(|part| {
                let bad = || format!("`{part}` is not NAME=OP(INPUT,…) (e.g. n1=lin(h0,x);o0=tanh(n1))");
                let (name, rest) = part.split_once('=').with_context(bad)?;
                let (op, args) = rest.trim().strip_suffix(')').and_then(|r| r.split_once('(')).with_context(bad)?;
                let inputs = args.split(',').map(|a| long_name(a.trim())).collect();
                Ok((long_name(name.trim()), NodeOp::from_short(op.trim())?, inputs))
            })
            .collect::<Result<Vec<_>>>()?;
        ensure!(!nodes.is_empty(), "an empty cell: give NAME=OP(INPUT,…) nodes separated by `;`");
        Recipe::build(nodes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipes_order_their_nodes_and_round_trip_through_labels() {
        // NAS-Bench-NLP's recipe 1012124 (val loss 5.3045 on WikiText-2).
        let json = r#"{"node_0": {"op": "elementwise_prod", "input": ["h_prev_0", "h_prev_2"]},
            "node_1": {"op": "linear", "input": ["h_prev_0", "h_prev_1"]},
            "node_2": {"op": "activation_leaky_relu", "input": ["node_1"]},
            "node_3": {"op": "elementwise_prod", "input": ["node_0", "h_prev_2"]},
            "node_8": {"op": "linear", "input": ["h_prev_2", "h_prev_0"]},
            "node_9": {"op": "activation_tanh", "input": ["node_8"]},
            "node_12": {"op": "linear", "input": ["node_9", "x"]},
            "h_new_0": {"op": "activation_tanh", "input": ["node_12"]},
            "h_new_1": {"op": "linear", "input": ["h_new_0", "x"]},
            "h_new_2": {"op": "elementwise_prod", "input": ["node_3", "node_2"]}}"#;
        let r = Recipe::from_json(json).unwrap();
        assert_eq!(r.hidden_tuple(), 3);
        for (i, n) in r.nodes.iter().enumerate() {
            for s in &n.inputs {
                if let Source::Node(j) = s {
                    assert!(*j < i, "{} reads a later node", n.name);
                }
            }
        }
        let label = r.to_string();
        assert_eq!(
            label,
            "o0=tanh(n12);o1=lin(o0,x);o2=prod(n3,n2);n0=prod(h0,h2);n1=lin(h0,h1);n12=lin(n9,x);n2=lrelu(n1);n3=prod(n0,h2);\
             n8=lin(h2,h0);n9=tanh(n8)"
        );
        let back: Recipe = label.parse().unwrap();
        assert_eq!(back, r);
        // Linear nodes: n1 (600+600), n12 (600+400), n8 (600+600), o1 (600+400) with H = 600.
        assert_eq!(r.layer_params(400, 600), (1200 + 1000 + 1200 + 1000) * 600 + 4 * 600);
    }

    #[test]
    fn bad_recipes_are_named() {
        let err = |s: &str| format!("{:#}", s.parse::<Recipe>().unwrap_err());
        assert!(err("o0=tanh(n1)").contains("reads `node_1`"));
        assert!(err("n1=lin(x,h0);o0=relu(n1)").contains("unknown op `relu`"));
        assert!(err("n1=tanh(x,h0);o0=tanh(n1)").contains("takes 1 input"));
        assert!(err("n1=tanh(n2);n2=tanh(n1);o0=tanh(n1)").contains("cycle"));
        assert!(err("n1=tanh(x)").contains("no h_new_0"));
        assert!(err("o0=tanh(h1)").contains("h_prev_0..0"));
        assert!(err("o0").contains("NAME=OP"));
    }
}
