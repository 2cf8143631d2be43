//! Metrics of checks and of the resilience pieces, published through the [`metrics`] facade.
//!
//! Andal records; the application chooses where the numbers go by installing a recorder
//! (`metrics-exporter-prometheus`, an OpenTelemetry bridge, or Andal's own
//! [`SnapshotRecorder`] that the Python, Kotlin and Swift bindings read). Every series and its
//! labels are listed in `docs/metrics.md`; the names are the constants in [`names`].
//!
//! * **Bounded labels.** `host` (the client's upstream `host:port`) and small closed sets
//!   (`provenance`, `outcome`, `cause`, `to`, `result`). Never a NIK, name, birth date,
//!   token id or request id.
//! * **Nothing to pay when nobody listens.** A client registers its handles once, when it
//!   is built, with the recorder installed at that moment; without one they are no-op
//!   handles and recording costs a branch. Install the recorder *before* building clients.
//! * **Where it is recorded.** Resilience events (breaker, retry, budget, shedding, probes)
//!   come through [`MetricsListener`], an [`EventListener`]; a check's outcome and its time
//!   to decision through [`ClientMetrics::check_finished`], called once per check where the
//!   check's final outcome is known.
//!
//! ```
//! use metrics_util::debugging::DebuggingRecorder;
//! use andal::Client;
//!
//! let recorder = DebuggingRecorder::new();
//! let snapshotter = recorder.snapshotter();
//! // Handles are registered with the recorder current when the client is built.
//! let client = metrics::with_local_recorder(&recorder, || {
//!     Client::builder("https://registry.example")
//!         .partner_id("bank-a")
//!         .api_key("secret")
//!         .build()
//! })?;
//! let names: Vec<String> = snapshotter
//!     .snapshot()
//!     .into_vec()
//!     .into_iter()
//!     .map(|(key, ..)| key.key().name().to_owned())
//!     .collect();
//! assert!(names.iter().any(|n| n == andal::metrics::names::CHECKS));
//! # drop(client);
//! # Ok::<(), andal::Error>(())
//! ```

mod snapshot;

use std::sync::Arc;
use std::time::Duration;

use ::metrics::{Counter, Gauge, Histogram, Unit};

use crate::decision::{Decision, Provenance, Verdict};
use crate::error::{Error, UnavailableCause};
use crate::resilience::{BreakerState, EventListener, FailureKind, ResilienceEvent};

pub use snapshot::{MetricKind, MetricSample, SnapshotRecorder};

/// The series names (Prometheus conventions: `_total` counters, `_seconds` durations).
pub mod names {
    /// Counter: checks by `provenance` and `outcome`.
    pub const CHECKS: &str = "andal_checks_total";
    /// Counter: attempts (HTTP requests to the registry) made by checks.
    pub const ATTEMPTS: &str = "andal_check_attempts_total";
    /// Counter: failed attempts by `cause` (transport/HTTP failure kind).
    pub const ATTEMPT_FAILURES: &str = "andal_attempt_failures_total";
    /// Counter: checks whose online path failed, by `cause` (answered offline or refused).
    pub const ONLINE_FAILURES: &str = "andal_online_failures_total";
    /// Histogram (seconds): time from the start of a check to its decision, by `provenance`.
    pub const CHECK_DURATION: &str = "andal_check_duration_seconds";
    /// Gauge: breaker state (0 closed, 1 open, 2 half-open, 3 forced open, 4 disabled).
    pub const BREAKER_STATE: &str = "andal_breaker_state";
    /// Counter: breaker transitions, by the state entered (`to`).
    pub const BREAKER_TRANSITIONS: &str = "andal_breaker_transitions_total";
    /// Counter: calls the breaker refused.
    pub const BREAKER_REJECTIONS: &str = "andal_breaker_rejections_total";
    /// Counter: retries sent.
    pub const RETRIES: &str = "andal_retries_total";
    /// Counter: retries the retry budget refused.
    pub const RETRY_BUDGET_EXHAUSTED: &str = "andal_retry_budget_exhausted_total";
    /// Gauge: retry tokens available (after the last check).
    pub const RETRY_BUDGET_BALANCE: &str = "andal_retry_budget_balance";
    /// Counter: first attempts shed locally by the adaptive throttle.
    pub const LOAD_SHED: &str = "andal_load_shed_total";
    /// Counter: recovery probes sent while the breaker was open, by `result`.
    pub const RECOVERY_PROBES: &str = "andal_recovery_probes_total";
    /// Gauge: offline decisions in the journal not yet reconciled.
    pub const JOURNAL_BACKLOG: &str = "andal_journal_backlog";
    /// Counter: reconciliation re-checks by `outcome`.
    pub const RECONCILIATIONS: &str = "andal_reconciliations_total";
}

