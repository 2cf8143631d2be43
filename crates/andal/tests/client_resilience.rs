//! The client's call path with a scripted transport and a manual clock: retries, Retry-After,
//! deadline, budget, breaker, idempotency. Deterministic: no network, no real sleeps.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use andal::resilience::{
    BreakerConfig, BreakerState, ManualClock, RecordingListener, ResilienceEvent,
    RetryBudgetConfig, RetryPolicy, SharedClock,
};
use andal::{
    Client, Error, FailureKind, HttpRequest, HttpResponse, Query, Transport, TransportError,
    UnavailableCause, Verdict,
};
use parking_lot::Mutex;

/// What the scripted upstream does for one attempt.
#[derive(Clone)]
enum Step {
    /// Answer with a status, headers and body after `took`.
    Respond(u16, Vec<(&'static str, String)>, String, Duration),
    /// Fail at transport level after `took` (capped by the attempt timeout).
    Fail(FailureKind, Duration),
}

#[derive(Debug, Default)]
struct Seen {
    keys: Vec<String>,
    probes: u32,
    timeouts: Vec<Duration>,
}

struct Scripted {
    clock: Arc<ManualClock>,
    steps: Mutex<VecDeque<Step>>,
    fallback: Step,
    seen: Mutex<Seen>,
}

impl std::fmt::Debug for Scripted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scripted")
    }
}

impl Transport for Scripted {
    fn send(
        &self,
        request: &HttpRequest,
        timeout: Duration,
        _max_body: u64,
    ) -> Result<HttpResponse, TransportError> {
        if request.url.ends_with("/v1/health") {
            // Recovery probes: healthy unless the registry's default behaviour is to fail.
            self.seen.lock().probes += 1;
            return match &self.fallback {
                Step::Fail(kind, _) => Err(TransportError::new(*kind, "scripted")),
                Step::Respond(..) => Ok(HttpResponse {
                    status: 200,
                    headers: vec![("Content-Type".into(), "application/json".into())],
                    body: br#"{"status":"ok","version":"test"}"#.to_vec(),
                }),
            };
        }
        {
            let mut seen = self.seen.lock();
            seen.keys
                .push(request.header("Idempotency-Key").unwrap_or("").to_owned());
            seen.timeouts.push(timeout);
        }
        let step = self
            .steps
            .lock()
            .pop_front()
            .unwrap_or_else(|| self.fallback.clone());
        match step {
            Step::Respond(status, headers, body, took) => {
                self.clock.advance(took.min(timeout));
                if took > timeout {
                    return Err(TransportError::new(FailureKind::ReadTimeout, "timeout"));
                }
                let mut headers: Vec<(String, String)> = headers
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect();
                headers.push((
                    "Content-Type".into(),
                    if status == 200 {
                        "application/json".into()
                    } else {
                        "application/problem+json".into()
                    },
                ));
                Ok(HttpResponse {
                    status,
                    headers,
                    body: body.into_bytes(),
                })
            }
            Step::Fail(kind, took) => {
                self.clock.advance(took.min(timeout));
                Err(TransportError::new(kind, "scripted"))
            }
        }
    }
}

fn ok_body() -> String {
    r#"{"request_id":"r-1","verdict":"match","fields":{"nik":"SESUAI","full_name":"SESUAI","birth_date":"SESUAI","birth_place":"NOT_CHECKED"},"registry_time":"2026-11-28T00:00:00Z","attestation":null}"#.into()
}

