//! Full-jitter exponential retry schedule.
//!
//! [`backon::ExponentialBuilder`] (jitter off, factor 2, min delay = base, max delay = cap)
//! produces the exponential *ceiling* of each retry; the actual delay is drawn uniformly
//! in `[0, ceiling]` ("full jitter", AWS Architecture Blog, 2015) with a seeded
//! [`ChaCha8Rng`], so tests are reproducible and production spreads retries evenly.
//!
//! Why backon only for the schedule, and the loop driven by the caller: backon's
//! blocking `retry` owns the loop and sleeps on its own, so it cannot weave in what a
//! check needs between attempts: the total [`Deadline`](crate::Deadline) (stop when the
//! next delay plus a useful attempt no longer fits), the [`RetryBudget`](crate::RetryBudget)
//! (withdraw before each retry, a shared per-client resource), the breaker permit for each
//! attempt, and a server's `Retry-After` that replaces the computed delay. So the caller
//! runs the loop and asks [`RetrySchedule::next_retry`] after each failure.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::deadline::DEFAULT_MIN_USEFUL_ATTEMPT;
use crate::error::{ConfigError, invalid};
use crate::events::{EventListener, Listeners, ResilienceEvent, emit};
use crate::failure::FailureKind;

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Wait `after`, then try again.
    Retry {
        /// The delay before the next attempt.
        after: Duration,
    },
    /// Do not try again.
    Stop(StopReason),
}

/// Why no further attempt is made.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The failure is not retryable ([`FailureKind::is_retryable`]).
    NotRetryable,
    /// `max_attempts` attempts have been made.
    AttemptsExhausted,
    /// The delay plus a minimal useful attempt would not fit in the remaining deadline.
    DeadlineWouldPass,
    /// The retry budget is empty (decided by the caller with
    /// [`RetryBudget::try_withdraw`](crate::RetryBudget::try_withdraw)).
    BudgetExhausted,
}

/// Retry policy shared by all checks of a client; makes one [`RetrySchedule`] per check.
#[non_exhaustive]
#[derive(Clone)]
pub struct RetryPolicy {
    /// Total attempts including the first (default 3: one try and two retries, enough
    /// to ride over a blip without tripling load on a sick registry).
    pub max_attempts: u32,
    /// Ceiling of the first retry's delay (default 100 ms: a reset or a refused
    /// connection on one node is often fine on the next one a moment later).
    pub base: Duration,
    /// Largest ceiling (default 2 s: beyond that the 5 s deadline has no room for
    /// an attempt, and longer outages are the breaker's job, not the retry's).
    pub cap: Duration,
    /// RNG seed for reproducible jitter; `None` (default) seeds from OS entropy.
    pub seed: Option<u64>,
    /// The minimal time an attempt needs to be useful (default 200 ms,
    /// [`DEFAULT_MIN_USEFUL_ATTEMPT`]); a retry whose delay leaves less than this
    /// before the deadline is not scheduled.
    pub min_attempt_time: Duration,
    listeners: Arc<[Arc<dyn EventListener>]>,
    streams: Arc<AtomicU64>,
}

impl std::fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("base", &self.base)
            .field("cap", &self.cap)
            .field("seed", &self.seed)
            .field("min_attempt_time", &self.min_attempt_time)
            .field("listeners", &self.listeners.len())
            .finish()
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicyBuilder::default()
            .build()
            .expect("defaults are valid")
    }
}

/// Builder of [`RetryPolicy`].
#[derive(Clone)]
pub struct RetryPolicyBuilder {
    max_attempts: u32,
    base: Duration,
    cap: Duration,
    seed: Option<u64>,
    min_attempt_time: Duration,
    listeners: Listeners,
}

impl Default for RetryPolicyBuilder {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(2),
            seed: None,
            min_attempt_time: DEFAULT_MIN_USEFUL_ATTEMPT,
            listeners: Vec::new(),
        }
    }
}

impl RetryPolicyBuilder {
    /// Total attempts including the first (>= 1; 1 disables retries).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }
    /// Ceiling of the first retry's delay (> 0).
    pub fn base(mut self, d: Duration) -> Self {
        self.base = d;
        self
    }
    /// Largest ceiling (>= base).
    pub fn cap(mut self, d: Duration) -> Self {
        self.cap = d;
        self
    }
    /// Seed for reproducible jitter.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
    /// Minimal useful attempt time.
    pub fn min_attempt_time(mut self, d: Duration) -> Self {
        self.min_attempt_time = d;
        self
    }
    /// Adds an event listener (receives `RetryScheduled` and `RetryStopped`).
    pub fn listener(mut self, l: Arc<dyn EventListener>) -> Self {
        self.listeners.push(l);
        self
    }
    /// Validates and builds.
    pub fn build(self) -> Result<RetryPolicy, ConfigError> {
        if self.max_attempts == 0 {
            return Err(invalid("max_attempts", "must be at least 1"));
        }
        if self.base.is_zero() {
            return Err(invalid("base", "must be positive"));
        }
        if self.cap < self.base {
            return Err(invalid("cap", "must be at least base"));
        }
        Ok(RetryPolicy {
            max_attempts: self.max_attempts,
            base: self.base,
            cap: self.cap,
            seed: self.seed,
            min_attempt_time: self.min_attempt_time,
            listeners: self.listeners.into(),
            streams: Arc::new(AtomicU64::new(0)),
        })
    }
}

