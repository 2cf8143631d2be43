//! The I/O-free check engine: everything a check, a reconciliation and a trust refresh
//! decide, as state machines that say what to do next and are told what happened.
//!
//! A driver owns the I/O: it calls `poll`, performs the [`Action`] (send a request through
//! its transport, wait until an instant on its clock or timer, append a record to the
//! journal), feeds the outcome back (`handle_response`, `handle_journaled`) and polls
//! again until `Done`. The blocking [`Client`](crate::Client) and the async
//! [`AsyncClient`](crate::AsyncClient) are two such drivers; no behaviour lives in them, so
//! both decide identically (the differential test in `tests/drivers.rs` checks it).
//!
//! The shared, thread-safe pieces (breaker, retry budget, adaptive throttle, outage
//! recorder, trust state) live in [`Core`], one per client, and are called by the
//! machines. A machine dropped before `Done` (a cancelled async check) releases what it
//! holds: its breaker permit or recovery probe through their `Drop`, and it counts as
//! cancelled in the outage record.

pub(crate) mod fallback;
pub(crate) mod reconcile;
pub(crate) mod trust;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use andal_resilience::{
    AdaptiveThrottle, BreakerState, CallOutcome, CircuitBreaker, Deadline, FailureKind as Kind,
    OwnedPermit, OwnedRecoveryProbe, RetryBudget, RetryDecision, RetryPolicy, RetrySchedule,
    SharedClock, StopReason,
};

use crate::api::{self, CheckRequest, CheckResponse, Problem, ProblemCode};
use crate::client::{CheckOptions, RECOVERY_PROBE_TIMEOUT};
use crate::decision::{Decision, Provenance};
use crate::error::{ConfigError, Error, Rejected, Unavailable, UnavailableCause};
use crate::offline::FallbackPolicy;
use crate::outage::{CheckOutcome, Incident, IncidentId, OutageRecorder};
use crate::query::Query;
use crate::transport::{FailureKind, HttpRequest, HttpResponse, Method, TransportError};

/// What a client shares between its checks: configuration and the thread-safe resilience
/// pieces. Built once by `ClientBuilder`; both drivers hold it in an `Arc`.
pub(crate) struct Core {
    /// Metric handles (no-ops without a recorder).
    pub(crate) metrics: crate::metrics::ClientMetrics,
    pub(crate) trust: Arc<trust::TrustSync>,
    pub(crate) fallback: FallbackPolicy,
    pub(crate) journal: Option<Arc<andal_journal::Journal>>,
    pub(crate) journal_recovery: Option<andal_journal::RecoveryReport>,
    pub(crate) clock: SharedClock,
    pub(crate) retry_policy: RetryPolicy,
    pub(crate) budget: RetryBudget,
    pub(crate) breaker: Arc<CircuitBreaker>,
    pub(crate) throttle: Option<AdaptiveThrottle>,
    pub(crate) health_url: String,
    pub(crate) outage: Arc<OutageRecorder>,
    pub(crate) count_throttling: bool,
    pub(crate) base_url: String,
    pub(crate) checks_url: String,
    pub(crate) host: String,
    pub(crate) partner_id: String,
    pub(crate) auth_header: String,
    pub(crate) deadline: Duration,
    pub(crate) attempt_timeout: Duration,
    pub(crate) max_response_bytes: u64,
    /// Checks of this client created and not yet dropped (see [`decision_reserve`]).
    pub(crate) in_flight: Arc<AtomicUsize>,
}

/// How a check ended, as the outage record counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Final {
    /// A citizen check ended with this outcome.
    Check(CheckOutcome),
    /// A reconciliation re-check reached the registry.
    Recheck,
    /// A citizen check was dropped before it was decided.
    Cancelled,
}

impl Core {
    /// THE one place where the final outcome of every check (citizen check, re-check,
    /// cancelled check) is recorded, whichever driver ran it. Returns the incident the
    /// outcome was counted in.
    pub(crate) fn record_final(&self, outcome: Final) -> Option<IncidentId> {
        self.record_final_closing(outcome).0
    }