fn problem(code: &str, status: u16) -> String {
    format!(r#"{{"type":"about:blank","title":"t","status":{status},"code":"{code}"}}"#)
}

fn ok() -> Step {
    Step::Respond(200, vec![], ok_body(), Duration::from_millis(20))
}

fn status(s: u16) -> Step {
    let code = match s {
        400 => "invalid_input",
        401 => "unauthorized",
        409 => "idempotency_key_reused",
        429 => "rate_limited",
        _ => "unavailable",
    };
    Step::Respond(s, vec![], problem(code, s), Duration::from_millis(10))
}

struct Harness {
    clock: Arc<ManualClock>,
    transport: Arc<Scripted>,
    events: Arc<RecordingListener>,
    client: Client,
}

fn harness(
    steps: Vec<Step>,
    fallback: Step,
    tune: impl FnOnce(andal::ClientBuilder) -> andal::ClientBuilder,
) -> Harness {
    let clock = ManualClock::shared();
    let transport = Arc::new(Scripted {
        clock: clock.clone(),
        steps: Mutex::new(steps.into()),
        fallback,
        seen: Mutex::default(),
    });
    let events = Arc::new(RecordingListener::new());
    let shared: SharedClock = clock.clone();
    let builder = Client::builder("https://registry.test")
        .partner_id("bank-a")
        .api_key("k")
        .clock(shared)
        .transport(transport.clone())
        .retry_policy(RetryPolicy::builder().seed(42))
        .listener(events.clone());
    Harness {
        clock,
        transport,
        events,
        client: tune(builder).build().unwrap(),
    }
}

fn query() -> Query {
    Query::parse("3316094507990001", "Siti Aminah", "1999-07-05").unwrap()
}

fn unavailable_cause(r: Result<andal::Decision, Error>) -> (UnavailableCause, u32) {
    match r {
        Err(Error::Unavailable(u)) => (u.cause, u.attempts),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[test]
fn retries_a_503_with_the_same_idempotency_key() {
    let h = harness(vec![status(503), ok()], ok(), |b| b);
    let d = h.client.verify(&query()).unwrap();
    assert_eq!(d.verdict, Verdict::Match);
    match d.provenance {
        andal::Provenance::Online { attempts, .. } => assert_eq!(attempts, 2),
        _ => panic!("online expected"),
    }
    let seen = h.transport.seen.lock();
    assert_eq!(seen.keys.len(), 2);
    assert_eq!(seen.keys[0], seen.keys[1]);
    assert_eq!(seen.keys[0].len(), 32);
    // Full jitter: the first retry waited at most the base delay (100 ms).
    assert!(h.clock.total_slept() <= Duration::from_millis(100));
}

#[test]
fn caller_supplied_idempotency_key_is_used_and_checked() {
    let h = harness(vec![], ok(), |b| b);
    let opts = andal::CheckOptions::default().idempotency_key("txn-2026-0001");
    h.client.verify_with(&query(), &opts).unwrap();
    assert_eq!(h.transport.seen.lock().keys[0], "txn-2026-0001");
    let bad = andal::CheckOptions::default().idempotency_key("has space");
    assert!(matches!(
        h.client.verify_with(&query(), &bad),
        Err(Error::Config(_))
    ));
}

#[test]
fn never_retries_client_errors_or_auth() {
    for (s, expect_auth) in [
        (400, false),
        (401, true),
        (403, true),
        (404, false),
        (409, false),
    ] {
        let h = harness(vec![status(s)], ok(), |b| b);
        let r = h.client.verify(&query());
        match (r, expect_auth) {
            (Err(Error::Auth { status, .. }), true) => assert_eq!(status, s),
            (Err(Error::Rejected(rej)), false) => assert_eq!(rej.status, s),
            (other, _) => panic!("status {s}: unexpected {other:?}"),
        }
        assert_eq!(h.transport.seen.lock().keys.len(), 1, "status {s} retried");
        assert_eq!(h.client.breaker().health().state, BreakerState::Closed);
    }
}

#[test]
fn retry_after_is_obeyed() {
    let throttled = Step::Respond(
        429,
        vec![("Retry-After", "2".into())],
        problem("rate_limited", 429),
        Duration::from_millis(5),
    );
    let h = harness(vec![throttled, ok()], ok(), |b| b);
    h.client.verify(&query()).unwrap();
    assert!(h.clock.total_slept() >= Duration::from_secs(2));
}

#[test]
fn retry_after_beyond_the_deadline_stops_now() {
    let throttled = Step::Respond(
        429,
        vec![("Retry-After", "30".into())],
        problem("rate_limited", 429),
        Duration::from_millis(5),
    );
    let h = harness(vec![throttled], ok(), |b| b);
    let (cause, attempts) = unavailable_cause(h.client.verify(&query()));
    assert_eq!(cause, UnavailableCause::Upstream(FailureKind::Throttled));
    assert_eq!(attempts, 1);
    assert_eq!(h.clock.total_slept(), Duration::ZERO);
}

#[test]
fn the_deadline_bounds_a_hanging_registry() {
    // Every attempt hangs until its timeout.
    let hang = Step::Fail(FailureKind::ReadTimeout, Duration::from_secs(3600));
    let h = harness(vec![], hang, |b| {
        b.deadline(Duration::from_secs(5))
            .attempt_timeout(Duration::from_secs(2))
    });
    let start = h.clock.elapsed();
    let r = h.client.verify(&query());
    let spent = h.clock.elapsed() - start;
    assert!(spent <= Duration::from_secs(5), "spent {spent:?}");
    let (_, attempts) = unavailable_cause(r);
    assert!((1..=3).contains(&attempts));
    // No attempt was given more time than remained.
    let seen = h.transport.seen.lock();
    assert!(seen.timeouts.iter().all(|t| *t <= Duration::from_secs(2)));
}

#[test]
fn the_last_attempt_ends_before_the_deadline_leaving_time_to_decide() {
    // Every attempt hangs until its timeout: the last one's timeout is what remains of
    // the online part of the deadline (5 s less 1 %, 50 ms), never all of it, so the
    // check is decided 50 ms before its deadline rather than at it (where a timer's
    // rounding or a queue of wake-ups would make it late).
    let hang = Step::Fail(FailureKind::ReadTimeout, Duration::from_secs(3600));
    let h = harness(vec![], hang, |b| {
        b.deadline(Duration::from_secs(5))
            .attempt_timeout(Duration::from_secs(2))
    });
    let start = h.clock.elapsed();
    let r = h.client.verify(&query());
    let spent = h.clock.elapsed() - start;
    assert_eq!(spent, Duration::from_millis(4950), "decided 50 ms early");
    let (cause, attempts) = unavailable_cause(r);
    // The third attempt was the last the policy allows.
    assert_eq!(cause, UnavailableCause::Upstream(FailureKind::ReadTimeout));
    assert_eq!(attempts, 3);
    let seen = h.transport.seen.lock();
    let last = *seen.timeouts.last().unwrap();
    assert!(
        last < Duration::from_secs(2),
        "the last attempt was cut: {last:?}"
    );
    assert_eq!(
        seen.timeouts.iter().sum::<Duration>() + h.clock.total_slept(),
        Duration::from_millis(4950),
        "attempts and backoffs fill the online part exactly"
    );
}

#[test]
fn malformed_answers_are_failures_not_retried() {
    let bad = Step::Respond(200, vec![], "{not json".into(), Duration::from_millis(5));
    let h = harness(vec![bad], ok(), |b| b);
    let (cause, attempts) = unavailable_cause(h.client.verify(&query()));
    assert_eq!(cause, UnavailableCause::Upstream(FailureKind::Malformed));
    assert_eq!(attempts, 1);
}

#[test]
fn breaker_opens_then_fails_fast_then_probes() {
    let refused = Step::Fail(FailureKind::Refused, Duration::from_millis(1));
    let h = harness(vec![], refused, |b| {
        // The breaker alone (the throttle would shed most of these checks first).
        b.adaptive_throttle(None).breaker_config(
            BreakerConfig::builder()
                .count_window(10)
                .minimum_number_of_calls(5)
                .failure_rate_threshold(50.0)
                .wait_duration_in_open(Duration::from_secs(15))
                .permitted_calls_in_half_open(1)
                .build()
                .unwrap(),
        )
    });
    let mut sent_before_open = 0;
    for _ in 0..20 {
        let before = h.transport.seen.lock().keys.len();
        let r = h.client.verify(&query());
        let sent = h.transport.seen.lock().keys.len() - before;
        if let Err(Error::Unavailable(u)) = &r {
            // Attempts reported are attempts sent; a check refused up front sent nothing.
            assert_eq!(u.attempts as usize, sent);
        }
        sent_before_open += sent;
    }
    assert_eq!(h.client.breaker().health().state, BreakerState::Open);
    // The breaker counts checks, not attempts (issue 10 §1): 5 failed checks of up to 3
    // attempts each (it used to open after 5-6 failed attempts).
    assert!(
        sent_before_open <= 15,
        "sent {sent_before_open} before opening"
    );
    assert!(
        h.events
            .transitions()
            .contains(&(BreakerState::Closed, BreakerState::Open))
    );
    // The outage record saw the incident and why.
    let report = h.client.outage_report();
    assert_eq!(report.incidents.len(), 1);
    let incident = &report.incidents[0];
    assert!(incident.ongoing);
    assert!(incident.causes.get("refused").copied().unwrap_or(0) >= 5);
    assert!(incident.checks.refused >= 1);
    // After the open wait, exactly one probe goes out; the registry is back.
    h.clock.advance(Duration::from_secs(15));
    h.transport.steps.lock().push_back(ok());
    h.client.verify(&query()).unwrap();
    assert!(h.events.events().iter().any(|e| matches!(
        e,
        ResilienceEvent::StateTransition {
            to: BreakerState::HalfOpen,
            ..
        }
    )));
}

#[test]
fn an_empty_budget_stops_retries_but_not_first_attempts() {
    let down = Step::Fail(FailureKind::Refused, Duration::from_millis(1));
    let h = harness(vec![], down, |b| {
        b.breaker_config(BreakerConfig::builder().build().unwrap())
            .retry_budget(
                RetryBudgetConfig::default()
                    .ratio(0.1)
                    .min_retries_per_sec(0),
            )
    });
    h.client.breaker().disable();
    let checks = 200;
    for _ in 0..checks {
        let _ = h.client.verify(&query());
        h.clock.advance(Duration::from_millis(10));
    }
    let sent = h.transport.seen.lock().keys.len();
    // Every check made its first attempt; retries stayed within ~10 % of traffic.
    assert!(sent >= checks);
    let amplification = sent as f64 / checks as f64;
    assert!(amplification <= 1.2, "amplification {amplification}");
    assert!(
        h.events
            .events()
            .iter()
            .any(|e| matches!(e, ResilienceEvent::RetryBudgetExhausted { .. }))
    );
}

#[test]
fn client_is_shared_across_threads() {
    let h = harness(vec![], ok(), |b| b);
    let client = h.client.clone();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let c = client.clone();
            std::thread::spawn(move || {
                for _ in 0..25 {
                    c.verify(&query()).unwrap();
                }
            })
        })
        .collect();
    for t in handles {
        t.join().unwrap();
    }
    assert_eq!(h.transport.seen.lock().keys.len(), 200);
}
