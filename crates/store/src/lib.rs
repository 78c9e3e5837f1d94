//! The ticket store: the product's memory.
//!
//! An fsynced journal holds every version of every ticket and makes each
//! acknowledged change survive a power cut; sled holds what is looked up
//! (where each ticket is in the journal, external ids, repeat keys, counters);
//! a tantivy index, rebuilt when needed, answers full-text search. Only this
//! crate touches sled and tantivy.

mod audit;
mod batch;
mod compaction;
mod config;
mod counters;
mod decisions;
mod departments;
mod district_statistics;
mod error;
mod generation;
mod hotspots;
mod index;
mod journal;
mod keys;
mod lifecycle;
mod location;
mod maintenance;
pub mod model;
mod personal;
mod queue;
mod queue_counts;
mod record;
mod recount;
mod recovery;
mod repeats;
mod salvage;
mod snippet;
mod stats;
mod store;
#[cfg(test)]
mod testing;
mod tokens;
mod views;
mod watermark;
mod writer;

pub use audit::{AuditAction, AuditEntry, AuditLog};
pub use compaction::CompactReport;
pub use config::StoreConfig;
pub use counters::{contribution, Column, CounterKey, Counts, Deadlines, KindDeadlines};
pub use decisions::DecisionRow;
pub use error::{Error, Result};
pub use hotspots::{
    normalise_address, normalise_masked_address, AddressGroup, AddressGroups, PlaceDay,
};
pub use index::IndexQuery;
pub use journal::{Damage, DamageKind};
pub use maintenance::VerifyReport;
pub use model::*;
pub use personal::PersonalKey;
pub use queue::{
    DeadlineState, DepartmentBacklog, QueueItem, QueuePage, QueueQuery, Stage, StateCounts,
};
pub use repeats::caller_key;
pub use salvage::{JournalCheck, LostStretch, SalvageReport};
pub use snippet::{snippet, Fragment};
pub use stats::{GroupBy, RateConfig, StatsQuery, StatsRow};
pub use store::{NewEvent, SearchHit, SearchPage, Store, Submitted};
pub use tokens::{Issuer, NewToken, Role, TokenRecord, TokenStore};