impl RetryPolicy {
    /// A builder with the defaults.
    pub fn builder() -> RetryPolicyBuilder {
        RetryPolicyBuilder::default()
    }

    /// The ceiling of the `n`-th retry (0-based): `min(cap, base * 2^n)`.
    pub fn ceiling(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A fresh schedule for one check.
    ///
    /// With a seed, the `k`-th schedule made by this policy (and its clones) uses
    /// ChaCha stream `k` of that seed: runs are reproducible, yet concurrent checks do
    /// not all draw the same delays (which would defeat jitter). Without a seed each
    /// schedule is seeded from OS entropy.
    pub fn schedule(&self) -> RetrySchedule {
        let rng = match self.seed {
            Some(seed) => {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream(self.streams.fetch_add(1, Ordering::Relaxed));
                rng
            }
            None => ChaCha8Rng::from_os_rng(),
        };
        self.schedule_with_rng(rng)
    }

    /// A schedule drawing from ChaCha stream 0 of `seed`, regardless of the policy's seed.
    pub fn schedule_seeded(&self, seed: u64) -> RetrySchedule {
        self.schedule_with_rng(ChaCha8Rng::seed_from_u64(seed))
    }

    fn schedule_with_rng(&self, rng: ChaCha8Rng) -> RetrySchedule {
        let ceilings = ExponentialBuilder::new()
            .with_factor(2.0)
            .with_min_delay(self.base)
            .with_max_delay(self.cap)
            .with_max_times(self.max_attempts.saturating_sub(1) as usize)
            .build();
        RetrySchedule {
            policy: self.clone(),
            ceilings,
            rng,
            attempts: 1,
        }
    }
}

/// The retry state of one check: call [`next_retry`](Self::next_retry) after each
/// failed attempt.
#[derive(Debug)]
pub struct RetrySchedule {
    policy: RetryPolicy,
    ceilings: backon::ExponentialBackoff,
    rng: ChaCha8Rng,
    attempts: u32,
}

impl RetrySchedule {
    /// Attempts made so far (starts at 1: the schedule is made for the first attempt).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Decides what follows the failed attempt.
    ///
    /// * not retryable -> `Stop(NotRetryable)`;
    /// * `max_attempts` reached -> `Stop(AttemptsExhausted)`;
    /// * otherwise the delay is a uniform draw in `[0, min(cap, base * 2^n)]` for the
    ///   `n`-th retry, raised to `retry_after` when the server sent a larger one;
    /// * if that delay plus the policy's minimal attempt time does not fit in
    ///   `remaining` -> `Stop(DeadlineWouldPass)` now, rather than sleep for nothing.
    ///
    /// On `Retry` the attempt counter advances: the caller must then withdraw from the
    /// retry budget and report the result with [`retry_sent`](Self::retry_sent) (sleep,
    /// then try) or [`budget_refused`](Self::budget_refused) (stop). A `Stop` emits
    /// `RetryStopped` here; `RetryScheduled` is emitted only by `retry_sent`, so events
    /// describe retries that really happen.
    pub fn next_retry(
        &mut self,
        failure: &FailureKind,
        retry_after: Option<Duration>,
        remaining: Duration,
    ) -> RetryDecision {
        let decision = self.decide(failure, retry_after, remaining);
        if let RetryDecision::Stop(reason) = decision {
            self.emit_stopped(reason, failure);
        }
        decision
    }

    /// The budget allowed the retry `next_retry` scheduled: emits `RetryScheduled`.
    pub fn retry_sent(&self, after: Duration, failure: &FailureKind) {
        emit(
            &self.policy.listeners,
            &ResilienceEvent::RetryScheduled {
                attempt: self.attempts,
                delay: after,
                failure: *failure,
            },
        );
    }

    /// The budget refused the retry `next_retry` scheduled: the attempt counter goes back
    /// and `RetryStopped { reason: BudgetExhausted }` is emitted.
    pub fn budget_refused(&mut self, failure: &FailureKind) {
        self.attempts = self.attempts.saturating_sub(1).max(1);
        self.emit_stopped(StopReason::BudgetExhausted, failure);
    }

    fn emit_stopped(&self, reason: StopReason, failure: &FailureKind) {
        emit(
            &self.policy.listeners,
            &ResilienceEvent::RetryStopped {
                attempts: self.attempts,
                reason,
                failure: *failure,
            },
        );
    }

