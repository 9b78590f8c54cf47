//! grad_norm (Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021).
//!
//! Definition (NASLib / zero-cost-nas `measures/grad_norm.py`): PyTorch default init, BN in
//! train mode, one backward pass of the mean cross-entropy on the real batch; the score is
//! Σ over conv and linear layers of ‖∂L/∂W‖₂ (Frobenius norm, not squared).
//!
//! Deviation (default `--input first`): the batch is the first `batch` training images in file order, not a random
//! augmented minibatch, so the score is deterministic per (arch, seed). The backward pass is
//! shared with snip and plain.

use crate::measure::{ce_settings, sum_over_layers, LossGradients};
use crate::{Proxy, ProxyContext, ProxySettings};
use anyhow::Result;

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
        ce_settings(self.batch)
    }

    fn batch_size(&self) -> usize {
        self.batch
    }

    fn score(&self, ctx: &ProxyContext) -> Result<f64> {
        let pairs = LossGradients::shared(ctx, self.batch)?;
        sum_over_layers(pairs.iter().map(|(_, g)| g.clone().powi_scalar(2).sum().sqrt()))
    }
}