/// The `(provenance, outcome)` pairs of [`names::CHECKS`]; every other pair cannot happen.
pub const CHECK_SERIES: [(&str, &str); 10] = [
    ("online", "match"),
    ("online", "mismatch"),
    ("online", "not_found"),
    ("online", "inactive"),
    ("offline", "match"),
    ("offline", "mismatch"),
    ("none", "unavailable"),
    ("none", "rejected"),
    ("none", "cancelled"),
    ("none", "error"),
];

/// `cause` values of [`names::ONLINE_FAILURES`].
pub const ONLINE_FAILURE_CAUSES: [&str; 5] = [
    "upstream",
    "breaker_open",
    "deadline_exceeded",
    "retry_budget_exhausted",
    "load_shed",
];

/// `cause` values of [`names::ATTEMPT_FAILURES`]: [`FailureKind`] labels, with HTTP
/// statuses folded into two classes so the set stays closed.
pub const ATTEMPT_FAILURE_CAUSES: [&str; 14] = [
    "refused",
    "dns",
    "connect_timeout",
    "read_timeout",
    "tls",
    "reset",
    "protocol",
    "too_large",
    "malformed",
    "throttled",
    "deadline_exceeded",
    "http_5xx",
    "http_other",
    "other",
];

/// `to` values of [`names::BREAKER_TRANSITIONS`], indexed like [`breaker_state_value`].
pub const BREAKER_STATES: [&str; 5] = ["closed", "open", "half_open", "forced_open", "disabled"];

/// `outcome` values of [`names::RECONCILIATIONS`].
pub const RECONCILIATION_OUTCOMES: [&str; 3] = ["confirmed", "contradicted", "still_pending"];

/// Bucket bounds (seconds) for [`names::CHECK_DURATION`]: from a warm loopback answer to the
/// default 10 s deadline.
pub const CHECK_DURATION_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The value of [`names::BREAKER_STATE`] for a state.
pub fn breaker_state_value(s: BreakerState) -> usize {
    match s {
        BreakerState::Closed => 0,
        BreakerState::Open => 1,
        BreakerState::HalfOpen => 2,
        BreakerState::ForcedOpen => 3,
        _ => 4,
    }
}

fn attempt_cause_index(k: &FailureKind) -> usize {
    match k {
        FailureKind::Refused => 0,
        FailureKind::Dns => 1,
        FailureKind::ConnectTimeout => 2,
        FailureKind::ReadTimeout => 3,
        FailureKind::Tls => 4,
        FailureKind::Reset => 5,
        FailureKind::Protocol => 6,
        FailureKind::TooLarge => 7,
        FailureKind::Malformed => 8,
        FailureKind::Throttled => 9,
        FailureKind::DeadlineExceeded => 10,
        FailureKind::HttpStatus(s) if (500..600).contains(s) => 11,
        FailureKind::HttpStatus(_) => 12,
        #[allow(unreachable_patterns)]
        _ => 13,
    }
}

fn online_cause_index(c: &UnavailableCause) -> usize {
    match c {
        UnavailableCause::Upstream(_) => 0,
        UnavailableCause::BreakerOpen { .. } => 1,
        UnavailableCause::DeadlineExceeded => 2,
        UnavailableCause::RetryBudgetExhausted(_) => 3,
        UnavailableCause::LoadShed => 4,
    }
}

/// The same, from the stable label an offline decision keeps (`OfflineProvenance::online_failure`).
fn online_cause_index_of_label(label: &str) -> usize {
    match label {
        "breaker_open" => 1,
        "deadline_exceeded" => 2,
        "retry_budget_exhausted" => 3,
        "load_shed" => 4,
        // Every other label names the upstream failure kind (`refused`, `http_503`, ...).
        _ => 0,
    }
}

/// Registers every series once, with descriptions and units (shown as `# HELP` by exporters).
fn describe() {
    use ::metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        names::CHECKS,
        Unit::Count,
        "Checks by provenance (online, offline, none) and outcome"
    );
    describe_counter!(
        names::ATTEMPTS,
        Unit::Count,
        "HTTP attempts sent to the registry by checks"
    );
    describe_counter!(
        names::ATTEMPT_FAILURES,
        Unit::Count,
        "Failed attempts by cause"
    );
    describe_counter!(
        names::ONLINE_FAILURES,
        Unit::Count,
        "Checks whose online path failed, by cause (answered offline or refused)"
    );
    describe_histogram!(
        names::CHECK_DURATION,
        Unit::Seconds,
        "Time from the start of a check to its decision"
    );
    describe_gauge!(
        names::BREAKER_STATE,
        "Circuit breaker state: 0 closed, 1 open, 2 half-open, 3 forced open, 4 disabled"
    );
    describe_counter!(
        names::BREAKER_TRANSITIONS,
        Unit::Count,
        "Circuit breaker transitions by the state entered"
    );
    describe_counter!(
        names::BREAKER_REJECTIONS,
        Unit::Count,
        "Calls refused by the circuit breaker"
    );
    describe_counter!(names::RETRIES, Unit::Count, "Retries sent");
    describe_counter!(
        names::RETRY_BUDGET_EXHAUSTED,
        Unit::Count,
        "Retries refused by the retry budget"
    );
    describe_gauge!(
        names::RETRY_BUDGET_BALANCE,
        "Retry tokens available after the last check"
    );
    describe_counter!(
        names::LOAD_SHED,
        Unit::Count,
        "First attempts shed locally by the adaptive throttle"
    );
    describe_counter!(
        names::RECOVERY_PROBES,
        Unit::Count,
        "Recovery probes sent while the breaker was open, by result"
    );
    describe_gauge!(
        names::JOURNAL_BACKLOG,
        "Offline decisions in the journal not yet reconciled"
    );
    describe_counter!(
        names::RECONCILIATIONS,
        Unit::Count,
        "Reconciliation re-checks by outcome"
    );
}

