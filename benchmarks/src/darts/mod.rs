//! The DARTS space (Liu et al., ICLR 2019): NAS-Bench-301 (Suite-Zero's 725 archs, CIFAR-10)
//! and the SWAP authors' DARTS-1000 set (1000 genotypes with their CIFAR-10 accuracy).

mod arch;
mod net;
mod table;

pub use arch::{DartsArch, DartsCell, DartsOp, EDGES_PER_CELL};
pub use net::{DartsBuilder, DartsConfig, DartsNet};
pub use table::{load_nb301_zc, load_swap_darts_csv, load_swap_darts_csv_file, parse_swap_darts_csv, DartsRecord};
