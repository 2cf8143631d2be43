//! Breaker, retry and budget settings; resilience events to a foreign listener; health.

use std::sync::Arc;
use std::time::Duration;

use andal::resilience as r;

use crate::error::{AndalError, millis};
use crate::types::FailureKind;

/// State of a circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum BreakerState {
    /// Calls flow; outcomes are measured.
    Closed,
    /// Calls are rejected until the open wait has elapsed.
    Open,
    /// A limited number of probe calls are admitted.
    HalfOpen,
    /// Manually opened: every call is rejected until reset.
    ForcedOpen,
    /// Manually disabled: every call is admitted, nothing is measured.
    Disabled,
}

impl From<r::BreakerState> for BreakerState {
    fn from(s: r::BreakerState) -> Self {
        match s {
            r::BreakerState::Closed => BreakerState::Closed,
            r::BreakerState::Open => BreakerState::Open,
            r::BreakerState::HalfOpen => BreakerState::HalfOpen,
            r::BreakerState::ForcedOpen => BreakerState::ForcedOpen,
            r::BreakerState::Disabled => BreakerState::Disabled,
            #[allow(unreachable_patterns)]
            _ => BreakerState::Open,
        }
    }
}

/// Why the retry schedule stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum RetryStopReason {
    /// The failure is not retryable.
    NotRetryable,
    /// The maximum number of attempts was made.
    AttemptsExhausted,
    /// Another attempt would not fit in the remaining deadline.
    DeadlineWouldPass,
    /// The retry budget is empty.
    BudgetExhausted,
    /// A reason these bindings do not know.
    Other,
}

impl From<r::StopReason> for RetryStopReason {
    fn from(s: r::StopReason) -> Self {
        match s {
            r::StopReason::NotRetryable => RetryStopReason::NotRetryable,
            r::StopReason::AttemptsExhausted => RetryStopReason::AttemptsExhausted,
            r::StopReason::DeadlineWouldPass => RetryStopReason::DeadlineWouldPass,
            r::StopReason::BudgetExhausted => RetryStopReason::BudgetExhausted,
            #[allow(unreachable_patterns)]
            _ => RetryStopReason::Other,
        }
    }
}

/// Something the breaker, the retry schedule or the retry budget did. No personal data.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum ResilienceEvent {
    /// A breaker changed state.
    StateTransition {
        /// The breaker's name (its upstream host).
        breaker: String,
        /// Previous state.
        from: BreakerState,
        /// New state.
        to: BreakerState,
    },
    /// A breaker refused a call.
    CallRejected {
        /// The breaker's name.
        breaker: String,
        /// The state that refused it.
        state: BreakerState,
        /// Milliseconds until a probe is admitted, if known.
        retry_after_ms: Option<u64>,
    },
    /// A retry was scheduled after a failed attempt.
    RetryScheduled {
        /// Number of the attempt that will run after the delay (2 = first retry).
        attempt: u32,
        /// Delay before it, in ms.
        delay_ms: u64,
        /// Why the previous attempt failed.
        failure: FailureKind,
    },
    /// The schedule decided not to retry.
    RetryStopped {
        /// Attempts made so far.
        attempts: u32,
        /// Why it stopped.
        reason: RetryStopReason,
        /// Why the last attempt failed.
        failure: FailureKind,
    },
    /// A retry was refused because the retry budget is empty.
    RetryBudgetExhausted {
        /// The budget's balance when the retry was refused.
        balance: f64,
    },
    /// The adaptive throttle shed a first attempt locally.
    LoadShed {
        /// The rejection probability at the time.
        probability: f64,
    },
    /// A recovery probe (`GET /v1/health`) was sent while the breaker was open.
    RecoveryProbe {
        /// The breaker's name.
        breaker: String,
        /// Whether the registry answered healthy (the open wait then ended early).
        healthy: bool,
    },
}

