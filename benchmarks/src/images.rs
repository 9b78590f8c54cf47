//! Image sets the proxies are fed, read from their standard binary formats, normalised as
//! the SWAP reference code does (pixels / 255, then per-channel mean and std).
//!
//! The reference takes the first B images of the training set in file order, unshuffled; so
//! does [`ImageSet::load_first`].

use crate::data::data_dir::{DataDir, DataFile};
use crate::text::TextFormat;
use anyhow::{bail, Context, Result};
use burn::prelude::*;
use burn::tensor::{DType, Int, TensorData};
use std::path::Path;

/// Padding of the reference loaders' random crop, in pixels (`RandomCrop(32, padding=4)`).
pub const AUGMENT_PAD: usize = 4;

/// How a task's images are prepared for its network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputPrep {
    /// As the image set stores them.
    AsIs,
    /// Resized (bilinear) to `side × side`.
    Resize(usize),
    /// The jigsaw puzzle (`MakeJigsawPuzzle`): resized to `resize`, its central 90% resized
    /// back, a `grid × grid` of cells each giving a `tile` crop at a seeded offset, the cells put
    /// in the order of a seeded permutation (of `permutations`), assembled into one `grid·tile`
    /// image; the label becomes the permutation's index.
    Jigsaw { resize: usize, grid: usize, tile: usize, permutations: usize },
}

/// The version of the images' preparation code in this file (decoding, normalisation,
/// resizing, the jigsaw, cropping): bump it whenever a change here can change what a network
/// is fed, so cached scores are recomputed (version 1 adds nothing to the key).
pub const PREP_VERSION: u32 = 1;

impl InputPrep {
    /// The side of the images the network gets from a set of `native` × `native` images.
    pub fn side(&self, native: usize) -> usize {
        match *self {
            InputPrep::AsIs => native,
            InputPrep::Resize(side) => side,
            InputPrep::Jigsaw { grid, tile, .. } => grid * tile,
        }
    }
}

/// An image set: its files and their binary layout (per image a few header bytes, one of
/// them the label, then the R, G, B planes of `side × side` bytes), and the normalisation the
/// references use. A value, so a search space's folder can declare the image set its tasks
/// need; the common ones are the constants below.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageSet {
    /// For reports (says "stand-in" where it is one).
    pub name: &'static str,
    pub side: usize,
    /// Bytes before the pixels of each record, and the index of the label byte among them.
    pub header: (usize, usize),
    /// The largest valid label.
    pub max_label: u8,
    /// Per-channel mean and std (of pixels / 255) the reference code normalises with.
    pub mean: [f32; 3],
    pub std: [f32; 3],
    /// Training files, in reading order.
    pub files: &'static [DataFile],
    /// Test-split files, in reading order (empty where the set has none here): `--input-split
    /// test` feeds the proxies these instead.
    pub test_files: &'static [DataFile],
    /// Where the set goes in the data directory and where it comes from, in words.
    pub source: (&'static str, &'static str),
    /// The official archive the set's files are extracted from, when there is one to fetch.
    pub archive: Option<Archive>,
    /// The set used instead when this one is not in the data directory (a stand-in for a set
    /// that is not redistributable); [`ImageSet::resolve`] picks.
    pub fallback: Option<&'static ImageSet>,
    /// A text set: its files are a corpus, each record a sequence of `side` token ids as
    /// its format says ([`crate::text::Tokens`]: WordPiece or word ids), the batch
    /// `[n, 1, 1, side]` token ids (as floats, exact below 2²⁴), every label 0. `None` for
    /// images.
    pub text: Option<TextFormat>,
}

/// A published archive holding an image set's files (the CIFAR tarballs): fetched, checked
/// and unpacked into `images/` on first use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Archive {
    /// The official URL.
    pub url: &'static str,
    /// Other places serving the identical file.
    pub mirrors: &'static [&'static str],
    pub bytes: u64,
    /// SHA-256 (hex), where known.
    pub sha256: Option<&'static str>,
    /// MD5 (hex) as the publisher lists it.
    pub md5: Option<&'static str>,
    /// The folder inside the archive that is the set's folder under `images/`.
    pub folder: &'static str,
}

const IMAGENET16_SOURCE: &str = "the official ImageNet16 pickles (train_data_batch_1..10, val_data; https://image-net.org, \
     Downsampled ImageNet 16x16), converted with: python3 scripts/convert_images.py imagenet16 PICKLE_DIR DATA_DIR";

