//! Image sets the proxies are fed, read from their standard binary formats, normalised as
//! the SWAP reference code does (pixels / 255, then per-channel mean and std).
//!
//! The reference takes the first B images of the training set in file order, unshuffled; so
//! does [`ImageSet::load_first`].

use crate::data_dir::{self, DataDir, DataFile};
use anyhow::{bail, Context, Result};
use burn::prelude::*;
use burn::tensor::{DType, Int, TensorData};
use std::path::Path;

/// An image set and its binary layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageSet {
    /// CIFAR-10 binary: 1 label byte + 3,072 pixel bytes per image, `data_batch_1..5.bin`.
    Cifar10,
    /// CIFAR-100 binary: coarse byte, fine byte, 3,072 pixel bytes per image, `train.bin`.
    Cifar100,
    /// The ImageNet16-120 stand-in: 1 label byte + 768 pixel bytes (16×16) per image.
    ImageNet16StandIn,
}

/// A batch of normalised images and their labels, on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageBatch {
    /// `[n, 3, side, side]`, row-major.
    pub pixels: Vec<f32>,
    pub labels: Vec<i64>,
    pub side: usize,
}

impl ImageBatch {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The images as a tensor on `device`.
    pub fn images(&self, device: &Device, dtype: DType) -> Tensor<4> {
        let shape = [self.len(), 3, self.side, self.side];
        Tensor::from_data(TensorData::new(self.pixels.clone(), shape), (device, dtype))
    }

    /// The labels as an int tensor on `device`.
    pub fn label_tensor(&self, device: &Device) -> Tensor<1, Int> {
        Tensor::from_data(TensorData::new(self.labels.clone(), [self.len()]), device)
    }

    /// The first `n` images.
    pub fn first(&self, n: usize) -> ImageBatch {
        let n = n.min(self.len());
        let per = 3 * self.side * self.side;
        ImageBatch { pixels: self.pixels[..n * per].to_vec(), labels: self.labels[..n].to_vec(), side: self.side }
    }
}

