//! The hotline engine's application layer: configuration, the command line
//! and (later) the HTTP server. `main.rs` only calls [`cli::run`].

pub mod builtin;
pub mod cli;
pub mod config;
pub mod engine;