    /// [`record_final`](Self::record_final), also returning the incident the outcome
    /// closed (an online check after an outage), to be journaled.
    pub(crate) fn record_final_closing(
        &self,
        outcome: Final,
    ) -> (Option<IncidentId>, Option<Incident>) {
        let id = match outcome {
            Final::Check(o) => return self.outage.record_check_closing(o),
            Final::Recheck => {
                self.outage.record_recheck();
                None
            }
            Final::Cancelled => {
                self.outage.record_cancelled();
                None
            }
        };
        (id, None)
    }

    /// THE one place where a finished citizen check is seen by metrics (outcome,
    /// provenance, attempts, cause, time to decision), whichever driver ran it.
    pub(crate) fn check_finished(&self, result: &Result<Decision, Error>, started: Instant) {
        let elapsed = self.clock.now().saturating_duration_since(started);
        self.metrics
            .check_finished(result, elapsed, self.budget.balance());
    }

    fn check_request(&self, query: &Query, key: String) -> Result<HttpRequest, Error> {
        let body = serde_json::to_vec(&CheckRequest::from_query(query))
            .map_err(|e| Error::Protocol(format!("cannot encode request: {e}")))?;
        Ok(HttpRequest {
            method: Method::Post,
            url: self.checks_url.clone(),
            headers: vec![
                ("Authorization".into(), self.auth_header.clone()),
                ("Content-Type".into(), "application/json".into()),
                ("Accept".into(), "application/json".into()),
                (api::IDEMPOTENCY_KEY_HEADER.into(), key),
                (api::PARTNER_ID_HEADER.into(), self.partner_id.clone()),
            ],
            body,
        })
    }

    fn health_request(&self) -> HttpRequest {
        HttpRequest {
            method: Method::Get,
            url: self.health_url.clone(),
            headers: vec![("Accept".into(), "application/json".into())],
            body: Vec::new(),
        }
    }
}

/// The share of a check's deadline kept back for deciding after the online path's last
/// wait ends: 1 % of the deadline, at most 50 ms (50 ms of the default 5 s), plus 100 µs
/// for every other check of the client in flight, the whole at most 10 % of the deadline.
/// Taken when the check starts and again before each attempt (it only ever grows), so a
/// check that started among few still decides early when thousands have joined since.
///
/// Without it the last attempt's timeout could end exactly at the deadline, and the
/// decision (classify, record, fall back, journal) would always come after it: by the
/// timer's granularity (tokio rounds up to the next millisecond) and, with thousands of
/// checks timing out in the same instant on a few workers, by the queue of wake-ups and
/// closed connections ahead of it. That queue grows with the checks in flight: 5,000 hung
/// checks on 2 workers, started together, were decided up to 420 ms late with a flat
/// 50 ms reserve (`andal-load-bench`, 177 of 5,000 in one run, none in another), so the
/// reserve grows with them, and a check that starts alone keeps the flat one.
pub(crate) fn decision_reserve(deadline: Duration, others_in_flight: usize) -> Duration {
    let flat = (deadline / 100).min(Duration::from_millis(50));
    let queue =
        PER_CHECK_IN_FLIGHT.saturating_mul(u32::try_from(others_in_flight).unwrap_or(u32::MAX));
    (flat + queue).min(deadline / 10)
}

/// What one more check in flight adds to [`decision_reserve`].
const PER_CHECK_IN_FLIGHT: Duration = Duration::from_micros(100);

/// The part of a check's deadline its online path may use: the deadline less the
/// [`decision_reserve`].
fn online_budget(deadline: Duration, others_in_flight: usize) -> Duration {
    deadline - decision_reserve(deadline, others_in_flight)
}

