//! Each token's quota of submissions that carry a caller's phone or an external id when the token may not see personal data (`server.phone_submissions_per_minute`).
//!
//! (An external id counts because a duplicate one answers with the ticket
//! it names, and an external id may hold a phone, shown masked.)
//!
//! Why: a submission from a phone that already has an open ticket comes back
//! as a repeat of it (接诉即办条例 第十一条). To a token that sees phones
//! masked (138****5678), that answer is an oracle: submitting the same text
//! with each of the 10,000 possible hidden digits tells which is the
//! caller's. Unbounded, 500 guesses took 0.2 s; at the default 6 a minute the
//! whole space takes 28 hours, and every guess stays in the store as a
//! ticket of that token. An operator types one call in several minutes, so
//! the quota never stops honest work; tokens with `pii` see the phone anyway
//! and are not limited.
//!
//! The quota is kept per quota holder ([`TokenRecord::quota_holder`]): the
//! tokens an admin without `pii` mints draw on its quota, or such an admin
//! could mint twenty operators and guess twenty times as fast.
//!
//! The limiter is governor's GCRA (a well-kept crate, not hand-written), kept
//! per token id in memory: a restart gives every token a full quota, which
//! costs an attacker a restart they cannot cause.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, MonotonicClock};
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use uuid::Uuid;

#[cfg(doc)]
use hotline_store::TokenRecord;

type Limiter = RateLimiter<Uuid, HashMapStateStore<Uuid>, MonotonicClock>;

/// The quota of every token without `pii`; None: not limited (0 in the configuration).
#[derive(Debug)]
pub struct PhoneQuota {
    limiter: Option<Limiter>,
    clock: MonotonicClock,
}

impl PhoneQuota {
    /// At most `per_minute` phone-bearing submissions a minute per token, in
    /// bursts of at most `per_minute`; 0 turns the quota off.
    pub fn new(per_minute: u32) -> PhoneQuota {
        let limiter = NonZeroU32::new(per_minute)
            .map(|n| RateLimiter::hashmap_with_clock(Quota::per_minute(n), MonotonicClock));
        PhoneQuota {
            limiter,
            clock: MonotonicClock,
        }
    }

    /// Takes one submission from the quota of `holder` (a token's
    /// [`TokenRecord::quota_holder`]), or says how long until it may.
    pub fn take(&self, holder: Uuid) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        // A token seen once is kept until its cell is full again: the map
        // holds at most the tokens active within the last minute or so.
        if limiter.len() > 10_000 {
            limiter.retain_recent();
        }
        limiter
            .check_key(&holder)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_past_its_quota_waits_and_others_do_not() {
        let quota = PhoneQuota::new(3);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        for _ in 0..3 {
            assert!(quota.take(a).is_ok());
        }
        let wait = quota.take(a).expect_err("the fourth in a minute waits");
        // One cell comes back every 20 s.
        assert!(
            wait > Duration::from_secs(15) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(quota.take(b).is_ok(), "another token has its own quota");
    }

    #[test]
    fn zero_is_no_quota() {
        let quota = PhoneQuota::new(0);
        let a = Uuid::now_v7();
        assert!((0..1000).all(|_| quota.take(a).is_ok()));
    }
}