/// One client's metric handles, registered when the client is built.
pub struct ClientMetrics {
    checks: [Counter; CHECK_SERIES.len()],
    attempts: Counter,
    online_failures: [Counter; ONLINE_FAILURE_CAUSES.len()],
    duration: [Histogram; 3],
    retry_budget_balance: Gauge,
    journal_backlog: Gauge,
    reconciliations: [Counter; RECONCILIATION_OUTCOMES.len()],
    listener: Arc<MetricsListener>,
}

impl std::fmt::Debug for ClientMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientMetrics").finish_non_exhaustive()
    }
}

impl ClientMetrics {
    /// Registers the series of one client talking to `host` with the current recorder.
    pub fn new(host: &str) -> Self {
        describe();
        let host: Arc<str> = host.into();
        let h = || ::metrics::SharedString::from(Arc::clone(&host));
        let checks = CHECK_SERIES.map(|(provenance, outcome)| {
            ::metrics::counter!(names::CHECKS, "host" => h(), "provenance" => provenance, "outcome" => outcome)
        });
        let online_failures = ONLINE_FAILURE_CAUSES.map(
            |cause| ::metrics::counter!(names::ONLINE_FAILURES, "host" => h(), "cause" => cause),
        );
        let duration = ["online", "offline", "none"].map(|provenance| {
            ::metrics::histogram!(names::CHECK_DURATION, "host" => h(), "provenance" => provenance)
        });
        let reconciliations = RECONCILIATION_OUTCOMES.map(|outcome| {
            ::metrics::counter!(names::RECONCILIATIONS, "host" => h(), "outcome" => outcome)
        });
        Self {
            checks,
            attempts: ::metrics::counter!(names::ATTEMPTS, "host" => h()),
            online_failures,
            duration,
            retry_budget_balance: ::metrics::gauge!(names::RETRY_BUDGET_BALANCE, "host" => h()),
            journal_backlog: ::metrics::gauge!(names::JOURNAL_BACKLOG, "host" => h()),
            reconciliations,
            listener: Arc::new(MetricsListener::new(&host)),
        }
    }

    /// The listener that turns this client's resilience events into metrics.
    pub fn listener(&self) -> Arc<MetricsListener> {
        Arc::clone(&self.listener)
    }

    /// Records one finished check: its outcome, the attempts it sent, why its online path
    /// failed (if it did), its time to decision and the retry budget left after it.
    pub fn check_finished(
        &self,
        result: &Result<Decision, Error>,
        elapsed: Duration,
        retry_budget_balance: f64,
    ) {
        let (slot, provenance, attempts, online_failure) = match result {
            Ok(d) => match &d.provenance {
                Provenance::Online { attempts, .. } => {
                    let slot = match d.verdict {
                        Verdict::Match => 0,
                        Verdict::Mismatch => 1,
                        Verdict::NotFound => 2,
                        Verdict::InactiveRecord => 3,
                    };
                    (slot, 0, *attempts, None)
                }
                Provenance::Offline(o) => {
                    let slot = if d.verdict == Verdict::Match { 4 } else { 5 };
                    self.journal_backlog.increment(1.0);
                    (
                        slot,
                        1,
                        o.online_attempts,
                        Some(online_cause_index_of_label(&o.online_failure)),
                    )
                }
            },
            Err(Error::Unavailable(u)) => (6, 2, u.attempts, Some(online_cause_index(&u.cause))),
            Err(Error::Auth { .. } | Error::Rejected(_) | Error::Protocol(_)) => (7, 2, 1, None),
            Err(_) => (9, 2, 0, None),
        };
        self.checks[slot].increment(1);
        if attempts > 0 {
            self.attempts.increment(u64::from(attempts));
        }
        if let Some(i) = online_failure {
            self.online_failures[i].increment(1);
        }
        self.duration[provenance].record(elapsed.as_secs_f64());
        self.retry_budget_balance.set(retry_budget_balance);
    }