/// A check counted in [`Core::in_flight`] from its creation to its drop.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    /// Counts one more; returns the guard and how many others were in flight.
    fn enter(count: &Arc<AtomicUsize>) -> (InFlight, usize) {
        let others = count.fetch_add(1, Ordering::Relaxed);
        (InFlight(Arc::clone(count)), others)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What a driver must do next for a machine.
#[derive(Debug)]
pub(crate) enum Action<T> {
    /// Send this request through the transport, within `timeout`, accepting at most
    /// `max_body` bytes; then call `handle_response`.
    Send {
        request: Arc<HttpRequest>,
        timeout: Duration,
        max_body: u64,
    },
    /// Wait until this instant of the client's clock (blocking: `Clock::sleep`; async:
    /// the timer); then poll again.
    WaitUntil(Instant),
    /// Append this payload to the journal (acknowledged = on disk); then call
    /// `handle_journaled`.
    Journal(Vec<u8>),
    /// Finished.
    Done(T),
}

/// Whether a check is a citizen's check or a reconciliation re-check (which is counted
/// apart and never falls back offline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Citizen,
    Recheck,
}

/// What one attempt produced.
pub(crate) enum AttemptResult {
    Answer(CheckResponse),
    Fail {
        failure: TransportError,
        retry_after: Option<Duration>,
    },
    Final(Error),
}

enum State {
    /// Ask the breaker (and the throttle) for the next attempt.
    Admit,
    /// A recovery probe is in flight; `retry_in` is what the rejection said.
    Probe {
        probe: OwnedRecoveryProbe,
        retry_in: Option<Duration>,
    },
    /// An attempt is in flight.
    Attempt {
        permit: OwnedPermit,
        started: Instant,
    },
    /// Backing off until this instant.
    Backoff(Instant),
    /// The offline decision is to be journaled (`payload` until handed to the driver);
    /// it is returned only once on disk.
    Journal {
        decision: Box<Decision>,
        online: Box<Unavailable>,
        payload: Option<Vec<u8>>,
    },
    /// The online answer that closed an incident, returned once the incident's journal
    /// record (`payload` until handed to the driver) is on disk, so a node that crashes
    /// later still ships it to a ledger.
    JournalIncident {
        decision: Box<Decision>,
        payload: Option<Vec<u8>>,
    },
    /// Decided; the next poll returns it.
    Decided(Box<Result<Decision, Error>>),
    /// Returned.
    Done,
}

/// One check, from admission to decision: the order of `Client::verify_with`.
///
/// The breaker is fed one outcome per check while closed: a failed attempt that a retry
/// follows is recorded as `Ignored`, so failures that a retry of the same check then
/// answered do not weigh like a dead registry; the check's last attempt carries its
/// outcome. In half-open every probe counts as it ends.
pub(crate) struct Check {
    core: Arc<Core>,
    purpose: Purpose,
    query: Query,
    opts: CheckOptions,
    /// The online path's share of the check's deadline ([`online_budget`]): every
    /// attempt, probe and backoff ends within it, and reaching it is `DeadlineExceeded`.
    deadline: Deadline,
    /// The whole deadline (the caller's), from which the online share is recomputed.
    full_deadline: Duration,
    request: Arc<HttpRequest>,
    schedule: RetrySchedule,
    attempts: u32,
    last_failure: Option<Kind>,
    state: State,
    trust_refresh_due: bool,
    /// When the check started (time to decision).
    started: Instant,
    /// `check` span with the request id; the machine enters it whenever it runs, so both
    /// drivers' checks are traced alike.
    span: tracing::Span,
    /// Counted in [`Core::in_flight`] while it lives.
    _in_flight: InFlight,
}