const CIFAR10_SOURCE: &str = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz (unpack cifar-10-batches-bin/)";

impl ImageSet {
    /// A text set: a corpus read as `format` says into sequences of `side` tokens (no image
    /// fields: no header, labels, normalisation, archive or fallback).
    pub const fn corpus(
        name: &'static str,
        side: usize,
        files: &'static [DataFile],
        source: (&'static str, &'static str),
        format: TextFormat,
    ) -> ImageSet {
        ImageSet {
            name,
            side,
            header: (0, 0),
            max_label: 0,
            mean: [0.0; 3],
            std: [1.0; 3],
            files,
            test_files: &[],
            source,
            archive: None,
            fallback: None,
            text: Some(format),
        }
    }

    /// CIFAR-10 binary: 1 label byte + 3,072 pixel bytes per image, `data_batch_1..5.bin`.
    pub const CIFAR10: ImageSet = ImageSet {
        name: "CIFAR-10",
        side: 32,
        header: (1, 0),
        max_label: 9,
        mean: [0.491_399_7, 0.482_158_3, 0.446_531_2],
        std: [0.247_032_3, 0.243_485_05, 0.261_587_7],
        files: &[
            DataFile { rel_path: "images/cifar-10-batches-bin/data_batch_1.bin", source: CIFAR10_SOURCE },
            DataFile { rel_path: "images/cifar-10-batches-bin/data_batch_2.bin", source: CIFAR10_SOURCE },
            DataFile { rel_path: "images/cifar-10-batches-bin/data_batch_3.bin", source: CIFAR10_SOURCE },
            DataFile { rel_path: "images/cifar-10-batches-bin/data_batch_4.bin", source: CIFAR10_SOURCE },
            DataFile { rel_path: "images/cifar-10-batches-bin/data_batch_5.bin", source: CIFAR10_SOURCE },
        ],
        test_files: &[DataFile { rel_path: "images/cifar-10-batches-bin/test_batch.bin", source: CIFAR10_SOURCE }],
        source: (
            "images/cifar-10-batches-bin/",
            "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz (unpack it; the folder is cifar-10-batches-bin)",
        ),
        archive: Some(Archive {
            url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
            mirrors: &["http://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"],
            bytes: 170_052_171,
            sha256: Some("c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"),
            md5: Some("c32a1d4ab5d03f1284b67883e8d87530"),
            folder: "cifar-10-batches-bin",
        }),
        fallback: None,
        text: None,
    };

    /// CIFAR-100 binary: coarse byte, fine byte, 3,072 pixel bytes per image, `train.bin`.
    pub const CIFAR100: ImageSet = ImageSet {
        name: "CIFAR-100",
        side: 32,
        header: (2, 1),
        max_label: 99,
        mean: [0.5071, 0.4865, 0.4409],
        std: [0.2673, 0.2564, 0.2762],
        files: &[DataFile {
            rel_path: "images/cifar-100-binary/train.bin",
            source: "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz (unpack cifar-100-binary/)",
        }],
        test_files: &[DataFile {
            rel_path: "images/cifar-100-binary/test.bin",
            source: "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz (unpack cifar-100-binary/)",
        }],
        source: (
            "images/cifar-100-binary/",
            "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz (unpack it; the folder is cifar-100-binary)",
        ),
        archive: Some(Archive {
            url: "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
            mirrors: &["http://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"],
            bytes: 168_513_733,
            sha256: None,
            md5: Some("03b5dce01913d631647c71ecec9e9cb8"),
            folder: "cifar-100-binary",
        }),
        fallback: None,
        text: None,
    };

    /// The ImageNet16-120 stand-in: 1 label byte + 768 pixel bytes (16×16) per image.
    pub const IMAGENET16_STANDIN: ImageSet = ImageSet {
        name: "ImageNet16 stand-in (120 ImageNet photos at 16×16, not ImageNet16-120)",
        side: 16,
        header: (1, 0),
        max_label: 119,
        mean: [0.481_098, 0.45749, 0.407_882],
        std: [0.247_922, 0.240_235, 0.255_255],
        files: &[DataFile {
            rel_path: "images/imagenet16-120-standin/val.bin",
            source: "the real ImageNet16-120 (not redistributable, so neither fetched nor embedded): convert the official \
                     pickles with `python3 scripts/convert_images.py imagenet16 PICKLE_DIR DATA_DIR`; or this 16×16 stand-in \
                     of 120 ImageNet sample photos (1 label byte + 768 bytes R,G,B per image) from the swapnas data bundle",
        }],
        test_files: &[],
        source: (
            "images/imagenet16-120-standin/val.bin",
            "a 16×16 stand-in (1 label byte + 768 bytes R,G,B per image); ImageNet16-120 itself is not redistributable",
        ),
        archive: None,
        fallback: None,
        text: None,
    };

