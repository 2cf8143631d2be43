//! Events emitted by the breaker, the retry schedule and the retry budget.
//!
//! Each event goes to the registered [`EventListener`]s and to `tracing` (target
//! [`TRACING_TARGET`]). Events carry no personal data: only upstream names, states,
//! durations and failure kinds.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::breaker::BreakerState;
use crate::failure::FailureKind;
use crate::retry::StopReason;

/// The `tracing` target of every event of this crate.
pub const TRACING_TARGET: &str = "andal::resilience";

/// Something worth knowing happened in a resilience piece.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum ResilienceEvent {
    /// A breaker changed state.
    StateTransition {
        /// The breaker's name (its upstream host).
        breaker: Arc<str>,
        /// Previous state.
        from: BreakerState,
        /// New state.
        to: BreakerState,
    },
    /// A breaker refused a call.
    CallRejected {
        /// The breaker's name (its upstream host).
        breaker: Arc<str>,
        /// The state that refused it.
        state: BreakerState,
        /// Time until the breaker lets a probe through, if known.
        retry_after: Option<Duration>,
    },
    /// A retry was scheduled after a failed attempt.
    RetryScheduled {
        /// Number of the attempt that will run after the delay (2 = first retry).
        attempt: u32,
        /// The delay before it.
        delay: Duration,
        /// Why the previous attempt failed.
        failure: FailureKind,
    },
    /// The schedule decided not to retry.
    RetryStopped {
        /// Attempts made so far.
        attempts: u32,
        /// Why it stopped.
        reason: StopReason,
        /// Why the last attempt failed.
        failure: FailureKind,
    },
    /// A retry was refused because the retry budget is empty.
    RetryBudgetExhausted {
        /// The budget's balance when the retry was refused.
        balance: f64,
    },
    /// The adaptive throttle shed a first attempt locally (the registry is failing most
    /// calls).
    LoadShed {
        /// The rejection probability at the time.
        probability: f64,
    },
    /// A recovery probe (`GET /v1/health`) was sent while the breaker was open.
    RecoveryProbe {
        /// The breaker's name (its upstream host).
        breaker: Arc<str>,
        /// Whether the registry answered healthy (then the open wait ended early).
        healthy: bool,
    },
}

/// Receives [`ResilienceEvent`]s. Called synchronously on the caller's thread, outside
/// any internal lock: keep it quick (count, enqueue), never block.
pub trait EventListener: Send + Sync {
    /// Handles one event.
    fn on_event(&self, event: &ResilienceEvent);
}

/// A listener that keeps every event, for tests and drills.
#[derive(Debug, Default)]
pub struct RecordingListener {
    events: Mutex<Vec<ResilienceEvent>>,
}

impl RecordingListener {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the events recorded so far.
    pub fn events(&self) -> Vec<ResilienceEvent> {
        self.events.lock().clone()
    }

    /// Takes the events recorded so far, leaving the recorder empty.
    pub fn take(&self) -> Vec<ResilienceEvent> {
        std::mem::take(&mut *self.events.lock())
    }

    /// The `(from, to)` pairs of the state transitions recorded so far.
    pub fn transitions(&self) -> Vec<(BreakerState, BreakerState)> {
        self.events
            .lock()
            .iter()
            .filter_map(|e| match e {
                ResilienceEvent::StateTransition { from, to, .. } => Some((*from, *to)),
                _ => None,
            })
            .collect()
    }
}

impl EventListener for RecordingListener {
    fn on_event(&self, event: &ResilienceEvent) {
        self.events.lock().push(event.clone());
    }
}

/// Shared listeners.
pub type Listeners = Vec<Arc<dyn EventListener>>;

/// Sends `event` to `listeners` and to `tracing`.
pub(crate) fn emit(listeners: &[Arc<dyn EventListener>], event: &ResilienceEvent) {
    match event {
        ResilienceEvent::StateTransition { breaker, from, to } => {
            if *to == BreakerState::Open || *to == BreakerState::ForcedOpen {
                tracing::warn!(target: TRACING_TARGET, breaker = %breaker, from = ?from, to = ?to, "circuit breaker state transition");
            } else {
                tracing::info!(target: TRACING_TARGET, breaker = %breaker, from = ?from, to = ?to, "circuit breaker state transition");
            }
        }
        ResilienceEvent::CallRejected {
            breaker,
            state,
            retry_after,
        } => {
            tracing::debug!(target: TRACING_TARGET, breaker = %breaker, state = ?state, retry_after_ms = retry_after.map(|d| d.as_millis() as u64), "call rejected by circuit breaker");
        }
        ResilienceEvent::RetryScheduled {
            attempt,
            delay,
            failure,
        } => {
            tracing::debug!(target: TRACING_TARGET, attempt, delay_ms = delay.as_millis() as u64, failure = %failure, "retry scheduled");
        }
        ResilienceEvent::RetryStopped {
            attempts,
            reason,
            failure,
        } => {
            tracing::debug!(target: TRACING_TARGET, attempts, reason = ?reason, failure = %failure, "retries stopped");
        }
        ResilienceEvent::RetryBudgetExhausted { balance } => {
            tracing::info!(target: TRACING_TARGET, balance, "retry budget exhausted");
        }
        ResilienceEvent::LoadShed { probability } => {
            tracing::debug!(target: TRACING_TARGET, probability, "first attempt shed locally");
        }
        ResilienceEvent::RecoveryProbe { breaker, healthy } => {
            tracing::info!(target: TRACING_TARGET, breaker = %breaker, healthy, "recovery probe");
        }
    }
    for l in listeners {
        l.on_event(event);
    }
}