impl ResilienceEvent {
    fn from_core(e: &r::ResilienceEvent) -> Option<Self> {
        Some(match e {
            r::ResilienceEvent::StateTransition { breaker, from, to } => {
                ResilienceEvent::StateTransition {
                    breaker: breaker.to_string(),
                    from: (*from).into(),
                    to: (*to).into(),
                }
            }
            r::ResilienceEvent::CallRejected {
                breaker,
                state,
                retry_after,
            } => ResilienceEvent::CallRejected {
                breaker: breaker.to_string(),
                state: (*state).into(),
                retry_after_ms: retry_after.map(millis),
            },
            r::ResilienceEvent::RetryScheduled {
                attempt,
                delay,
                failure,
            } => ResilienceEvent::RetryScheduled {
                attempt: *attempt,
                delay_ms: millis(*delay),
                failure: (*failure).into(),
            },
            r::ResilienceEvent::RetryStopped {
                attempts,
                reason,
                failure,
            } => ResilienceEvent::RetryStopped {
                attempts: *attempts,
                reason: (*reason).into(),
                failure: (*failure).into(),
            },
            r::ResilienceEvent::RetryBudgetExhausted { balance } => {
                ResilienceEvent::RetryBudgetExhausted { balance: *balance }
            }
            r::ResilienceEvent::LoadShed { probability } => ResilienceEvent::LoadShed {
                probability: *probability,
            },
            r::ResilienceEvent::RecoveryProbe { breaker, healthy } => {
                ResilienceEvent::RecoveryProbe {
                    breaker: breaker.to_string(),
                    healthy: *healthy,
                }
            }
            _ => return None,
        })
    }
}

/// Receives resilience events (implemented in Kotlin/Swift). Called synchronously on the
/// checking thread (never the main thread when `verifyAsync` is used): keep it quick
/// (count, enqueue, log), never block. Whatever it throws is ignored: a faulty listener
/// never breaks a check.
#[uniffi::export(foreign)]
pub trait ResilienceListener: Send + Sync {
    /// Handle one event.
    fn on_event(&self, event: ResilienceEvent) -> Result<(), ListenerError>;
}

/// What a listener may throw; ignored by the client (Kotlin `ListenerException`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)] // Swift `errorDescription`, Kotlin `toString()`
pub enum ListenerError {
    /// The listener failed.
    #[error("listener failed: {reason}")]
    Failed {
        /// Why.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for ListenerError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        ListenerError::Failed { reason: e.reason }
    }
}

/// Adapts a foreign listener into the core's `EventListener`.
pub(crate) struct ForeignListener(pub(crate) Arc<dyn ResilienceListener>);

impl r::EventListener for ForeignListener {
    fn on_event(&self, event: &r::ResilienceEvent) {
        if let Some(e) = ResilienceEvent::from_core(event) {
            let l = self.0.clone();
            // A throwing or panicking listener must never break a check.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                let _ = l.on_event(e);
            }));
        }
    }
}

/// Circuit-breaker settings (resilience4j vocabulary). Unset fields keep the core's
/// defaults (see docs/resilience.md).
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct BreakerSettings {
    /// Count-based sliding window of the last N calls.
    #[uniffi(default = None)]
    pub count_window: Option<u32>,
    /// Calls needed in the window before rates are computed.
    #[uniffi(default = None)]
    pub minimum_number_of_calls: Option<u32>,
    /// Failure rate (percent) at or above which the breaker opens.
    #[uniffi(default = None)]
    pub failure_rate_threshold: Option<f32>,
    /// Calls slower than this count as slow, in ms.
    #[uniffi(default = None)]
    pub slow_call_duration_threshold_ms: Option<u64>,
    /// Slow-call rate (percent) at or above which the breaker opens.
    #[uniffi(default = None)]
    pub slow_call_rate_threshold: Option<f32>,
    /// Time the breaker stays open before admitting probes, in ms.
    #[uniffi(default = None)]
    pub wait_duration_in_open_ms: Option<u64>,
    /// Probes admitted in half-open.
    #[uniffi(default = None)]
    pub permitted_calls_in_half_open: Option<u32>,
}

