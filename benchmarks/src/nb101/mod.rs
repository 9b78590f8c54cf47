//! NAS-Bench-101 (Ying et al., ICML 2019): cells of up to 7 vertices and 9 edges, ops
//! conv3×3 / conv1×1 / max pool 3×3; Suite-Zero's 500 CIFAR-10 archs.

mod arch;
mod net;
mod table;

pub use arch::{Nb101Arch, Nb101Op, Nb101Spec, MAX_EDGES, NUM_VERTICES};
pub use net::{Nb101Builder, Nb101Config, Nb101Net};
pub use table::{load_nb101, load_nb101_zc, nb101_from_archive, Nb101Record, NB101_ARCHIVE};