    /// The real ImageNet16-120 (Chrabaszcz et al. 2017, downsampled ImageNet at 16×16; the
    /// 120 classes NAS-Bench-201 uses), converted from the official pickles by
    /// `scripts/convert_images.py imagenet16`: 1 label byte (0..119) + 768 bytes per image.
    /// Not redistributable, so not fetched: without it the stand-in is used, and said so.
    pub const IMAGENET16_120: ImageSet = ImageSet {
        name: "ImageNet16-120",
        side: 16,
        header: (1, 0),
        max_label: 119,
        mean: [0.481_098, 0.45749, 0.407_882],
        std: [0.247_922, 0.240_235, 0.255_255],
        files: &[
            DataFile { rel_path: "images/ImageNet16-120/train_data_batch_1.bin", source: IMAGENET16_SOURCE },
            DataFile { rel_path: "images/ImageNet16-120/train_data_batch_2.bin", source: IMAGENET16_SOURCE },
            DataFile { rel_path: "images/ImageNet16-120/train_data_batch_3.bin", source: IMAGENET16_SOURCE },
            DataFile { rel_path: "images/ImageNet16-120/train_data_batch_4.bin", source: IMAGENET16_SOURCE },
            DataFile { rel_path: "images/ImageNet16-120/train_data_batch_5.bin", source: IMAGENET16_SOURCE },
            DataFile { rel_path: "images/ImageNet16-120/train_data_batch_6.bin", source: IMAGENET16_SOURCE },
            DataFile { rel_path: "images/ImageNet16-120/train_data_batch_7.bin", source: IMAGENET16_SOURCE },
            DataFile { rel_path: "images/ImageNet16-120/train_data_batch_8.bin", source: IMAGENET16_SOURCE },
            DataFile { rel_path: "images/ImageNet16-120/train_data_batch_9.bin", source: IMAGENET16_SOURCE },
            DataFile { rel_path: "images/ImageNet16-120/train_data_batch_10.bin", source: IMAGENET16_SOURCE },
        ],
        test_files: &[DataFile { rel_path: "images/ImageNet16-120/val_data.bin", source: IMAGENET16_SOURCE }],
        source: ("images/ImageNet16-120/", IMAGENET16_SOURCE),
        archive: None,
        fallback: Some(&ImageSet::IMAGENET16_STANDIN),
        text: None,
    };

    /// The set to load from `dir`: this one, or its fallback when this one's first training
    /// file is not there.
    pub fn resolve(self, dir: &DataDir) -> ImageSet {
        match self.fallback {
            Some(f) if !dir.path(self.files[0].rel_path).is_file() => *f,
            _ => self,
        }
    }
}

/// Which split of an image set the proxies are fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Split {
    /// The training images (every reference's choice).
    #[default]
    Train,
    /// The test images.
    Test,
}

impl Split {
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "training",
            Split::Test => "test",
        }
    }
}

