//! Proportional protection and quick recovery (issue 10 §1, §2, §5): a degraded registry
//! is not turned into an outage, a dead one is not hammered, recovery is noticed within
//! about a second after outages of any length, and a stopped check keeps its real
//! upstream failure. ManualClock and seeded randomness only: no network, no sleeps.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use andal::resilience::{
    BreakerConfig, BreakerState, ManualClock, RecordingListener, ResilienceEvent, RetryPolicy,
    SharedClock, ThrottleConfig,
};
use andal::{
    Client, Error, FailureKind, HttpRequest, HttpResponse, Query, Transport, TransportError,
    UnavailableCause,
};
use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Every call (and health probe) fails with this failure.
    Down(FailureKind),
    /// Check calls fail with 503 at this rate; health answers.
    Degraded(f64),
    /// Every call answers.
    Up,
}

struct Registry {
    clock: Arc<ManualClock>,
    mode: Mutex<Mode>,
    rng: Mutex<ChaCha8Rng>,
    checks: AtomicU32,
    probes: AtomicU32,
    probe_times: Mutex<Vec<Duration>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Registry")
    }
}

const LATENCY: Duration = Duration::from_millis(20);

fn json(status: u16, body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![(
            "Content-Type".into(),
            if status == 200 {
                "application/json".into()
            } else {
                "application/problem+json".into()
            },
        )],
        body: body.as_bytes().to_vec(),
    }
}

