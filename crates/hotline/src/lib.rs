//! The hotline engine's application layer: configuration, the command line,
//! the HTTP server with its tokens, masking, audit log and exports, the demo
//! data set and the dashboard's static files. `main.rs` only calls [`cli::run`].

pub mod app;
pub mod assets;
pub mod auth;
pub mod builtin;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod demo_live;
pub mod dispatch;
pub mod engine;
pub mod error;
pub mod export;
pub mod hotspots;
pub mod import;
pub mod intake;
pub mod limits;
pub mod models;
pub mod openapi;
pub mod overrides;
pub mod phone_quota;
pub mod pii;
pub mod progress;
pub mod reroute;
pub mod retrain;
pub mod search;
pub mod server;
pub mod throttle;
pub mod tokens;

pub use app::AppState;
pub use server::app;