/// A batch of normalised images and their labels, on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageBatch {
    /// `[n, 3, side, side]`, row-major; with `tokens`, `[n, 1, 1, side]` token ids.
    pub pixels: Vec<f32>,
    pub labels: Vec<i64>,
    pub side: usize,
    /// Sequences of token ids (a text set's), not images: only whole records are drawn
    /// from them, never resized, cropped or flipped.
    pub tokens: bool,
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
        self.first_tensors(self.len(), device, dtype).0
    }

    /// Values per record: `3·side²` for an image, `side` for a token sequence.
    pub fn record_len(&self) -> usize {
        if self.tokens {
            self.side
        } else {
            3 * self.side * self.side
        }
    }

    /// The shape of `n` records as a tensor.
    fn shape(&self, n: usize) -> [usize; 4] {
        if self.tokens {
            [n, 1, 1, self.side]
        } else {
            [n, 3, self.side, self.side]
        }
    }

    /// The labels as an int tensor on `device`.
    pub fn label_tensor(&self, device: &Device) -> Tensor<1, Int> {
        Tensor::from_data(TensorData::new(self.labels.clone(), [self.len()]), device)
    }

    /// The first `n` images (at most all) and their labels as tensors on `device`, copied
    /// once from the batch.
    pub fn first_tensors(&self, n: usize, device: &Device, dtype: DType) -> (Tensor<4>, Tensor<1, Int>) {
        let n = n.min(self.len());
        let per = self.record_len();
        let images = Tensor::from_data(TensorData::new(self.pixels[..n * per].to_vec(), self.shape(n)), (device, dtype));
        let labels = Tensor::from_data(TensorData::new(self.labels[..n].to_vec(), [n]), device);
        (images, labels)
    }

    /// `n` distinct images drawn with `seed`, each randomly cropped back to its size from a
    /// copy padded by [`AUGMENT_PAD`] pixels of `fill` (per channel, normalised) and flipped
    /// left-right with probability ½ — the training transform of the reference loaders
    /// (`RandomCrop(side, padding=4)`, then `RandomHorizontalFlip()`, on the unnormalised image,
    /// so the padding is black: `fill` = [`ImageSet::black`]).
    pub fn augmented_sample(&self, n: usize, seed: u64, fill: [f32; 3]) -> ImageBatch {
        use rand::seq::SliceRandom;
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(&mut rng);
        let side = self.side;
        let plane = side * side;
        let mut out =
            ImageBatch { pixels: Vec::with_capacity(n.min(self.len()) * 3 * plane), labels: Vec::new(), side, tokens: false };
        for &i in order.iter().take(n) {
            let (dy, dx) = (rng.random_range(0..=2 * AUGMENT_PAD), rng.random_range(0..=2 * AUGMENT_PAD));
            let flip = rng.random_bool(0.5);
            let src = &self.pixels[i * 3 * plane..(i + 1) * 3 * plane];
            for (c, &pad) in fill.iter().enumerate() {
                for y in 0..side {
                    for x in 0..side {
                        let x = if flip { side - 1 - x } else { x };
                        // Row/column in the source: (y + dy − pad), outside → padding.
                        let (sy, sx) = ((y + dy) as isize - AUGMENT_PAD as isize, (x + dx) as isize - AUGMENT_PAD as isize);
                        let inside = (0..side as isize).contains(&sy) && (0..side as isize).contains(&sx);
                        out.pixels.push(if inside { src[c * plane + sy as usize * side + sx as usize] } else { pad });
                    }
                }
            }
            out.labels.push(self.labels[i]);
        }
        out
    }

    /// `n` distinct images drawn with `seed`, as they are.
    pub fn random_sample(&self, n: usize, seed: u64) -> ImageBatch {
        use rand::seq::SliceRandom;
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(&mut rng);
        let per = self.record_len();
        let mut out = ImageBatch {
            pixels: Vec::with_capacity(n.min(self.len()) * per),
            labels: Vec::new(),
            side: self.side,
            tokens: self.tokens,
        };
        for &i in order.iter().take(n) {
            out.pixels.extend_from_slice(&self.pixels[i * per..(i + 1) * per]);
            out.labels.push(self.labels[i]);
        }
        out
    }

    /// The batch as a task's network takes it ([`InputPrep`]); `seed` draws the jigsaw
    /// permutations (the same seed, the same puzzle).
    pub fn prepare(&self, prep: &InputPrep, seed: u64) -> ImageBatch {
        match *prep {
            InputPrep::AsIs => self.clone(),
            InputPrep::Resize(side) => self.resized(side),
            InputPrep::Jigsaw { resize, grid, tile, permutations } => {
                // MakeJigsawPuzzle's centercrop = 0.9: the central 90% resized back.
                let zoomed = self.resized(resize).center_crop((resize as f64 * 0.9) as usize).resized(resize);
                zoomed.jigsaw(grid, tile, permutations, seed)
            }
        }
    }

    /// Every image resized to `side × side`, bilinear with half-pixel centres
    /// (`F.interpolate(mode="bilinear", align_corners=False)`; values are normalised already,
    /// which commutes with the interpolation).
    pub fn resized(&self, side: usize) -> ImageBatch {
        if side == self.side {
            return self.clone();
        }
        let (src, plane) = (self.side, self.side * self.side);
        let scale = src as f64 / side as f64;
        // Per output coordinate: the two source indices and the weight of the second.
        let taps: Vec<(usize, usize, f32)> = (0..side)
            .map(|o| {
                let x = ((o as f64 + 0.5) * scale - 0.5).max(0.0);
                let i0 = (x.floor() as usize).min(src - 1);
                let i1 = (i0 + 1).min(src - 1);
                (i0, i1, (x - i0 as f64) as f32)
            })
            .collect();
        let mut pixels = Vec::with_capacity(self.len() * 3 * side * side);
        for image in self.pixels.chunks_exact(3 * plane) {
            for channel in image.chunks_exact(plane) {
                for &(y0, y1, wy) in &taps {
                    for &(x0, x1, wx) in &taps {
                        let top = channel[y0 * src + x0] * (1.0 - wx) + channel[y0 * src + x1] * wx;
                        let bottom = channel[y1 * src + x0] * (1.0 - wx) + channel[y1 * src + x1] * wx;
                        pixels.push(top * (1.0 - wy) + bottom * wy);
                    }
                }
            }
        }
        ImageBatch { pixels, labels: self.labels.clone(), side, tokens: false }
    }

    /// A `side × side` crop of every image at a random offset drawn per image with `seed`
    /// (torchvision's `RandomCrop(side, padding=0)`, what the SWAP code's loader does with a
    /// smaller input size).
    pub fn random_crop(&self, side: usize, seed: u64) -> ImageBatch {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let (src, plane) = (self.side, self.side * self.side);
        let side = side.min(src);
        let mut pixels = Vec::with_capacity(self.len() * 3 * side * side);
        for image in self.pixels.chunks_exact(3 * plane) {
            let (oy, ox) = (rng.random_range(0..=src - side), rng.random_range(0..=src - side));
            for channel in image.chunks_exact(plane) {
                for y in 0..side {
                    pixels.extend_from_slice(&channel[(y + oy) * src + ox..(y + oy) * src + ox + side]);
                }
            }
        }
        ImageBatch { pixels, labels: self.labels.clone(), side, tokens: false }
    }

    /// The central `side × side` of every image.
    pub fn center_crop(&self, side: usize) -> ImageBatch {
        let (src, plane) = (self.side, self.side * self.side);
        let side = side.min(src);
        let off = (src - side) / 2;
        let mut pixels = Vec::with_capacity(self.len() * 3 * side * side);
        for channel in self.pixels.chunks_exact(plane) {
            for y in 0..side {
                pixels.extend_from_slice(&channel[(y + off) * src + off..(y + off) * src + off + side]);
            }
        }
        ImageBatch { pixels, labels: self.labels.clone(), side, tokens: false }
    }

    /// The jigsaw puzzle of every image, as `MakeJigsawPuzzle` builds it: a `grid × grid` of
    /// cells, from each a `tile × tile` crop at a seeded random offset, put in the order of one
    /// of `permutations` seeded permutations of the cells (one drawn per image; the official
    /// hamming-distance set is not available), assembled into one `grid·tile` image whose tile
    /// i is the permutation's i-th cell; the label becomes the permutation's index.
    pub fn jigsaw(&self, grid: usize, tile: usize, permutations: usize, seed: u64) -> ImageBatch {
        use rand::seq::SliceRandom;
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let table: Vec<Vec<usize>> = (0..permutations.max(1))
            .map(|_| {
                let mut p: Vec<usize> = (0..grid * grid).collect();
                p.shuffle(&mut rng);
                p
            })
            .collect();
        let (src, plane, cell) = (self.side, self.side * self.side, self.side / grid);
        let side = grid * tile;
        let mut out =
            ImageBatch { pixels: Vec::with_capacity(self.len() * 3 * side * side), labels: Vec::new(), side, tokens: false };
        for image in self.pixels.chunks_exact(3 * plane) {
            let label = rng.random_range(0..table.len());
            let order = &table[label];
            let slack = cell.saturating_sub(tile);
            let offsets: Vec<(usize, usize)> =
                (0..grid * grid).map(|_| (rng.random_range(0..=slack), rng.random_range(0..=slack))).collect();
            for channel in image.chunks_exact(plane) {
                for y in 0..side {
                    for x in 0..side {
                        let i = (y / tile) * grid + x / tile;
                        let (piece, ty, tx) = (order[i], y % tile, x % tile);
                        let (oy, ox) = offsets[i];
                        let (sy, sx) = ((piece / grid) * cell + oy + ty, (piece % grid) * cell + ox + tx);
                        out.pixels.push(channel[sy.min(src - 1) * src + sx.min(src - 1)]);
                    }
                }
            }
            out.labels.push(label as i64);
        }
        out
    }
}

