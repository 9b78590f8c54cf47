//! Networks: the object-safe [`network::Network`] every space's burn module gets, the
//! [`network::ForwardCtx`] through which proxies tap activations, the few layer primitives
//! the spaces are built from, and the weight initialisations the references use.

pub mod codes;
pub mod cpu;
pub mod grad;
pub mod init;
pub mod layers;
pub mod network;