impl Check {
    /// Validates the options and builds the request; nothing is counted before this
    /// succeeds (a bad idempotency key is a config error, not a check).
    pub(crate) fn new(
        core: Arc<Core>,
        purpose: Purpose,
        query: &Query,
        opts: &CheckOptions,
    ) -> Result<Check, Error> {
        let (in_flight, others) = InFlight::enter(&core.in_flight);
        let full_deadline = opts.deadline.unwrap_or(core.deadline);
        let deadline = Deadline::after(&core.clock, online_budget(full_deadline, others));
        let key = match &opts.idempotency_key {
            Some(k) => validate_idempotency_key(k)?,
            None => new_idempotency_key(),
        };
        let span = match purpose {
            Purpose::Citizen => tracing::info_span!(
                target: "andal::check",
                "check",
                request_id = %crate::metrics::span_request_id(&key),
                host = %core.host,
            ),
            Purpose::Recheck => tracing::info_span!(
                target: "andal::check",
                "recheck",
                request_id = %crate::metrics::span_request_id(&key),
                host = %core.host,
            ),
        };
        let request = Arc::new(core.check_request(query, key)?);
        let schedule = core.retry_policy.schedule();
        core.budget.record_request();
        Ok(Check {
            purpose,
            query: query.clone(),
            opts: opts.clone(),
            deadline,
            full_deadline,
            request,
            schedule,
            attempts: 0,
            last_failure: None,
            state: State::Admit,
            trust_refresh_due: false,
            started: core.clock.now(),
            span,
            core,
            _in_flight: in_flight,
        })
    }

    /// Whether the check, now done, asks its driver to refresh the trust documents in the
    /// background (the interval has passed; the engine has marked a refresh as running).
    pub(crate) fn trust_refresh_due(&self) -> bool {
        self.trust_refresh_due
    }

    /// The next thing to do.
    pub(crate) fn poll(&mut self) -> Action<Result<Decision, Error>> {
        let span = self.span.clone();
        let _in_span = span.enter();
        loop {
            match std::mem::replace(&mut self.state, State::Done) {
                State::Admit => {
                    if let Some(a) = self.admit() {
                        return a;
                    }
                }
                State::Backoff(until) => {
                    if self.core.clock.now() < until {
                        self.state = State::Backoff(until);
                        return Action::WaitUntil(until);
                    }
                    self.state = State::Admit;
                }
                State::Decided(result) => {
                    if self.purpose == Purpose::Citizen {
                        self.core.check_finished(&result, self.started);
                    }
                    return Action::Done(*result);
                }
                State::Journal {
                    decision,
                    online,
                    payload: Some(payload),
                } => {
                    self.state = State::Journal {
                        decision,
                        online,
                        payload: None,
                    };
                    return Action::Journal(payload);
                }
                State::JournalIncident {
                    decision,
                    payload: Some(payload),
                } => {
                    self.state = State::JournalIncident {
                        decision,
                        payload: None,
                    };
                    return Action::Journal(payload);
                }
                s @ (State::Probe { .. }
                | State::Attempt { .. }
                | State::Journal { .. }
                | State::JournalIncident { .. }) => {
                    // A driver bug: it must feed back what it was asked to do first.
                    self.state = s;
                    panic!("Check::poll called while an action is outstanding");
                }
                State::Done => panic!("Check::poll called after Done"),
            }
        }
    }

