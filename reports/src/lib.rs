//! Statistics, tables and plots. This crate knows only scores and accuracies: no networks,
//! no benchmarks.

pub mod combine;
pub mod gp;
pub mod parquet;
pub mod plot;
pub mod stats;
pub mod table;

pub use stats::{correlate, kendall_tau, spearman_rho, spearman_with_accuracy, Correlation};
pub use table::{CorrelationTable, MatrixTable, TableRow};
