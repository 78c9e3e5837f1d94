//! Warnings that clients can cause (shed requests, odd routes) are written
//! at most once per interval, with how many occurrences they stand for, so
//! that nobody can flood the log by sending requests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// Counts occurrences of one warning and says when a line is due.
#[derive(Debug)]
pub struct Throttle {
    interval_ms: u64,
    /// Milliseconds since [`epoch`] (plus one) of the last line; 0: none yet.
    last: AtomicU64,
    /// Occurrences since the last line.
    count: AtomicU64,
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl Throttle {
    pub const fn per_seconds(seconds: u64) -> Throttle {
        Throttle {
            interval_ms: seconds * 1000,
            last: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    /// The interval between lines, in seconds.
    pub fn interval_seconds(&self) -> u64 {
        self.interval_ms / 1000
    }

    /// Counts one occurrence. Some(n) when a line is due now: the first
    /// occurrence, then the first one after each interval; n counts the
    /// occurrences since the last line, this one included.
    pub fn hit(&self) -> Option<u64> {
        self.count.fetch_add(1, Ordering::Relaxed);
        let now = u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1;
        let last = self.last.load(Ordering::Relaxed);
        if last != 0 && now.saturating_sub(last) < self.interval_ms {
            return None;
        }
        self.last
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .ok()
            .map(|_| self.count.swap(0, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_with_the_count() {
        let t = Throttle::per_seconds(3600);
        assert_eq!(t.hit(), Some(1));
        for _ in 0..99 {
            assert_eq!(t.hit(), None);
        }
        let every = Throttle::per_seconds(0);
        assert_eq!(every.hit(), Some(1));
        assert_eq!(every.hit(), Some(1));
    }
}
