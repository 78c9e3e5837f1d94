//! The engine's clock for "now": Beijing time (see
//! [`hotline_store::beijing_now`]) unless a test fixed it. Deadline states
//! and hot spots depend on now; a fixed clock makes them testable.

use std::sync::{Arc, RwLock};

use chrono::NaiveDateTime;

/// Now in Beijing, or a fixed moment. Cheap to clone; clones share the setting.
#[derive(Debug, Clone, Default)]
pub struct Clock(Arc<RwLock<Option<NaiveDateTime>>>);

impl Clock {
    /// The real clock (Beijing time, whatever the machine's zone).
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock stopped at `at` (Beijing time).
    pub fn fixed(at: NaiveDateTime) -> Clock {
        Clock(Arc::new(RwLock::new(Some(at))))
    }

    /// Stops this clock (and every clone of it) at `at`, or lets it run with `None`.
    pub fn set(&self, at: Option<NaiveDateTime>) {
        match self.0.write() {
            Ok(mut g) => *g = at,
            Err(p) => *p.into_inner() = at,
        }
    }

    pub fn now(&self) -> NaiveDateTime {
        let fixed = match self.0.read() {
            Ok(g) => *g,
            Err(p) => *p.into_inner(),
        };
        fixed.unwrap_or_else(hotline_store::beijing_now)
    }
}