impl ImageSet {
    pub fn name(self) -> &'static str {
        match self {
            ImageSet::Cifar10 => "CIFAR-10",
            ImageSet::Cifar100 => "CIFAR-100",
            ImageSet::ImageNet16StandIn => "ImageNet16 stand-in (120 ImageNet photos at 16×16, not ImageNet16-120)",
        }
    }

    pub fn side(self) -> usize {
        match self {
            ImageSet::Cifar10 | ImageSet::Cifar100 => 32,
            ImageSet::ImageNet16StandIn => 16,
        }
    }

    /// Bytes before the pixels of each record, and the index of the label byte among them.
    fn header(self) -> (usize, usize) {
        match self {
            ImageSet::Cifar10 | ImageSet::ImageNet16StandIn => (1, 0),
            ImageSet::Cifar100 => (2, 1),
        }
    }

    /// Per-channel (mean, std) of the SWAP reference code.
    pub fn normalisation(self) -> ([f32; 3], [f32; 3]) {
        match self {
            ImageSet::Cifar10 => ([0.491_399_7, 0.482_158_3, 0.446_531_2], [0.247_032_3, 0.243_485_05, 0.261_587_7]),
            ImageSet::Cifar100 => ([0.5071, 0.4865, 0.4409], [0.2673, 0.2564, 0.2762]),
            ImageSet::ImageNet16StandIn => ([0.481_098, 0.45749, 0.407_882], [0.247_922, 0.240_235, 0.255_255]),
        }
    }

    /// Training files in reading order.
    fn train_files(self) -> Vec<DataFile> {
        match self {
            ImageSet::Cifar10 => vec![
                data_dir::CIFAR10_TRAIN_1,
                DataFile { rel_path: "images/cifar-10-batches-bin/data_batch_2.bin", ..data_dir::CIFAR10_TRAIN_1 },
                DataFile { rel_path: "images/cifar-10-batches-bin/data_batch_3.bin", ..data_dir::CIFAR10_TRAIN_1 },
                DataFile { rel_path: "images/cifar-10-batches-bin/data_batch_4.bin", ..data_dir::CIFAR10_TRAIN_1 },
                DataFile { rel_path: "images/cifar-10-batches-bin/data_batch_5.bin", ..data_dir::CIFAR10_TRAIN_1 },
            ],
            ImageSet::Cifar100 => vec![data_dir::CIFAR100_TRAIN],
            ImageSet::ImageNet16StandIn => vec![data_dir::IMAGENET16_STANDIN],
        }
    }

    /// The first `n` training images in file order.
    pub fn load_first(self, dir: &DataDir, n: usize) -> Result<ImageBatch> {
        let mut batch = ImageBatch { pixels: Vec::new(), labels: Vec::new(), side: self.side() };
        for file in self.train_files() {
            if batch.len() >= n {
                break;
            }
            let path = dir.require(&file)?;
            let part = self.read_file(&path, n - batch.len())?;
            batch.pixels.extend(part.pixels);
            batch.labels.extend(part.labels);
        }
        if batch.len() < n {
            bail!("{} has only {} training images here, {n} were asked for", self.name(), batch.len());
        }
        Ok(batch)
    }

    /// Reads up to `max` images from one binary file.
    pub fn read_file(self, path: &Path, max: usize) -> Result<ImageBatch> {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        self.decode(&bytes, max).with_context(|| format!("{} is not a valid {} binary file", path.display(), self.name()))
    }

    /// Decodes up to `max` records of this set's binary layout.
    pub fn decode(self, bytes: &[u8], max: usize) -> Result<ImageBatch> {
        let side = self.side();
        let plane = side * side;
        let (header, label_at) = self.header();
        let record = header + 3 * plane;
        if bytes.is_empty() {
            bail!("the file is empty");
        }
        if !bytes.len().is_multiple_of(record) {
            bail!(
                "its size ({} bytes) is not a multiple of the {record}-byte record: truncated or another format",
                bytes.len()
            );
        }
        let (mean, std) = self.normalisation();
        let n = (bytes.len() / record).min(max);
        let mut pixels = Vec::with_capacity(n * 3 * plane);
        let mut labels = Vec::with_capacity(n);
        let max_label = match self {
            ImageSet::Cifar10 => 9,
            ImageSet::Cifar100 => 99,
            ImageSet::ImageNet16StandIn => 119,
        };
        for (i, rec) in bytes.chunks_exact(record).take(n).enumerate() {
            let label = rec[label_at];
            if label > max_label {
                bail!("image {i} has label {label}, above the set's largest ({max_label})");
            }
            labels.push(label as i64);
            for c in 0..3 {
                let px = &rec[header + c * plane..header + (c + 1) * plane];
                pixels.extend(px.iter().map(|&p| (p as f32 / 255.0 - mean[c]) / std[c]));
            }
        }
        Ok(ImageBatch { pixels, labels, side })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_normalises_and_rejects_bad_sizes() {
        let mut rec = vec![3u8];
        rec.extend(std::iter::repeat_n(255u8, 1024));
        rec.extend(std::iter::repeat_n(0u8, 2048));
        let b = ImageSet::Cifar10.decode(&rec, 10).unwrap();
        assert_eq!(b.labels, vec![3]);
        let (m, s) = ImageSet::Cifar10.normalisation();
        assert!((b.pixels[0] - (1.0 - m[0]) / s[0]).abs() < 1e-6);
        assert!((b.pixels[1024] - (0.0 - m[1]) / s[1]).abs() < 1e-6);
        assert!(ImageSet::Cifar10.decode(&rec[..3000], 10).is_err());
        assert!(ImageSet::Cifar10.decode(&[], 10).is_err());
        rec[0] = 10;
        assert!(ImageSet::Cifar10.decode(&rec, 10).unwrap_err().to_string().contains("label 10"));
    }
}