    fn decide(
        &mut self,
        failure: &FailureKind,
        retry_after: Option<Duration>,
        remaining: Duration,
    ) -> RetryDecision {
        if !failure.is_retryable() {
            return RetryDecision::Stop(StopReason::NotRetryable);
        }
        if self.attempts >= self.policy.max_attempts {
            return RetryDecision::Stop(StopReason::AttemptsExhausted);
        }
        let Some(backon_ceiling) = self.ceilings.next() else {
            return RetryDecision::Stop(StopReason::AttemptsExhausted);
        };
        // backon computes in f32; clamp to the exact bound so rounding never exceeds it.
        let ceiling = backon_ceiling.min(self.policy.ceiling(self.attempts - 1));
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        let jitter = Duration::from_nanos(self.rng.random_range(0..=nanos));
        let delay = jitter.max(retry_after.unwrap_or(Duration::ZERO));
        if delay.saturating_add(self.policy.min_attempt_time) > remaining {
            return RetryDecision::Stop(StopReason::DeadlineWouldPass);
        }
        self.attempts += 1;
        RetryDecision::Retry { after: delay }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(3600);

    fn delays(policy: &RetryPolicy, seed: u64) -> Vec<Duration> {
        let mut s = policy.schedule_seeded(seed);
        let mut out = vec![];
        while let RetryDecision::Retry { after } = s.next_retry(&FailureKind::Reset, None, LONG) {
            out.push(after);
        }
        out
    }

    #[test]
    fn ceilings_are_exponential_and_capped() {
        let p = RetryPolicy::default();
        let ms = Duration::from_millis;
        assert_eq!(
            (0..6).map(|n| p.ceiling(n)).collect::<Vec<_>>(),
            vec![ms(100), ms(200), ms(400), ms(800), ms(1600), ms(2000)]
        );
        assert_eq!(p.ceiling(40), ms(2000));
    }

    #[test]
    fn full_jitter_bounds() {
        let p = RetryPolicy::builder().max_attempts(8).build().unwrap();
        for seed in 0..500 {
            let d = delays(&p, seed);
            assert_eq!(d.len(), 7);
            for (n, d) in d.iter().enumerate() {
                assert!(*d <= p.ceiling(n as u32), "seed {seed} n {n} {d:?}");
            }
        }
        // jitter actually spreads: over many seeds the first delay covers the range.
        let firsts: Vec<_> = (0..500).map(|s| delays(&p, s)[0]).collect();
        assert!(firsts.iter().any(|d| *d < Duration::from_millis(10)));
        assert!(firsts.iter().any(|d| *d > Duration::from_millis(90)));
    }

    #[test]
    fn same_seed_same_delays() {
        let p = RetryPolicy::builder()
            .max_attempts(5)
            .seed(7)
            .build()
            .unwrap();
        let a = delays(&p, 42);
        let b = delays(&p, 42);
        assert_eq!(a, b);
        assert_ne!(a, delays(&p, 43));
        // policy seed: same sequence of schedules from two equal policies
        let q1 = RetryPolicy::builder().seed(9).build().unwrap();
        let q2 = RetryPolicy::builder().seed(9).build().unwrap();
        let run = |q: &RetryPolicy| {
            (0..3)
                .map(|_| q.schedule().next_retry(&FailureKind::Reset, None, LONG))
                .collect::<Vec<_>>()
        };
        let r1 = run(&q1);
        assert_eq!(r1, run(&q2));
        assert_ne!(r1[0], r1[1], "distinct schedules use distinct streams");
    }

    #[test]
    fn retry_after_replaces_smaller_jitter() {
        let p = RetryPolicy::builder().seed(1).build().unwrap();
        let mut s = p.schedule();
        let d = s.next_retry(
            &FailureKind::Throttled,
            Some(Duration::from_secs(2)),
            Duration::from_secs(5),
        );
        assert_eq!(
            d,
            RetryDecision::Retry {
                after: Duration::from_secs(2)
            }
        );
        // too long for the deadline: stop now
        let d = s.next_retry(
            &FailureKind::Throttled,
            Some(Duration::from_secs(3)),
            Duration::from_secs(3),
        );
        assert_eq!(d, RetryDecision::Stop(StopReason::DeadlineWouldPass));
    }

    #[test]
    fn stops() {
        let p = RetryPolicy::builder().seed(1).build().unwrap();
        let mut s = p.schedule();
        assert_eq!(
            s.next_retry(&FailureKind::HttpStatus(400), None, LONG),
            RetryDecision::Stop(StopReason::NotRetryable)
        );
        assert!(matches!(
            s.next_retry(&FailureKind::Reset, None, LONG),
            RetryDecision::Retry { .. }
        ));
        assert!(matches!(
            s.next_retry(&FailureKind::Reset, None, LONG),
            RetryDecision::Retry { .. }
        ));
        assert_eq!(
            s.next_retry(&FailureKind::Reset, None, LONG),
            RetryDecision::Stop(StopReason::AttemptsExhausted)
        );
        assert_eq!(s.attempts(), 3);
        let mut s = p.schedule();
        assert_eq!(
            s.next_retry(&FailureKind::Reset, None, Duration::from_millis(199)),
            RetryDecision::Stop(StopReason::DeadlineWouldPass)
        );
    }

    #[test]
    fn invalid_config() {
        assert!(RetryPolicy::builder().max_attempts(0).build().is_err());
        assert!(RetryPolicy::builder().base(Duration::ZERO).build().is_err());
        assert!(
            RetryPolicy::builder()
                .base(Duration::from_secs(3))
                .build()
                .is_err()
        );
    }
}
