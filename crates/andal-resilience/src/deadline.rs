//! A total time budget per check.

use std::time::{Duration, Instant};

use crate::clock::SharedClock;

/// Default total budget of one check: 5 s.
///
/// A partner's onboarding screen or a hospital front desk can wait a few seconds for an
/// answer, not tens: after 5 s the honest "unavailable" (or an offline-token answer) is
/// worth more than another attempt. It fits a first attempt with a 2 s per-attempt
/// timeout, two backoffs and a retry, which is all a healthy registry ever needs.
pub const DEFAULT_TOTAL: Duration = Duration::from_secs(5);

/// Default minimum useful attempt time: 200 ms.
///
/// An attempt with less than this left cannot complete a TLS handshake and a request to
/// a distant registry, so starting it only adds load; the check answers instead.
pub const DEFAULT_MIN_USEFUL_ATTEMPT: Duration = Duration::from_millis(200);

/// The total budget of one check, measured on a [`Clock`](crate::Clock).
///
/// Every wait (backoff, `Retry-After`) and every attempt must fit inside it, so the
/// caller always gets an answer by [`expires_at`](Self::expires_at).
#[derive(Debug, Clone)]
pub struct Deadline {
    clock: SharedClock,
    start: Instant,
    total: Duration,
}

impl Deadline {
    /// A deadline `total` from now on `clock`.
    pub fn after(clock: &SharedClock, total: Duration) -> Self {
        Self {
            start: clock.now(),
            clock: SharedClock::clone(clock),
            total,
        }
    }

    /// A deadline of [`DEFAULT_TOTAL`] from now on `clock`.
    pub fn default_after(clock: &SharedClock) -> Self {
        Self::after(clock, DEFAULT_TOTAL)
    }

    /// The total budget.
    pub fn total(&self) -> Duration {
        self.total
    }

    /// When the deadline started.
    pub fn started_at(&self) -> Instant {
        self.start
    }

    /// The instant at which the deadline expires (`None` if `total` is too large to be
    /// represented as an [`Instant`], i.e. practically never).
    pub fn expires_at(&self) -> Option<Instant> {
        self.start.checked_add(self.total)
    }

    /// Time spent since the deadline started.
    pub fn elapsed(&self) -> Duration {
        self.clock.now().saturating_duration_since(self.start)
    }

    /// Time left (zero once expired).
    pub fn remaining(&self) -> Duration {
        self.total.saturating_sub(self.elapsed())
    }

    /// Whether no time is left.
    pub fn is_expired(&self) -> bool {
        self.remaining().is_zero()
    }

    /// Shorten the budget to `total` from the same start; a longer `total` changes nothing
    /// (a deadline never moves later).
    pub fn shorten_to(&mut self, total: Duration) {
        self.total = self.total.min(total);
    }

    /// The timeout for the next attempt: `per_attempt`, but never more than what remains;
    /// `None` when less than `min_useful` (or nothing) remains, so that no attempt starts
    /// that cannot finish in time.
    pub fn attempt_timeout(&self, per_attempt: Duration, min_useful: Duration) -> Option<Duration> {
        let remaining = self.remaining();
        if remaining.is_zero() || remaining < min_useful {
            return None;
        }
        Some(per_attempt.min(remaining))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::Arc;

    #[test]
    fn a_deadline_can_be_shortened_never_lengthened() {
        let manual = Arc::new(ManualClock::new());
        let clock: SharedClock = manual.clone();
        let mut d = Deadline::after(&clock, Duration::from_secs(5));
        manual.advance(Duration::from_secs(1));
        d.shorten_to(Duration::from_secs(4));
        assert_eq!(d.remaining(), Duration::from_secs(3));
        d.shorten_to(Duration::from_secs(6));
        assert_eq!(d.total(), Duration::from_secs(4));
        d.shorten_to(Duration::from_millis(500));
        assert!(d.is_expired());
    }

    #[test]
    fn remaining_and_attempt_timeout() {
        let manual = Arc::new(ManualClock::new());
        let clock: SharedClock = manual.clone();
        let d = Deadline::after(&clock, Duration::from_secs(5));
        assert_eq!(d.remaining(), Duration::from_secs(5));
        let ms = Duration::from_millis;
        assert_eq!(d.attempt_timeout(ms(2000), ms(200)), Some(ms(2000)));
        manual.advance(ms(3500));
        assert_eq!(d.remaining(), ms(1500));
        assert_eq!(d.attempt_timeout(ms(2000), ms(200)), Some(ms(1500)));
        manual.advance(ms(1300));
        assert_eq!(d.attempt_timeout(ms(2000), ms(200)), Some(ms(200)));
        manual.advance(ms(1));
        assert_eq!(d.attempt_timeout(ms(2000), ms(200)), None);
        assert!(!d.is_expired());
        manual.advance(ms(500));
        assert!(d.is_expired());
        assert_eq!(d.remaining(), Duration::ZERO);
        assert_eq!(d.attempt_timeout(ms(2000), Duration::ZERO), None);
    }

    #[test]
    fn default_is_five_seconds() {
        let clock: SharedClock = Arc::new(ManualClock::new());
        assert_eq!(
            Deadline::default_after(&clock).total(),
            Duration::from_secs(5)
        );
    }
}
