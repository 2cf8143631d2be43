//! Resilience pieces for Andal identity checks: small, separate, composable, synchronous.
//!
//! | piece | role |
//! |---|---|
//! | [`Clock`] ([`SystemClock`], [`ManualClock`]) | injected time, so tests never sleep |
//! | [`Deadline`] | the total budget of one check (default 5 s) |
//! | [`FailureKind`] | why an attempt failed; retryable or not; [`parse_retry_after`] |
//! | [`RetryPolicy`] / [`RetrySchedule`] | full-jitter exponential backoff honouring `Retry-After` and the deadline |
//! | [`RetryBudget`] | per-client token bucket: retries never multiply load |
//! | [`AdaptiveThrottle`] | client-side adaptive throttling: sheds first attempts gradually as the registry fails more |
//! | [`CircuitBreaker`] / [`BreakerRegistry`] | resilience4j-style breaker, one per upstream host |
//! | [`ResilienceEvent`] / [`EventListener`] | observability (also `tracing`, target `andal::resilience`) |
//!
//! The caller drives the loop, in this order: deadline -> breaker admit -> budget (retries
//! only) -> attempt with a per-attempt timeout -> classify -> record -> schedule.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use andal_resilience::*;
//!
//! let manual = Arc::new(ManualClock::new());
//! let clock: SharedClock = manual.clone();
//! let breakers = BreakerRegistry::new(BreakerConfig::default(), &clock);
//! let budget = RetryBudget::new(RetryBudgetConfig::default(), &clock).unwrap();
//! let policy = RetryPolicy::builder().seed(7).build().unwrap();
//!
//! // A fake registry: fails twice with 503, then answers.
//! let mut responses = vec![Ok("SESUAI"), Err(FailureKind::HttpStatus(503)), Err(FailureKind::Reset)];
//!
//! let deadline = Deadline::after(&clock, deadline::DEFAULT_TOTAL);
//! let breaker = breakers.get("registry.example");
//! let mut schedule = policy.schedule();
//! budget.record_request(); // a first attempt deposits into the budget
//! #[derive(Debug, PartialEq)]
//! enum Unanswered { Breaker(BreakerState), Stopped(StopReason) }
//! let answer: Result<&str, Unanswered> = loop {
//!     let Some(timeout) = deadline.attempt_timeout(Duration::from_secs(2), deadline::DEFAULT_MIN_USEFUL_ATTEMPT) else {
//!         break Err(Unanswered::Stopped(StopReason::DeadlineWouldPass));
//!     };
//!     let permit = match breaker.try_acquire() {
//!         Ok(permit) => permit,
//!         // open: no call, no fee, no load; the fallback policy answers instead
//!         Err(rejected) => break Err(Unanswered::Breaker(rejected.state)),
//!     };
//!     let started = clock.now();
//!     let result = responses.pop().unwrap(); // the attempt, bounded by `timeout`
//!     manual.advance(Duration::from_millis(80).min(timeout));
//!     let took = clock.now() - started;
//!     match result {
//!         Ok(verdict) => {
//!             permit.record(CallOutcome::Success, took);
//!             break Ok(verdict);
//!         }
//!         Err(failure) => {
//!             permit.record(CallOutcome::from_failure(&failure, false), took);
//!             match schedule.next_retry(&failure, None, deadline.remaining()) {
//!                 RetryDecision::Retry { after } => {
//!                     if !budget.try_withdraw() {
//!                         schedule.budget_refused(&failure);
//!                         break Err(Unanswered::Stopped(StopReason::BudgetExhausted));
//!                     }
//!                     schedule.retry_sent(after, &failure);
//!                     clock.sleep(after);
//!                 }
//!                 RetryDecision::Stop(reason) => break Err(Unanswered::Stopped(reason)),
//!             }
//!         }
//!     }
//! };
//! assert_eq!(answer, Ok("SESUAI"));
//! assert_eq!(schedule.attempts(), 3);
//! assert!(!deadline.is_expired());
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod breaker;
pub mod budget;
pub mod clock;
pub mod deadline;
pub mod error;
pub mod events;
pub mod failure;
pub mod retry;
pub mod throttle;

pub use breaker::{
    BreakerConfig, BreakerConfigBuilder, BreakerHealth, BreakerRegistry, BreakerState, CallOutcome,
    CircuitBreaker, OwnedPermit, OwnedRecoveryProbe, Permit, RecoveryProbe, Rejected,
    SLOW_CALL_SHARE, SlidingWindow,
};
pub use budget::{RetryBudget, RetryBudgetConfig};
pub use clock::{AsyncSleep, Clock, ManualClock, SharedClock, SharedTimer, Sleep, SystemClock};
pub use deadline::Deadline;
pub use error::ConfigError;
pub use events::{EventListener, RecordingListener, ResilienceEvent, TRACING_TARGET};
pub use failure::{FailureKind, parse_retry_after};
pub use retry::{RetryDecision, RetryPolicy, RetryPolicyBuilder, RetrySchedule, StopReason};
pub use throttle::{AdaptiveThrottle, Shed, ThrottleConfig};

#[cfg(test)]
mod send_sync {
    fn assert_send_sync<T: Send + Sync>() {}
    #[test]
    fn all_pieces_are_send_sync() {
        assert_send_sync::<super::CircuitBreaker>();
        assert_send_sync::<super::BreakerRegistry>();
        assert_send_sync::<super::RetryBudget>();
        assert_send_sync::<super::AdaptiveThrottle>();
        assert_send_sync::<super::RetryPolicy>();
        assert_send_sync::<super::RetrySchedule>();
        assert_send_sync::<super::Deadline>();
        assert_send_sync::<super::ManualClock>();
        assert_send_sync::<super::RecordingListener>();
        assert_send_sync::<super::Permit<'static>>();
        assert_send_sync::<super::OwnedPermit>();
        assert_send_sync::<super::OwnedRecoveryProbe>();
    }
}