    /// Admission of the next attempt: breaker (with the recovery probe while open),
    /// throttle, attempt timeout. `None`: the state changed, poll again.
    fn admit(&mut self) -> Option<Action<Result<Decision, Error>>> {
        let core = Arc::clone(&self.core);
        let others = core.in_flight.load(Ordering::Relaxed).saturating_sub(1);
        self.deadline
            .shorten_to(online_budget(self.full_deadline, others));
        let permit = match core.breaker.try_acquire_owned() {
            Ok(p) => p,
            Err(rejected) => {
                if rejected.state == BreakerState::Open
                    && let Some(timeout) = self.deadline.attempt_timeout(
                        RECOVERY_PROBE_TIMEOUT,
                        andal_resilience::deadline::DEFAULT_MIN_USEFUL_ATTEMPT,
                    )
                    && let Some(probe) = core.breaker.try_start_recovery_probe_owned()
                {
                    self.state = State::Probe {
                        probe,
                        retry_in: rejected.time_until_half_open,
                    };
                    return Some(Action::Send {
                        request: Arc::new(core.health_request()),
                        timeout,
                        max_body: 4096,
                    });
                }
                let retry_in = rejected.time_until_half_open;
                self.fail(UnavailableCause::BreakerOpen { retry_in });
                return None;
            }
        };
        if let Some(t) = &core.throttle
            && self.attempts == 0
            && permit.state() == BreakerState::Closed
            && let Err(shed) = t.admit()
        {
            permit.record(CallOutcome::Ignored, Duration::ZERO);
            tracing::debug!(target: "andal::client", host = %core.host, probability = shed.probability, "first attempt shed locally");
            self.fail(UnavailableCause::LoadShed);
            return None;
        }
        let Some(timeout) = self.deadline.attempt_timeout(
            core.attempt_timeout,
            andal_resilience::deadline::DEFAULT_MIN_USEFUL_ATTEMPT,
        ) else {
            permit.record(CallOutcome::Ignored, Duration::ZERO);
            self.fail(UnavailableCause::DeadlineExceeded);
            return None;
        };
        self.attempts += 1;
        self.state = State::Attempt {
            permit,
            started: core.clock.now(),
        };
        Some(Action::Send {
            request: Arc::clone(&self.request),
            timeout,
            max_body: core.max_response_bytes,
        })
    }

    /// What the transport did with the request of the last `Send`.
    pub(crate) fn handle_response(&mut self, response: Result<HttpResponse, TransportError>) {
        let span = self.span.clone();
        let _in_span = span.enter();
        let core = Arc::clone(&self.core);
        match std::mem::replace(&mut self.state, State::Done) {
            State::Probe { probe, retry_in } => {
                let healthy = match response {
                    Ok(resp) => {
                        resp.status == 200
                            && serde_json::from_slice::<api::Health>(&resp.body)
                                .is_ok_and(|h| h.status == "ok")
                    }
                    Err(_) => false,
                };
                probe.finish(healthy);
                if healthy {
                    // The open wait ended early: this check may be a half-open probe.
                    self.state = State::Admit;
                } else {
                    self.fail(UnavailableCause::BreakerOpen { retry_in });
                }
            }
            State::Attempt { permit, started } => {
                let took = core.clock.now().saturating_duration_since(started);
                let result = match response {
                    Ok(resp) => interpret(resp, core.clock.wall()),
                    Err(failure) => AttemptResult::Fail {
                        failure,
                        retry_after: None,
                    },
                };
                self.handle_attempt(permit, took, result);
            }
            s => {
                self.state = s;
                panic!("Check::handle_response without an outstanding Send");
            }
        }
    }

