//! The `swapnas` harness as a library: the commands and the scoring engine the `swapnas`
//! binary dispatches to ([`commands::dispatch`]), for embedding (the Python package in
//! `python/` scores through [`commands::run::score_task`]). Module dependencies flow one way:
//! `commands` → `spec` → `engine` → `cache`/`device`/`fetch`, with `cli` (flag groups) read
//! only by `commands` and `spec`, and `outputs` (the one writer of a command's files) beside
//! them.

pub mod cache;
pub mod cli;
pub mod commands;
pub mod device;
pub mod engine;
pub mod fetch;
pub mod memory;
pub mod outputs;
pub mod searches;
pub mod spec;
