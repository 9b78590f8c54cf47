//! NAS-Bench-201 (Dong & Yang, ICLR 2020): 15,625 cell architectures, 6 edges × 5 ops.

mod arch;
mod net;
mod table;

pub use arch::{Nb201Arch, Nb201Op, EDGES, NUM_ARCHS};
pub use net::{Nb201Builder, Nb201Config, Nb201Net};
pub use table::{Nb201Record, Nb201Table, Nb201Task, NB201_ARCHIVE};