    fn handle_attempt(&mut self, permit: OwnedPermit, took: Duration, result: AttemptResult) {
        let core = Arc::clone(&self.core);
        let (failure, retry_after) = match result {
            AttemptResult::Answer(resp) => {
                let admitted_in = permit.state();
                permit.record(CallOutcome::Success, took);
                if let Some(t) = &core.throttle {
                    t.record(true);
                    if admitted_in == BreakerState::HalfOpen {
                        // Recovery is proven: shedding on pre-outage history would
                        // only delay the return to normal service.
                        t.reset();
                    }
                }
                let d = decision_from(&self.query, resp, self.attempts, &self.deadline);
                self.finish_online(Ok(d));
                return;
            }
            AttemptResult::Final(e) => {
                // The registry answered; the request (or its credentials) was wrong.
                permit.record(CallOutcome::Ignored, took);
                if let Some(t) = &core.throttle {
                    t.record(true);
                }
                self.finish_online(Err(e));
                return;
            }
            AttemptResult::Fail {
                failure,
                retry_after,
            } => (failure, retry_after),
        };
        core.outage.record_attempt_failure(&failure.kind);
        if let Some(t) = &core.throttle {
            t.record(false);
        }
        self.last_failure = Some(failure.kind);
        tracing::debug!(
            target: "andal::client",
            host = %core.host,
            attempt = self.attempts,
            failure = %failure.kind.label(),
            "attempt failed"
        );
        let next =
            match self
                .schedule
                .next_retry(&failure.kind, retry_after, self.deadline.remaining())
            {
                RetryDecision::Retry { after } => {
                    if core.budget.try_withdraw() {
                        self.schedule.retry_sent(after, &failure.kind);
                        Ok(after)
                    } else {
                        self.schedule.budget_refused(&failure.kind);
                        Err(UnavailableCause::RetryBudgetExhausted(failure.kind))
                    }
                }
                RetryDecision::Stop(StopReason::DeadlineWouldPass)
                    if self.deadline.is_expired() =>
                {
                    Err(UnavailableCause::DeadlineExceeded)
                }
                RetryDecision::Stop(_) => Err(UnavailableCause::Upstream(failure.kind)),
            };
        let mut outcome = CallOutcome::from_failure(&failure.kind, core.count_throttling);
        if next.is_ok() && permit.state() == BreakerState::Closed {
            // Per check, not per attempt: the retry's outcome decides.
            outcome = CallOutcome::Ignored;
        }
        permit.record(outcome, took);
        match next {
            Ok(after) => self.state = State::Backoff(core.clock.now() + after),
            Err(cause) => self.fail(cause),
        }
    }

    fn fail(&mut self, cause: UnavailableCause) {
        let e = unavailable(cause, self.attempts, self.last_failure, &self.deadline);
        self.finish_online(Err(e));
    }

    /// The online path ended: fall back offline when allowed, then record the outcome.
    fn finish_online(&mut self, mut result: Result<Decision, Error>) {
        if self.purpose == Purpose::Recheck {
            let sent = match &result {
                Ok(_) => true,
                Err(Error::Unavailable(u)) => u.attempts > 0,
                Err(Error::Auth { .. } | Error::Rejected(_) | Error::Protocol(_)) => true,
                Err(_) => false,
            };
            if sent {
                // Re-checks are not citizen checks: counted apart in the outage record.
                self.core.record_final(Final::Recheck);
            }
            self.state = State::Decided(Box::new(result));
            return;
        }
        if let Err(Error::Unavailable(u)) = &mut result
            && self.core.offline_configured()
        {
            match self.core.offline_plan(&self.query, &self.opts, u) {
                // Counted as offline by offline_plan (its incident id is in the record).
                Ok((decision, payload)) => {
                    self.state = State::Journal {
                        decision: Box::new(decision),
                        online: Box::new(u.clone()),
                        payload: Some(payload),
                    };
                    return;
                }
                Err(refusal) => {
                    tracing::info!(target: "andal::offline", reason = refusal.reason(), "no offline answer");
                    u.fallback = Some(refusal);
                }
            }
        }
        let closed = self.record_outcome(&result);
        if result.is_ok() {
            self.trust_refresh_due = self.core.trust.background_refresh_due();
        }
        self.state = match (result, closed) {
            (Ok(decision), Some(incident)) if self.core.journal.is_some() => {
                State::JournalIncident {
                    decision: Box::new(decision),
                    payload: Some(crate::reconcile::IncidentRecord::payload(
                        self.core.outage.recording_since(),
                        incident,
                    )),
                }
            }
            (result, _) => State::Decided(Box::new(result)),
        };
    }

    /// Records a citizen check's outcome; returns the incident it closed, if any.
    fn record_outcome(&self, result: &Result<Decision, Error>) -> Option<Incident> {
        let outcome = match result {
            Ok(_) => Some(CheckOutcome::Online),
            Err(Error::Unavailable(_)) => Some(CheckOutcome::Refused),
            Err(Error::Auth { .. } | Error::Rejected(_) | Error::Protocol(_)) => {
                Some(CheckOutcome::Rejected)
            }
            // Nothing was sent: not part of the registry's record.
            Err(_) => None,
        };
        self.core.record_final_closing(Final::Check(outcome?)).1
    }