impl Transport for Registry {
    fn send(
        &self,
        request: &HttpRequest,
        timeout: Duration,
        _max_body: u64,
    ) -> Result<HttpResponse, TransportError> {
        let mode = *self.mode.lock();
        self.clock.advance(LATENCY.min(timeout));
        if request.url.ends_with("/v1/health") {
            self.probes.fetch_add(1, Ordering::Relaxed);
            self.probe_times.lock().push(self.clock.elapsed());
            return match mode {
                Mode::Down(k) => Err(TransportError::new(k, "down")),
                _ => Ok(json(200, r#"{"status":"ok","version":"test"}"#)),
            };
        }
        self.checks.fetch_add(1, Ordering::Relaxed);
        let fails = match mode {
            Mode::Down(k) => return Err(TransportError::new(k, "down")),
            Mode::Degraded(rate) => self.rng.lock().random::<f64>() < rate,
            Mode::Up => false,
        };
        if fails {
            return Ok(json(
                503,
                r#"{"type":"about:blank","title":"t","status":503,"code":"unavailable"}"#,
            ));
        }
        Ok(json(
            200,
            r#"{"request_id":"r-1","verdict":"match","fields":{"nik":"SESUAI","full_name":"SESUAI","birth_date":"SESUAI","birth_place":"NOT_CHECKED"},"registry_time":"2026-11-28T00:00:00Z","attestation":null}"#,
        ))
    }
}

struct Setup {
    clock: Arc<ManualClock>,
    registry: Arc<Registry>,
    events: Arc<RecordingListener>,
    client: Client,
}

fn setup(mode: Mode, tune: impl FnOnce(andal::ClientBuilder) -> andal::ClientBuilder) -> Setup {
    let clock = ManualClock::shared();
    let registry = Arc::new(Registry {
        clock: clock.clone(),
        mode: Mutex::new(mode),
        rng: Mutex::new(ChaCha8Rng::seed_from_u64(11)),
        checks: AtomicU32::new(0),
        probes: AtomicU32::new(0),
        probe_times: Mutex::new(Vec::new()),
    });
    let events = Arc::new(RecordingListener::new());
    let shared: SharedClock = clock.clone();
    let builder = Client::builder("https://registry.test")
        .partner_id("bank-a")
        .api_key("k")
        .clock(shared)
        .transport(registry.clone())
        .retry_policy(RetryPolicy::builder().seed(42))
        .adaptive_throttle(Some(ThrottleConfig::default().seed(5)))
        .listener(events.clone());
    Setup {
        clock,
        registry,
        events,
        client: tune(builder).build().unwrap(),
    }
}

fn query() -> Query {
    Query::parse("3316094507990001", "Siti Aminah", "1999-07-05").unwrap()
}

/// `n` checks, one every `gap`; returns how many were answered.
fn run(s: &Setup, n: u32, gap: Duration) -> u32 {
    let mut answered = 0;
    for _ in 0..n {
        if s.client.verify(&query()).is_ok() {
            answered += 1;
        }
        s.clock.advance(gap);
    }
    answered
}

#[test]
fn a_30_percent_degraded_registry_is_answered_like_a_retrying_client() {
    // Seen in review: at 30 % random 503 the breaker opened on noise and 134 of 200
    // checks failed. Three attempts per check leave ~97 % answerable.
    let s = setup(Mode::Degraded(0.3), |b| b);
    let answered = run(&s, 1000, Duration::from_millis(100));
    assert!(answered >= 955, "answered {answered} of 1000");
    assert!(
        !s.events
            .transitions()
            .contains(&(BreakerState::Closed, BreakerState::Open)),
        "the breaker opened on a 30 % degraded registry"
    );
    let per_check = f64::from(s.registry.checks.load(Ordering::Relaxed)) / 1000.0;
    assert!(per_check <= 1.45, "{per_check} requests per check");
}

#[test]
fn a_10_percent_degraded_registry_loses_almost_nothing() {
    let s = setup(Mode::Degraded(0.1), |b| b);
    let answered = run(&s, 1000, Duration::from_millis(100));
    assert!(answered >= 995, "answered {answered} of 1000");
}

#[test]
fn at_50_and_70_percent_the_registry_sees_at_most_1_5_requests_per_check() {
    for rate in [0.5, 0.7] {
        let s = setup(Mode::Degraded(rate), |b| b);
        let answered = run(&s, 1000, Duration::from_millis(100));
        let per_check = f64::from(s.registry.checks.load(Ordering::Relaxed)) / 1000.0;
        assert!(per_check <= 1.5, "{rate}: {per_check} requests per check");
        // Shedding is gradual, not refuse-all: a good share is still answered.
        let floor = if rate == 0.5 { 600 } else { 250 };
        assert!(answered >= floor, "{rate}: answered {answered}");
    }
}

#[test]
fn shedding_grows_with_the_failure_rate() {
    let mut last = -1.0;
    for rate in [0.3, 0.5, 0.7, 0.9] {
        let s = setup(Mode::Degraded(rate), |b| b);
        run(&s, 300, Duration::from_millis(100));
        let p = s.client.health().throttle_rejection_probability;
        assert!(p >= last, "rate {rate}: p {p} < {last}");
        last = p;
    }
    assert!(last > 0.5, "{last}");
}

#[test]
fn a_dead_registry_is_not_hammered() {
    let s = setup(Mode::Down(FailureKind::Refused), |b| b);
    run(&s, 1000, Duration::from_millis(100));
    let per_check = f64::from(s.registry.checks.load(Ordering::Relaxed)) / 1000.0;
    assert!(per_check <= 1.2, "{per_check} requests per check");
    assert_eq!(s.client.breaker().state(), BreakerState::Open);
}

/// Outage of `outage`, checks every 100 ms; returns (time from the registry's return to
/// the first online answer, recovery probes sent while open, open time).
fn recovery_after(outage: Duration) -> (Duration, u32, Duration) {
    let s = setup(Mode::Down(FailureKind::Refused), |b| b);
    let tick = Duration::from_millis(100);
    let start = s.clock.elapsed();
    while s.clock.elapsed() - start < outage {
        let _ = s.client.verify(&query());
        s.clock.advance(tick);
    }
    assert_eq!(s.client.breaker().state(), BreakerState::Open);
    let probes = s.registry.probes.load(Ordering::Relaxed);
    // At most one probe per second while open.
    let times = s.registry.probe_times.lock().clone();
    for w in times.windows(2) {
        assert!(w[1] - w[0] >= Duration::from_secs(1), "probes {w:?}");
    }
    *s.registry.mode.lock() = Mode::Up;
    let back = s.clock.elapsed();
    loop {
        if s.client.verify(&query()).is_ok() {
            return (s.clock.elapsed() - back, probes, outage);
        }
        s.clock.advance(tick);
        assert!(
            s.clock.elapsed() - back < Duration::from_secs(600),
            "never recovered"
        );
    }
}

#[test]
fn recovery_is_noticed_within_1_5_s_after_outages_of_any_length() {
    // The open wait grows to 5 min after long outages; recovery probes end it early.
    for minutes in [1u64, 10, 60] {
        let (took, probes, outage) = recovery_after(Duration::from_secs(60 * minutes));
        assert!(
            took <= Duration::from_millis(1500),
            "{minutes} min outage: first online answer {took:?} after the registry returned"
        );
        assert!(
            u64::from(probes) <= outage.as_secs(),
            "{probes} probes in {outage:?}"
        );
    }
}

#[test]
fn a_stop_by_the_budget_or_the_breaker_keeps_the_real_upstream_failure() {
    // Budget: nothing to withdraw, the read timeout stays visible.
    let s = setup(Mode::Down(FailureKind::ReadTimeout), |b| {
        b.retry_budget(
            andal::resilience::RetryBudgetConfig::default()
                .ratio(0.0)
                .min_retries_per_sec(0),
        )
    });
    match s.client.verify(&query()) {
        Err(Error::Unavailable(u)) => {
            assert_eq!(
                u.cause,
                UnavailableCause::RetryBudgetExhausted(FailureKind::ReadTimeout)
            );
            assert_eq!(u.last_failure, Some(FailureKind::ReadTimeout));
        }
        other => panic!("{other:?}"),
    }
    // RetryScheduled only for retries really sent (it came before the budget refused).
    let events = s.events.events();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ResilienceEvent::RetryScheduled { .. }))
    );
    assert!(events.iter().any(|e| matches!(
        e,
        ResilienceEvent::RetryStopped {
            reason: andal::resilience::StopReason::BudgetExhausted,
            ..
        }
    )));

    // Breaker: opened by another check between this check's attempts.
    struct OpenOnRetry(Mutex<Option<Client>>);
    impl andal::resilience::EventListener for OpenOnRetry {
        fn on_event(&self, e: &ResilienceEvent) {
            if matches!(e, ResilienceEvent::RetryScheduled { .. })
                && let Some(c) = self.0.lock().as_ref()
            {
                c.breaker().force_open();
            }
        }
    }
    let opener = Arc::new(OpenOnRetry(Mutex::new(None)));
    let s = setup(Mode::Down(FailureKind::Reset), |b| {
        b.listener(opener.clone())
    });
    *opener.0.lock() = Some(s.client.clone());
    match s.client.verify(&query()) {
        Err(Error::Unavailable(u)) => {
            assert!(matches!(u.cause, UnavailableCause::BreakerOpen { .. }));
            assert_eq!(u.attempts, 1);
            assert_eq!(u.last_failure, Some(FailureKind::Reset));
            let text = Error::Unavailable(u).to_string();
            assert!(text.contains("last failure: reset"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    *opener.0.lock() = None;
}

#[test]
fn a_retry_after_too_large_for_u64_seconds_stops_the_check() {
    // It used to be ignored, and the retry came after normal jitter.
    struct Huge(Arc<ManualClock>, AtomicU32);
    impl std::fmt::Debug for Huge {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Huge")
        }
    }
    impl Transport for Huge {
        fn send(
            &self,
            _r: &HttpRequest,
            _t: Duration,
            _m: u64,
        ) -> Result<HttpResponse, TransportError> {
            self.1.fetch_add(1, Ordering::Relaxed);
            self.0.advance(LATENCY);
            let mut r = json(
                503,
                r#"{"type":"about:blank","title":"t","status":503,"code":"unavailable"}"#,
            );
            r.headers
                .push(("Retry-After".into(), "99999999999999999999999".into()));
            Ok(r)
        }
    }
    let clock = ManualClock::shared();
    let t = Arc::new(Huge(clock.clone(), AtomicU32::new(0)));
    let shared: SharedClock = clock.clone();
    let c = Client::builder("https://registry.test")
        .partner_id("bank-a")
        .api_key("k")
        .clock(shared)
        .transport(t.clone())
        .build()
        .unwrap();
    match c.verify(&query()) {
        Err(Error::Unavailable(u)) => {
            assert_eq!(u.attempts, 1);
            assert_eq!(
                u.cause,
                UnavailableCause::Upstream(FailureKind::HttpStatus(503))
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(t.1.load(Ordering::Relaxed), 1);
}

#[test]
fn a_slow_call_threshold_at_or_above_the_attempt_timeout_is_refused() {
    let build = |slow: Duration| {
        let clock: SharedClock = ManualClock::shared();
        Client::builder("https://registry.test")
            .partner_id("bank-a")
            .api_key("k")
            .clock(clock)
            .attempt_timeout(Duration::from_secs(2))
            .breaker_config(
                BreakerConfig::builder()
                    .slow_call_duration_threshold(slow)
                    .build()
                    .unwrap(),
            )
            .build()
    };
    match build(Duration::from_secs(4)) {
        Err(Error::Config(e)) => assert!(e.to_string().contains("slow_call_duration_threshold")),
        other => panic!("{other:?}"),
    }
    assert!(build(Duration::from_secs(2)).is_err());
    assert!(build(Duration::from_millis(1500)).is_ok());
    // Without an explicit breaker the threshold follows the attempt timeout (95 % of it;
    // was 3/4: 600 ms here).
    let clock: SharedClock = ManualClock::shared();
    let c = Client::builder("https://registry.test")
        .partner_id("bank-a")
        .api_key("k")
        .clock(clock)
        .attempt_timeout(Duration::from_millis(800))
        .build()
        .unwrap();
    assert_eq!(
        c.breaker().config().slow_call_duration_threshold,
        Duration::from_millis(760)
    );
}