impl ImageSet {
    pub fn name(self) -> &'static str {
        self.name
    }

    pub fn side(self) -> usize {
        self.side
    }

    /// Per-channel (mean, std) of the reference code.
    pub fn normalisation(self) -> ([f32; 3], [f32; 3]) {
        (self.mean, self.std)
    }

    /// A black pixel after normalisation, per channel: what the random crop pads with.
    pub fn black(self) -> [f32; 3] {
        let (mean, std) = self.normalisation();
        [0, 1, 2].map(|c| -mean[c] / std[c])
    }

    /// Every training image here, in file order, up to `cap`: the pool random batches are
    /// drawn from (the data directory holds a subset of each training set; see README).
    pub fn load_pool(self, dir: &DataDir, cap: usize) -> Result<ImageBatch> {
        self.load_split(dir, Split::Train, cap)
    }

    /// The files of `split`.
    pub fn split_files(self, split: Split) -> &'static [DataFile] {
        match split {
            Split::Train => self.files,
            Split::Test => self.test_files,
        }
    }

    /// Every image of `split` here, in file order, up to `cap`.
    pub fn load_split(self, dir: &DataDir, split: Split, cap: usize) -> Result<ImageBatch> {
        let files = self.split_files(split);
        if files.is_empty() {
            bail!("{} has no {} split here: use the training images (`--input-split train`)", self.name(), split.name());
        }
        let mut batch = ImageBatch { pixels: Vec::new(), labels: Vec::new(), side: self.side(), tokens: self.text.is_some() };
        for (k, file) in files.iter().enumerate() {
            if batch.len() >= cap {
                break;
            }
            let want = cap - batch.len();
            // The first training images are compiled in: enough for every default batch, so a
            // run needs no image files (the full set is fetched when more are asked for).
            let embedded = crate::data::embedded::first_images(file.rel_path).filter(|bytes| {
                split == Split::Train && k == 0 && !dir.path(file.rel_path).is_file() && bytes.len() / self.record() >= want
            });
            let part = match embedded {
                Some(bytes) => {
                    crate::data::embedded::mark();
                    self.decode(bytes, want).context("the embedded images are damaged (rebuild swapnas)")?
                }
                None => self.read_file(&dir.require(file)?, want)?,
            };
            batch.pixels.extend(part.pixels);
            batch.labels.extend(part.labels);
        }
        Ok(batch)
    }

    /// The first `n` training images in file order.
    pub fn load_first(self, dir: &DataDir, n: usize) -> Result<ImageBatch> {
        self.load_first_of(dir, Split::Train, n)
    }

    /// The first `n` images of `split` in file order.
    pub fn load_first_of(self, dir: &DataDir, split: Split, n: usize) -> Result<ImageBatch> {
        let batch = self.load_split(dir, split, n)?;
        if batch.len() < n {
            match self.text {
                Some(_) => bail!(
                    "{} gives only {} sequences, {n} were asked for: ask for at most {}",
                    self.name(),
                    batch.len(),
                    batch.len()
                ),
                None => bail!("{} has only {} {} images here, {n} were asked for", self.name(), batch.len(), split.name()),
            }
        }
        Ok(batch)
    }

    /// Reads up to `max` images from one binary file.
    pub fn read_file(self, path: &Path, max: usize) -> Result<ImageBatch> {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        self.decode(&bytes, max).with_context(|| format!("{} is not a valid {} binary file", path.display(), self.name()))
    }

    /// Bytes per image record.
    pub fn record(self) -> usize {
        self.header.0 + 3 * self.side * self.side
    }

    /// Decodes up to `max` records of this set's binary layout (a text set: of its corpus).
    pub fn decode(self, bytes: &[u8], max: usize) -> Result<ImageBatch> {
        if let Some(format) = &self.text {
            let text = std::str::from_utf8(bytes).context("the corpus is not UTF-8 text")?;
            let seqs = crate::text::sequences(text, format, self.side, max)?;
            let labels = vec![0; seqs.len()];
            let pixels = seqs.into_iter().flatten().map(|id| id as f32).collect();
            return Ok(ImageBatch { pixels, labels, side: self.side, tokens: true });
        }
        let side = self.side();
        let plane = side * side;
        let (header, label_at) = self.header;
        let record = header + 3 * plane;
        if bytes.is_empty() {
            bail!("the file is empty");
        }
        if !bytes.len().is_multiple_of(record) {
            bail!("its size ({} bytes) is not a multiple of the {record}-byte record: truncated or another format", bytes.len());
        }
        let (mean, std) = self.normalisation();
        let n = (bytes.len() / record).min(max);
        let mut pixels = Vec::with_capacity(n * 3 * plane);
        let mut labels = Vec::with_capacity(n);
        let max_label = self.max_label;
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
        Ok(ImageBatch { pixels, labels, side, tokens: false })
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
        let b = ImageSet::CIFAR10.decode(&rec, 10).unwrap();
        assert_eq!(b.labels, vec![3]);
        let (m, s) = ImageSet::CIFAR10.normalisation();
        assert!((b.pixels[0] - (1.0 - m[0]) / s[0]).abs() < 1e-6);
        assert!((b.pixels[1024] - (0.0 - m[1]) / s[1]).abs() < 1e-6);
        assert!(ImageSet::CIFAR10.decode(&rec[..3000], 10).is_err());
        assert!(ImageSet::CIFAR10.decode(&[], 10).is_err());
        rec[0] = 10;
        assert!(ImageSet::CIFAR10.decode(&rec, 10).unwrap_err().to_string().contains("label 10"));
    }

    /// ImageNet16-120 is read when converted into the data directory, else its stand-in.
    #[test]
    fn a_real_set_is_used_when_present_else_its_stand_in() {
        let dir = std::env::temp_dir().join(format!("swapnas-in16-{}", std::process::id()));
        let data = DataDir::at(&dir);
        assert_eq!(ImageSet::IMAGENET16_120.resolve(&data), ImageSet::IMAGENET16_STANDIN);
        assert_eq!(ImageSet::CIFAR10.resolve(&data), ImageSet::CIFAR10);
        let first = dir.join(ImageSet::IMAGENET16_120.files[0].rel_path);
        std::fs::create_dir_all(first.parent().unwrap()).unwrap();
        let mut rec = vec![5u8];
        rec.extend((0..768).map(|i| (i % 251) as u8));
        std::fs::write(&first, &rec).unwrap();
        let set = ImageSet::IMAGENET16_120.resolve(&data);
        assert_eq!(set, ImageSet::IMAGENET16_120);
        let b = set.load_first(&data, 1).unwrap();
        assert_eq!((b.labels.clone(), b.side), (vec![5], 16));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A random crop is a window of its image (offsets within bounds, fixed by the seed), and
    /// a random sample is distinct images as they are.
    #[test]
    fn random_crop_and_sample() {
        let (side, n) = (6usize, 5usize);
        let plane = side * side;
        let pixels: Vec<f32> = (0..n * 3 * plane).map(|i| i as f32).collect();
        let batch = ImageBatch { pixels, labels: (0..n as i64).collect(), side, tokens: false };
        let crop = batch.random_crop(3, 9);
        assert_eq!((crop.side, crop.len()), (3, n));
        assert_eq!(crop, batch.random_crop(3, 9));
        for k in 0..n {
            let img = &crop.pixels[k * 27..(k + 1) * 27];
            // Top-left value → its offset; every other pixel follows from it.
            let origin = img[0] as usize - k * 3 * plane;
            let (oy, ox) = (origin / side, origin % side);
            assert!(oy <= 3 && ox <= 3);
            for c in 0..3 {
                for y in 0..3 {
                    for x in 0..3 {
                        let want = k * 3 * plane + c * plane + (oy + y) * side + ox + x;
                        assert_eq!(img[c * 9 + y * 3 + x] as usize, want);
                    }
                }
            }
        }
        let s = batch.random_sample(3, 4);
        assert_eq!(s.len(), 3);
        let mut labels = s.labels.clone();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), 3);
        for (k, &l) in s.labels.iter().enumerate() {
            let l = l as usize;
            assert_eq!(s.pixels[k * 3 * plane..(k + 1) * 3 * plane], batch.pixels[l * 3 * plane..(l + 1) * 3 * plane]);
        }
    }

    /// Every augmented image is some source image (its label with it), shifted by at most 4
    /// pixels with the fill where it moved in, maybe mirrored; draws are distinct images,
    /// fixed by the seed.
    #[test]
    fn augmented_sample_is_a_padded_crop_and_flip() {
        let (side, n) = (8usize, 6usize);
        let plane = side * side;
        // Pixel value = a unique id (image, channel, y, x) > 0; fill is −1.
        let pixels: Vec<f32> = (0..n * 3 * plane).map(|i| (i + 1) as f32).collect();
        let pool = ImageBatch { pixels, labels: (0..n as i64).map(|l| l * 10).collect(), side, tokens: false };
        let fill = [-1.0, -2.0, -3.0];
        let a = pool.augmented_sample(4, 7, fill);
        assert_eq!(a, pool.augmented_sample(4, 7, fill));
        assert_ne!(a, pool.augmented_sample(4, 8, fill));
        let mut seen = Vec::new();
        for k in 0..4 {
            let img = &a.pixels[k * 3 * plane..(k + 1) * 3 * plane];
            let src = (a.labels[k] / 10) as usize;
            assert!(!seen.contains(&src));
            seen.push(src);
            let found = (0..=8).any(|dy: usize| {
                (0..=8).any(|dx: usize| {
                    [false, true].iter().any(|&flip| {
                        (0..3).all(|c| {
                            (0..side).all(|y| {
                                (0..side).all(|x| {
                                    let xs = if flip { side - 1 - x } else { x };
                                    let (sy, sx) = (y as isize + dy as isize - 4, xs as isize + dx as isize - 4);
                                    let want = if (0..side as isize).contains(&sy) && (0..side as isize).contains(&sx) {
                                        pool.pixels[src * 3 * plane + c * plane + sy as usize * side + sx as usize]
                                    } else {
                                        fill[c]
                                    };
                                    img[c * plane + y * side + x] == want
                                })
                            })
                        })
                    })
                })
            });
            assert!(found, "image {k} is no padded crop of source {src}");
        }
        // Black after normalisation is what the padding is in the real pipeline.
        let (m, s) = ImageSet::CIFAR10.normalisation();
        assert!((ImageSet::CIFAR10.black()[2] + m[2] / s[2]).abs() < 1e-7);
    }

    #[test]
    fn resize_and_jigsaw_move_pixels_where_they_should() {
        // One 4×4 image, channel c holding 100·c + 4·y + x.
        let pixels: Vec<f32> = (0..3).flat_map(|c| (0..16).map(move |i| (100 * c + i) as f32)).collect();
        let batch = ImageBatch { pixels, labels: vec![7], side: 4, tokens: false };
        // Halving averages 2×2 blocks (half-pixel centres fall between the pixels).
        let half = batch.resized(2);
        assert_eq!(half.side, 2);
        assert_eq!(&half.pixels[..4], &[2.5, 4.5, 10.5, 12.5]);
        assert_eq!(batch.resized(4), batch);
        let up = batch.resized(8);
        assert_eq!(up.pixels[0], 0.0); // the corner replicates
        assert_eq!(up.pixels.len(), 3 * 64);
        // A 2×2 grid of 2×2 cells, tiles the size of the cells: every tile is a source cell.
        let puzzle = batch.jigsaw(2, 2, 5, 1);
        assert_eq!(puzzle.side, 4);
        let label = puzzle.labels[0];
        assert!((0..5).contains(&label));
        let cell =
            |p: &[f32], k: usize| -> Vec<f32> { (0..4).map(|i| p[((k / 2) * 2 + i / 2) * 4 + (k % 2) * 2 + i % 2]).collect() };
        let mut seen: Vec<Vec<f32>> = (0..4).map(|k| cell(&puzzle.pixels, k)).collect();
        let mut cells: Vec<Vec<f32>> = (0..4).map(|k| cell(&batch.pixels, k)).collect();
        seen.sort_by(|a, b| a[0].total_cmp(&b[0]));
        cells.sort_by(|a, b| a[0].total_cmp(&b[0]));
        assert_eq!(seen, cells, "the tiles are the cells, permuted");
        assert_eq!(batch.jigsaw(2, 2, 5, 1), puzzle, "seeded");
        assert_eq!(&batch.center_crop(2).pixels[..4], &[5.0, 6.0, 9.0, 10.0]);
    }
}