    /// Records a check dropped before it was decided (a cancelled async check).
    pub fn check_cancelled(&self, elapsed: Duration) {
        self.checks[8].increment(1);
        self.duration[2].record(elapsed.as_secs_f64());
    }

    /// Sets the journal backlog (pending offline decisions), e.g. after a reconciliation.
    pub fn set_journal_backlog(&self, pending: usize) {
        self.journal_backlog.set(pending as f64);
    }

    /// Records the outcomes of one reconciliation run.
    pub(crate) fn reconciled(&self, confirmed: usize, contradicted: usize, still_pending: usize) {
        for (i, n) in [confirmed, contradicted, still_pending]
            .into_iter()
            .enumerate()
        {
            if n > 0 {
                self.reconciliations[i].increment(n as u64);
            }
        }
    }
}

/// Turns [`ResilienceEvent`]s into metrics (breaker state and transitions, refusals,
/// retries, budget refusals, shedding, probes, failed attempts by cause).
pub struct MetricsListener {
    breaker_state: Gauge,
    transitions: [Counter; BREAKER_STATES.len()],
    rejections: Counter,
    retries: Counter,
    budget_exhausted: Counter,
    load_shed: Counter,
    probes: [Counter; 2],
    attempt_failures: [Counter; ATTEMPT_FAILURE_CAUSES.len()],
}

impl std::fmt::Debug for MetricsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsListener").finish_non_exhaustive()
    }
}

impl MetricsListener {
    /// Registers the event series of `host` with the current recorder.
    pub fn new(host: &str) -> Self {
        describe();
        let host: Arc<str> = host.into();
        let h = || ::metrics::SharedString::from(Arc::clone(&host));
        let breaker_state = ::metrics::gauge!(names::BREAKER_STATE, "host" => h());
        Self {
            breaker_state,
            transitions: BREAKER_STATES
                .map(|to| ::metrics::counter!(names::BREAKER_TRANSITIONS, "host" => h(), "to" => to)),
            rejections: ::metrics::counter!(names::BREAKER_REJECTIONS, "host" => h()),
            retries: ::metrics::counter!(names::RETRIES, "host" => h()),
            budget_exhausted: ::metrics::counter!(names::RETRY_BUDGET_EXHAUSTED, "host" => h()),
            load_shed: ::metrics::counter!(names::LOAD_SHED, "host" => h()),
            probes: ["healthy", "unhealthy"]
                .map(|result| ::metrics::counter!(names::RECOVERY_PROBES, "host" => h(), "result" => result)),
            attempt_failures: ATTEMPT_FAILURE_CAUSES
                .map(|cause| ::metrics::counter!(names::ATTEMPT_FAILURES, "host" => h(), "cause" => cause)),
        }
    }

    /// Sets the breaker-state gauge (e.g. to the breaker's state when the client is built).
    pub fn set_breaker_state(&self, s: BreakerState) {
        self.breaker_state.set(breaker_state_value(s) as f64);
    }
}

impl EventListener for MetricsListener {
    fn on_event(&self, event: &ResilienceEvent) {
        match event {
            ResilienceEvent::StateTransition { to, .. } => {
                self.set_breaker_state(*to);
                self.transitions[breaker_state_value(*to)].increment(1);
            }
            ResilienceEvent::CallRejected { .. } => self.rejections.increment(1),
            // Every failed attempt ends in exactly one of these two events: a retry was
            // sent after it, or the schedule stopped (including a budget refusal).
            ResilienceEvent::RetryScheduled { failure, .. } => {
                self.retries.increment(1);
                self.attempt_failures[attempt_cause_index(failure)].increment(1);
            }
            ResilienceEvent::RetryStopped { failure, .. } => {
                self.attempt_failures[attempt_cause_index(failure)].increment(1);
            }
            ResilienceEvent::RetryBudgetExhausted { .. } => self.budget_exhausted.increment(1),
            ResilienceEvent::LoadShed { .. } => self.load_shed.increment(1),
            ResilienceEvent::RecoveryProbe { healthy, .. } => {
                self.probes[usize::from(!*healthy)].increment(1);
            }
            _ => {}
        }
    }
}

/// The `request_id` of a check's span: the idempotency key, unless it looks like it holds
/// a NIK (16 or more digits in a row), which never goes to a log.
pub(crate) fn span_request_id(key: &str) -> std::borrow::Cow<'_, str> {
    let mut run = 0usize;
    for b in key.bytes() {
        run = if b.is_ascii_digit() { run + 1 } else { 0 };
        if run >= 16 {
            return std::borrow::Cow::Borrowed("redacted");
        }
    }
    std::borrow::Cow::Borrowed(key)
}
