//! The integration tests: one binary, one module per area.

mod access;
mod attack;
mod auth;
mod classifier;
mod dispatch;
mod dispatch_scale;
mod hotspots;
mod http;
mod import;
mod layout;
mod limits;
mod recount_kill;
mod retrain;
mod store;
mod store_props;
mod streets;
mod trust_data;