    /// What the journal did with the record of the last `Journal` action.
    pub(crate) fn handle_journaled(&mut self, seq: Result<u64, andal_journal::JournalError>) {
        let span = self.span.clone();
        let _in_span = span.enter();
        match std::mem::replace(&mut self.state, State::Done) {
            State::Journal {
                mut decision,
                mut online,
                payload: None,
            } => match seq {
                Ok(seq) => {
                    if let Provenance::Offline(p) = &mut decision.provenance {
                        p.journal_seq = seq;
                    }
                    self.state = State::Decided(Box::new(Ok(*decision)));
                }
                Err(e) => {
                    let refusal = crate::offline::FallbackRefusal::Journal(e.to_string());
                    tracing::info!(target: "andal::offline", reason = refusal.reason(), "no offline answer");
                    online.fallback = Some(refusal);
                    let result = Err(Error::Unavailable(*online));
                    self.record_outcome(&result);
                    self.state = State::Decided(Box::new(result));
                }
            },
            State::JournalIncident {
                decision,
                payload: None,
            } => {
                if let Err(e) = seq {
                    // The answer stands; the incident is still in the outage record.
                    tracing::warn!(target: "andal::outage", error = %e,
                        "closed incident not journaled: it reaches a ledger only through the outage record");
                }
                self.state = State::Decided(Box::new(Ok(*decision)));
            }
            s => {
                self.state = s;
                panic!("Check::handle_journaled without an outstanding Journal");
            }
        }
    }
}

impl Drop for Check {
    /// A check dropped before it was decided (its async future was cancelled): the
    /// breaker permit or recovery probe it held is released by its own `Drop` (as
    /// `Ignored` / unhealthy), and a citizen check counts as cancelled. A check whose
    /// offline record was already handed to the journal is not: that record is written
    /// whole (the writer owns it) and was counted as offline, so reconciliation sees it.
    fn drop(&mut self) {
        let cancelled = match &self.state {
            State::Done | State::Decided(_) => false,
            State::Journal { payload, .. } => payload.is_some(),
            // Decided online and counted; only the incident record was pending.
            State::JournalIncident { .. } => false,
            _ => true,
        };
        if cancelled && self.purpose == Purpose::Citizen {
            self.core.record_final(Final::Cancelled);
            let elapsed = self
                .core
                .clock
                .now()
                .saturating_duration_since(self.started);
            self.core.metrics.check_cancelled(elapsed);
        }
    }
}

/// Turn an HTTP response into an answer, a retryable failure or a final error.
pub(crate) fn interpret(resp: HttpResponse, now_wall: std::time::SystemTime) -> AttemptResult {
    let status = resp.status;
    if status == 200 {
        if !is_json(&resp, "application/json") {
            return AttemptResult::Fail {
                failure: TransportError::new(FailureKind::Malformed, "200 without a JSON body"),
                retry_after: None,
            };
        }
        return match serde_json::from_slice::<CheckResponse>(&resp.body) {
            Ok(r) => AttemptResult::Answer(r),
            Err(e) => AttemptResult::Fail {
                failure: TransportError::new(
                    FailureKind::Malformed,
                    format!(
                        "undecodable check response at line {} column {}",
                        e.line(),
                        e.column()
                    ),
                ),
                retry_after: None,
            },
        };
    }
    let problem = if is_json(&resp, api::PROBLEM_CONTENT_TYPE) || is_json(&resp, "application/json")
    {
        serde_json::from_slice::<Problem>(&resp.body).ok()
    } else {
        None
    };
    let code = problem.as_ref().map_or(ProblemCode::Unknown, |p| p.code);
    let retry_after = resp
        .header("retry-after")
        .and_then(|v| andal_resilience::parse_retry_after(v, now_wall));
    match status {
        401 | 403 => AttemptResult::Final(Error::Auth { status, code }),
        408 | 429 | 500..=599 => AttemptResult::Fail {
            failure: TransportError::new(
                FailureKind::from_status(status).unwrap_or(FailureKind::HttpStatus(status)),
                format!("HTTP {status} {}", code.as_str()),
            ),
            retry_after,
        },
        400..=499 => AttemptResult::Final(Rejected { status, code }.into()),
        _ => AttemptResult::Fail {
            failure: TransportError::new(
                FailureKind::Protocol,
                format!("unexpected HTTP status {status}"),
            ),
            retry_after: None,
        },
    }
}

