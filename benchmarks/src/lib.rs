//! Search spaces and benchmark data for swapnas.
//!
//! * [`space`]: what a search space declares (tasks with metric, images, head and loss; table
//!   sets; reference file; data files) — the [`SearchSpace`] trait.
//! * [`spaces`]: the registry, one folder per space — [`spaces::nb201`], [`spaces::darts`]
//!   (NAS-Bench-301 / DARTS-1000), [`spaces::nb101`].
//! * [`nn`]: the [`Network`] interface, activation taps, layers and weight initialisation.
//! * [`data`]: the data directory, HDF5 archives, Suite-Zero reference files, literal parser.
//! * [`images`]: CIFAR-10/100 and ImageNet16 readers with the reference normalisation.
//! * [`text`]: BERT's uncased WordPiece tokenizer; corpora as fixed-length token sequences.
//! * [`sample`]: seeded architecture samples.
//! * [`genome`]: archs as genes, for search (random arch, mutation, crossover).
//! * [`cell_class`]: same-function classes of cell archs (each distinct computation scored once).

pub mod cell_class;
pub mod corpora;
pub mod data;
pub mod genome;
pub mod images;
pub mod nn;
pub mod sample;
pub mod space;
pub mod spaces;
pub mod text;

pub use data::data_dir::DataDir;
pub use images::{Archive, ImageBatch, ImageSet, Split};
pub use nn::cpu::Kernels;
pub use nn::init::{InitScheme, WeightInit};
pub use nn::network::{
    BnMode, BuildOptions, CellActivation, ClassifierTap, ConvGeometry, ForwardCtx, LayerInput, ModuleNetwork, Network,
    NetworkBuilder, Output, ParamMapFn, ParamSlot, Probe, ReluReplay, SpaceBuilder, SpaceNetwork, Tangents, Taps, Weight,
    WeightKind, WeightTensor,
};
pub use space::{Candidate, Head, Loaded, Loss, SearchSpace, Task};
