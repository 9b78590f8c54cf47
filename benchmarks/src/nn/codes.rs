//! ReLU sign codes computed on the activations' device (wherever the native CPU kernels do
//! not pack them as they run), for one network or for R networks stacked side by side
//! (SWAP's R repeats as one forward pass).
//!
//! A neuron's code packs which of the B samples activate it (bit i = sample i > 0) into
//! 16-bit chunks: a matmul of the 0/1 matrix `[B, neurons]` with powers of two, exact in f32.
//! For a stacked pass ([`ForwardCtx::stacked`](crate::nn::network::ForwardCtx::stacked))
//! every ReLU output is `[B, R·C, H, W]` and network r's neurons are its r-th block of C
//! channels. With B ≤ 16 the codes of each layer are scattered straight into one
//! 65,536-entry set per network on the device, so nothing but R·65,536 flags is ever read
//! back; with more samples each layer's codes are read back at the end and kept per network.

use crate::nn::cpu::{SignCodes, CODE_BITS};
use anyhow::{ensure, Result};
use burn::prelude::*;
use burn::tensor::{DType, IndexingUpdateOp, TensorData};

/// Distinct codes a 16-bit chunk can take: the size of one network's set.
const CODES: usize = 1 << CODE_BITS;

/// The packed sign codes of `x` (`[batch, …]`): `[chunks, neurons]` with `chunks = ⌈B/16⌉`,
/// `codes[k][n]` bit i = sample 16k + i active at neuron n (as f32, exact below 2^16).
fn pack_signs(x: Tensor<4>, batch: usize) -> Tensor<2> {
    let device = x.device();
    let chunks = batch.div_ceil(CODE_BITS);
    // powers[k][i] = 2^(i mod 16) if sample i is in chunk k.
    let mut powers = vec![0.0f32; chunks * batch];
    for i in 0..batch {
        powers[(i / CODE_BITS) * batch + i] = (1u32 << (i % CODE_BITS)) as f32;
    }
    let powers: Tensor<2> = Tensor::from_data(TensorData::new(powers, [chunks, batch]), (&device, DType::F32));
    let width = x.shape().num_elements() / batch;
    powers.matmul(x.greater_elem(0.0).float().cast(DType::F32).reshape([batch, width]))
}

/// Per-network sign codes of a pass (R = 1, or R stacked networks), accumulated layer by
/// layer on the activations' device.
#[derive(Debug)]
pub struct DeviceCodes {
    stack: usize,
    batch: usize,
    layers: usize,
    /// B ≤ 16: `[R · 65,536]`, entry `r·65,536 + code` > 0 once network r has shown `code`.
    seen: Option<Tensor<1>>,
    /// B > 16: each layer's `[chunks, R·width]` codes, read back at the end.
    pending: Vec<Tensor<2>>,
}

impl DeviceCodes {
    pub fn new(stack: usize) -> Self {
        assert!(stack >= 1, "a stacked pass holds at least one network");
        Self { stack, batch: 0, layers: 0, seen: None, pending: Vec::new() }
    }

    /// Adds one ReLU output `[B, R·C, H, W]` (or its input: only the signs count).
    pub fn push(&mut self, y: &Tensor<4>) {
        let [batch, channels, h, w] = y.dims();
        let r = self.stack;
        assert!(channels % r == 0, "a stacked activation's {channels} channels do not split into {r} networks");
        assert!(self.layers == 0 || self.batch == batch, "one batch size per pass");
        self.batch = batch;
        self.layers += 1;
        let codes = pack_signs(y.clone(), batch);
        if batch > CODE_BITS {
            self.pending.push(codes);
            return;
        }
        let device = y.device();
        let width = channels / r * h * w;
        // Network r's codes index its own block of the set.
        let offsets = Tensor::<1, Int>::arange(0..r as i64, &device).mul_scalar(CODES as i64).reshape([r, 1]);
        let index = codes.int().reshape([r, width]).add(offsets).reshape([r * width]);
        let seen = self.seen.take().unwrap_or_else(|| Tensor::zeros([r * CODES], (&device, DType::F32)));
        let ones = Tensor::ones([r * width], (&device, DType::F32));
        self.seen = Some(seen.scatter(0, index, ones, IndexingUpdateOp::Add));
    }

    /// Each network's codes, in stack order.
    pub fn finish(self) -> Result<Vec<SignCodes>> {
        let r = self.stack;
        ensure!(self.layers > 0, "the network applied no ReLU to a 4-D tensor: SWAP has nothing to count");
        let mut out = vec![SignCodes::default(); r];
        if let Some(seen) = self.seen {
            let flags: Vec<f32> = read(seen.greater_elem(0.0).float().cast(DType::F32))?;
            for (codes, flags) in out.iter_mut().zip(flags.chunks_exact(CODES)) {
                let mut words = vec![0u64; CODES / 64];
                for (c, _) in flags.iter().enumerate().filter(|(_, &f)| f > 0.0) {
                    words[c / 64] |= 1u64 << (c % 64);
                }
                *codes = SignCodes::from_seen(self.batch, self.layers, words);
            }
            return Ok(out);
        }
        let chunks = self.batch.div_ceil(CODE_BITS);
        for layer in self.pending {
            let [_, all] = layer.dims();
            let width = all / r;
            let values: Vec<f32> = read(layer)?;
            for (net, codes) in out.iter_mut().enumerate() {
                let packed: Vec<u16> =
                    (0..chunks).flat_map(|k| values[k * all + net * width..][..width].iter().map(|&v| v as u16)).collect();
                codes.push_packed(width, &packed, self.batch);
            }
        }
        Ok(out)
    }
}

fn read<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.into_data().try_into_vec::<f32>().map_err(|e| anyhow::anyhow!("cannot read activation codes back from the device: {e:?}"))
}