impl BreakerSettings {
    pub(crate) fn build(&self, attempt_timeout: Duration) -> Result<r::BreakerConfig, AndalError> {
        // Unset settings keep the core's defaults for this attempt timeout.
        let mut b = r::BreakerConfig::builder_for_attempt_timeout(attempt_timeout);
        if let Some(n) = self.count_window {
            b = b.count_window(n);
        }
        if let Some(n) = self.minimum_number_of_calls {
            b = b.minimum_number_of_calls(n);
        }
        if let Some(p) = self.failure_rate_threshold {
            b = b.failure_rate_threshold(p);
        }
        if let Some(ms) = self.slow_call_duration_threshold_ms {
            b = b.slow_call_duration_threshold(Duration::from_millis(ms));
        }
        if let Some(p) = self.slow_call_rate_threshold {
            b = b.slow_call_rate_threshold(p);
        }
        if let Some(ms) = self.wait_duration_in_open_ms {
            b = b.wait_duration_in_open(Duration::from_millis(ms));
        }
        if let Some(n) = self.permitted_calls_in_half_open {
            b = b.permitted_calls_in_half_open(n);
        }
        b.build().map_err(|e| AndalError::Config {
            reason: format!("breaker: {e}"),
        })
    }
}

/// A snapshot of a client's resilience state.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ClientHealth {
    /// Upstream host.
    pub host: String,
    /// Breaker state.
    pub breaker_state: BreakerState,
    /// Failure rate in percent (null below the minimum number of calls).
    pub failure_rate: Option<f32>,
    /// Slow-call rate in percent (null below the minimum number of calls).
    pub slow_call_rate: Option<f32>,
    /// Calls counted in the window.
    pub calls: u32,
    /// Failed calls among them.
    pub failed: u32,
    /// Slow calls among them.
    pub slow: u32,
    /// Calls rejected by the breaker.
    pub not_permitted: u64,
    /// Milliseconds until a probe is admitted (open only).
    pub time_until_half_open_ms: Option<u64>,
    /// Retry tokens available.
    pub retry_budget_balance: f64,
}

impl From<andal::ClientHealth> for ClientHealth {
    fn from(h: andal::ClientHealth) -> Self {
        ClientHealth {
            host: h.host,
            breaker_state: h.breaker.state.into(),
            failure_rate: h.breaker.failure_rate,
            slow_call_rate: h.breaker.slow_call_rate,
            calls: h.breaker.calls,
            failed: h.breaker.failed,
            slow: h.breaker.slow,
            not_permitted: h.breaker.not_permitted,
            time_until_half_open_ms: h.breaker.time_until_half_open.map(millis),
            retry_budget_balance: h.retry_budget_balance,
        }
    }
}

/// Headline numbers of a client's outage record (the full record: `outageReportJson`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OutageTotals {
    /// Incidents ever opened.
    pub incidents: u64,
    /// Sum of incident durations, in ms (the ongoing one up to now).
    pub incident_time_ms: u64,
    /// Whether an incident is open now.
    pub incident_open: bool,
    /// Checks answered by the registry.
    pub checks_online: u64,
    /// Checks answered from offline evidence.
    pub checks_offline: u64,
    /// Checks refused as unavailable (no fallback).
    pub checks_refused: u64,
    /// Checks rejected (4xx, auth): not outage related.
    pub checks_rejected: u64,
    /// Breaker transitions seen.
    pub breaker_transitions: u64,
    /// Breaker rejections seen.
    pub breaker_rejections: u64,
}

impl From<&andal::outage::OutageReport> for OutageTotals {
    fn from(r: &andal::outage::OutageReport) -> Self {
        let t = &r.totals;
        OutageTotals {
            incidents: t.incidents,
            incident_time_ms: t.incident_time_ms,
            incident_open: r.current.open_incident.is_some(),
            checks_online: t.checks.online,
            checks_offline: t.checks.offline,
            checks_refused: t.checks.refused,
            checks_rejected: t.checks.rejected,
            breaker_transitions: t.breaker_transitions,
            breaker_rejections: t.breaker_rejections,
        }
    }
}
