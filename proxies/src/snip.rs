//! snip (Lee et al. 2019, as a NAS proxy in Abdelfattah et al., ICLR 2021).
//!
//! Definition (NASLib / zero-cost-nas `measures/snip.py`): PyTorch default init, BN in train
//! mode, one backward pass of the mean cross-entropy on the real batch; the score is
//! Σ over conv and linear weights of |W ⊙ ∂L/∂W| (the reference's |∂L/∂mask| at mask = 1).
//!
//! Deviation (default `--input first`): the batch is the first `batch` training images in file order, not a random
//! augmented minibatch. The backward pass is shared with grad_norm and plain.

use crate::measure::{ce_settings, sum_over_layers, LossGradients};
use crate::{Proxy, ProxyContext, ProxySettings};
use anyhow::{Context, Result};

pub struct Snip {
    batch: usize,
}

impl Snip {
    pub fn new(settings: &ProxySettings) -> Self {
        Self { batch: settings.batch }
    }
}

impl Proxy for Snip {
    fn name(&self) -> &'static str {
        "snip"
    }

    fn settings(&self) -> String {
        ce_settings(self.batch)
    }

    fn batch_size(&self) -> usize {
        self.batch
    }

    fn score(&self, ctx: &ProxyContext) -> Result<f64> {
        let pairs = LossGradients::shared(ctx, self.batch).context("snip: cross-entropy backward pass")?;
        sum_over_layers(pairs.iter().map(|(w, g)| w.clone().mul(g.clone()).abs()))
    }
}
