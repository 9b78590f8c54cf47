//! grad_norm (Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021).
//!
//! Definition (NASLib / zero-cost-nas `measures/grad_norm.py`): PyTorch default init, BN in
//! train mode, one backward pass of the mean cross-entropy on the real batch; the score is
//! Σ over conv and linear layers of ‖∂L/∂W‖₂ (Frobenius norm, not squared).
//!
//! Deviation: the batch is the first `batch` training images in file order, not a random
//! augmented minibatch, so the score is deterministic per (arch, seed).

use crate::measure::{sum_over_layers, LossGradients};
use crate::{Proxy, ProxyContext, ProxySettings};
use anyhow::Result;
use swapnas_benchmarks::Record;

pub struct GradNorm {
    batch: usize,
}

impl GradNorm {
    pub fn new(settings: &ProxySettings) -> Self {
        Self { batch: settings.batch }
    }
}

impl Proxy for GradNorm {
    fn name(&self) -> &'static str {
        "grad_norm"
    }

    fn settings(&self) -> String {
        format!("B={} init=pytorch bn=batch loss=ce", self.batch)
    }

    fn batch_size(&self) -> usize {
        self.batch
    }

    fn score(&self, ctx: &ProxyContext) -> Result<f64> {
        let lg = LossGradients::compute(ctx, self.batch, Record::default())?;
        sum_over_layers(lg.weight_and_grad().into_iter().map(|(_, g)| g.powi_scalar(2).sum().sqrt()))
    }
}