fn is_json(resp: &HttpResponse, expected: &str) -> bool {
    resp.header("content-type").is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case(expected))
    })
}

fn unavailable(
    cause: UnavailableCause,
    attempts: u32,
    last_failure: Option<Kind>,
    deadline: &Deadline,
) -> Error {
    Error::Unavailable(Unavailable {
        cause,
        attempts,
        last_failure,
        elapsed: deadline.elapsed(),
        fallback: None,
    })
}

fn decision_from(
    query: &Query,
    resp: CheckResponse,
    attempts: u32,
    deadline: &Deadline,
) -> Decision {
    Decision {
        verdict: resp.verdict,
        fields: resp.fields,
        provenance: Provenance::Online {
            request_id: resp.request_id,
            registry_time: resp.registry_time,
            attempts,
        },
        nik_masked: query.nik().masked(),
        attestation: resp.attestation,
        elapsed_ms: deadline.elapsed().as_millis() as u64,
    }
}

/// A fresh random idempotency key (128 bits, hex).
pub fn new_idempotency_key() -> String {
    let v: u128 = rand::random();
    format!("{v:032x}")
}

fn validate_idempotency_key(k: &str) -> Result<String, Error> {
    let ok = !k.is_empty()
        && k.len() <= api::MAX_IDEMPOTENCY_KEY_LEN
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if ok {
        Ok(k.to_owned())
    } else {
        Err(ConfigError::Invalid {
            name: "idempotency_key",
            reason: format!(
                "1-{} characters of A-Z a-z 0-9 - _ . :",
                api::MAX_IDEMPOTENCY_KEY_LEN
            ),
        }
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE_S: Duration = Duration::from_secs(5);

    #[test]
    fn a_check_alone_keeps_the_flat_reserve() {
        assert_eq!(decision_reserve(FIVE_S, 0), Duration::from_millis(50));
        assert_eq!(
            decision_reserve(Duration::from_secs(1), 0),
            Duration::from_millis(10)
        );
    }

    #[test]
    fn the_reserve_grows_with_the_checks_in_flight_up_to_a_tenth_of_the_deadline() {
        assert_eq!(decision_reserve(FIVE_S, 1_000), Duration::from_millis(150));
        assert_eq!(
            decision_reserve(FIVE_S, 4_499),
            Duration::from_micros(499_900)
        );
        assert_eq!(decision_reserve(FIVE_S, 5_000), Duration::from_millis(500));
        assert_eq!(
            decision_reserve(FIVE_S, usize::MAX),
            Duration::from_millis(500)
        );
        assert_eq!(
            decision_reserve(Duration::from_millis(200), 1_000),
            Duration::from_millis(20)
        );
    }

    #[test]
    fn in_flight_counts_from_creation_to_drop() {
        let count = Arc::new(AtomicUsize::new(0));
        let (a, before_a) = InFlight::enter(&count);
        let (b, before_b) = InFlight::enter(&count);
        assert_eq!((before_a, before_b), (0, 1));
        drop(a);
        let (_c, before_c) = InFlight::enter(&count);
        assert_eq!(before_c, 1);
        drop(b);
        assert_eq!(count.load(Ordering::Relaxed), 1);
    }
}
