//! The ticket store: the product's memory.
//!
//! An fsynced journal holds every version of every ticket and makes each
//! acknowledged change survive a power cut; sled holds what is looked up
//! (where each ticket is in the journal, external ids, repeat keys, counters);
//! a tantivy index, rebuilt when needed, answers full-text search. Only this
//! crate touches sled and tantivy.

mod audit;
mod counters;
mod error;
mod index;
mod journal;
pub mod model;
mod personal;
mod queue;
mod snippet;
mod stats;
mod store;
mod tokens;

pub use audit::{AuditAction, AuditEntry, AuditLog};
pub use counters::{contribution, Column, CounterKey, Counts, Deadlines};
pub use error::{Error, Result};
pub use index::IndexQuery;
pub use journal::{Damage, DamageKind};
pub use model::*;
pub use personal::PersonalKey;
pub use queue::{
    DeadlineState, DepartmentBacklog, QueueItem, QueuePage, QueueQuery, Stage, StateCounts,
};
pub use snippet::snippet;
pub use stats::{GroupBy, RateConfig, StatsQuery, StatsRow};
pub use store::hotspots::{normalise_address, AddressGroup, PlaceDay};
pub use store::{
    caller_key, CompactReport, JournalCheck, LostStretch, NewEvent, SalvageReport, SearchHit,
    SearchPage, Store, StoreConfig, Submitted, VerifyReport,
};
pub use tokens::{Issuer, NewToken, Role, TokenRecord, TokenStore};
