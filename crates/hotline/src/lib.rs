//! The hotline engine's application layer: configuration, the command line
//! and the HTTP server. `main.rs` only calls [`cli::run`].

pub mod app;
pub mod builtin;
pub mod cli;
pub mod config;
pub mod engine;
pub mod error;
pub mod import;
pub mod server;

pub use app::AppState;
pub use server::app;
