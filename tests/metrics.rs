//! Metrics through the `metrics` facade, read back with a test recorder: the exact set of
//! series a client registers (bounded labels, no personal data), and the values one
//! scripted outage produces, cross-checked against the sandbox's own request count and the
//! outage record.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use andal::metrics::names;
use andal::resilience::{BreakerConfig, ManualClock, RetryPolicy};
use andal::{CheckOptions, Client, JournalKey, Query};
use andal_sandbox::{DEMO_BANK_KEY, DEMO_BANK_PARTNER, Fault, SandboxConfig};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

/// A series' running value: counter total, gauge value, histogram sample count.
#[derive(Debug, Clone, PartialEq)]
enum V {
    C(u64),
    G(f64),
    H(usize),
}

type Series = BTreeMap<(String, Vec<(String, String)>), V>;

/// The debugging recorder's snapshots hand over counter increments and histogram samples
/// since the previous snapshot: this keeps running totals across snapshots.
struct Totals {
    snapshotter: Snapshotter,
    all: std::cell::RefCell<Series>,
}

impl Totals {
    fn new(snapshotter: Snapshotter) -> Self {
        Self {
            snapshotter,
            all: Default::default(),
        }
    }

    fn read(&self) -> Series {
        let mut all = self.all.borrow_mut();
        for (k, _, _, v) in self.snapshotter.snapshot().into_vec() {
            let key = k.key();
            let mut labels: Vec<(String, String)> = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            labels.sort();
            let slot = (key.name().to_owned(), labels);
            let e = all.entry(slot);
            match v {
                DebugValue::Counter(d) => match e.or_insert(V::C(0)) {
                    V::C(n) => *n += d,
                    other => panic!("{other:?}"),
                },
                DebugValue::Histogram(d) => match e.or_insert(V::H(0)) {
                    V::H(n) => *n += d.len(),
                    other => panic!("{other:?}"),
                },
                DebugValue::Gauge(g) => {
                    *e.or_insert(V::G(0.0)) = V::G(g.into_inner());
                }
            }
        }
        all.clone()
    }
}

fn counter(s: &Series, name: &str, labels: &[(&str, &str)]) -> u64 {
    let mut l: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    l.sort();
    match s.get(&(name.to_owned(), l)) {
        Some(V::C(n)) => *n,
        other => panic!("{name} {labels:?}: {other:?}"),
    }
}

fn checks_of(s: &Series, h: &str, p: &str, o: &str) -> u64 {
    counter(
        s,
        names::CHECKS,
        &[("host", h), ("provenance", p), ("outcome", o)],
    )
}

fn gauge(s: &Series, name: &str, host: &str) -> f64 {
    match s.get(&(name.to_owned(), vec![("host".into(), host.into())])) {
        Some(V::G(g)) => *g,
        other => panic!("{name}: {other:?}"),
    }
}

fn sum_of(s: &Series, name: &str) -> u64 {
    s.iter()
        .filter(|((n, _), _)| n == name)
        .map(|(_, v)| match v {
            V::C(n) => *n,
            _ => 0,
        })
        .sum()
}

fn histogram_count(s: &Series, provenance: &str, host: &str) -> usize {
    let mut l = vec![
        ("host".to_owned(), host.to_owned()),
        ("provenance".to_owned(), provenance.to_owned()),
    ];
    l.sort();
    match s.get(&(names::CHECK_DURATION.to_owned(), l)) {
        Some(V::H(n)) => *n,
        other => panic!("{other:?}"),
    }
}

#[test]
fn series_and_values_of_a_scripted_outage() {
    let sb = andal_sandbox::start(SandboxConfig::default().seed(21).people(5_000)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::starting_at(std::time::SystemTime::now()));
    let recorder = DebuggingRecorder::new();
    let snapshotter = Totals::new(recorder.snapshotter());
    let client = metrics::with_local_recorder(&recorder, || {
        Client::builder(sb.url())
            .clock(clock.clone())
            .partner_id(DEMO_BANK_PARTNER)
            .api_key(DEMO_BANK_KEY)
            .allow_insecure_http(true)
            .deadline(Duration::from_millis(1500))
            .attempt_timeout(Duration::from_millis(500))
            .retry_policy(RetryPolicy::builder().seed(9))
            .adaptive_throttle(None)
            .breaker_config(
                BreakerConfig::builder()
                    .minimum_number_of_calls(3)
                    .slow_call_duration_threshold(Duration::from_millis(400))
                    .wait_duration_in_open(Duration::from_millis(200))
                    .fixed_open_wait()
                    .build()
                    .unwrap(),
            )
            .trust_roots(vec![sb.issuer().unwrap().root_key()])
            .trust_cache_dir(dir.path().join("trust"))
            .journal(dir.path().join("j"), JournalKey::from_bytes([7; 32]))
            .build()
            .unwrap()
    });
    let host = client.host().to_owned();
    let h = host.as_str();

    // The exact series: every one registered at build, labelled by host and closed sets.
    let s = snapshotter.read();
    let mut expected: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let one = |name: &str| (name.to_owned(), vec![("host".to_owned(), host.clone())]);
    let two = |name: &str, k: &str, v: &str| {
        let mut l = vec![
            ("host".to_owned(), host.clone()),
            (k.to_owned(), v.to_owned()),
        ];
        l.sort();
        (name.to_owned(), l)
    };
    for (p, o) in andal::metrics::CHECK_SERIES {
        let mut l = vec![
            ("host".to_owned(), host.clone()),
            ("outcome".to_owned(), o.to_owned()),
            ("provenance".to_owned(), p.to_owned()),
        ];
        l.sort();
        expected.push((names::CHECKS.to_owned(), l));
    }
    for c in andal::metrics::ONLINE_FAILURE_CAUSES {
        expected.push(two(names::ONLINE_FAILURES, "cause", c));
    }
    for c in andal::metrics::ATTEMPT_FAILURE_CAUSES {
        expected.push(two(names::ATTEMPT_FAILURES, "cause", c));
    }
    for p in ["online", "offline", "none"] {
        expected.push(two(names::CHECK_DURATION, "provenance", p));
    }
    for o in andal::metrics::RECONCILIATION_OUTCOMES {
        expected.push(two(names::RECONCILIATIONS, "outcome", o));
    }
    for t in andal::metrics::BREAKER_STATES {
        expected.push(two(names::BREAKER_TRANSITIONS, "to", t));
    }
    for r in ["healthy", "unhealthy"] {
        expected.push(two(names::RECOVERY_PROBES, "result", r));
    }
    for n in [
        names::ATTEMPTS,
        names::RETRY_BUDGET_BALANCE,
        names::JOURNAL_BACKLOG,
        names::BREAKER_STATE,
        names::BREAKER_REJECTIONS,
        names::RETRIES,
        names::RETRY_BUDGET_EXHAUSTED,
        names::LOAD_SHED,
    ] {
        expected.push(one(n));
    }
    expected.sort();
    let got: Vec<_> = s.keys().cloned().collect();
    assert_eq!(got, expected);
    assert_eq!(got.len(), 50);

    client.refresh_trust().unwrap();
    sb.reset_accounting();
    let people = sb.sample(2);
    let q = |i: usize| {
        Query::parse(&people[i].nik, &people[i].full_name, &people[i].birth_date).unwrap()
    };

    // Online: a match and a mismatch.
    client.verify(&q(0)).unwrap();
    client
        .verify(&Query::parse(&people[1].nik, "Nama Lain", &people[1].birth_date).unwrap())
        .unwrap();

    // A registry answering 503: each check retried, then refused (no token), until the
    // breaker opens on the failure rate.
    sb.set_fault(Fault::Error {
        status: 503,
        rate: 1.0,
    });
    let mut refused = 0u64;
    while client.health().breaker.state == andal::resilience::BreakerState::Closed {
        assert!(client.verify(&q(0)).is_err());
        refused += 1;
        assert!(refused < 20, "the breaker never opened");
    }
    // Breaker open: a token answers offline.
    let token = sb.mint_token(&people[1].nik, DEMO_BANK_PARTNER).unwrap();
    let d = client
        .verify_with(&q(1), &CheckOptions::default().token(token))
        .unwrap();
    assert!(d.is_offline());

    let s = snapshotter.read();
    let checks = |p, o| {
        counter(
            &s,
            names::CHECKS,
            &[("host", h), ("provenance", p), ("outcome", o)],
        )
    };
    assert_eq!(checks("online", "match"), 1);
    assert_eq!(checks("online", "mismatch"), 1);
    assert_eq!(checks("none", "unavailable"), refused);
    assert_eq!(checks("offline", "match"), 1);
    assert_eq!(sum_of(&s, names::CHECKS), 3 + refused);
    // Every attempt the client counted is a request the registry saw.
    let seen = sb.accounting().check_requests;
    assert_eq!(counter(&s, names::ATTEMPTS, &[("host", h)]), seen);
    // Each 503 attempt is a failure by cause; each one but the last of a check was retried.
    let failed = counter(
        &s,
        names::ATTEMPT_FAILURES,
        &[("host", h), ("cause", "http_5xx")],
    );
    assert_eq!(failed, seen - 2);
    assert_eq!(sum_of(&s, names::ATTEMPT_FAILURES), failed);
    assert_eq!(
        counter(&s, names::RETRIES, &[("host", h)]),
        failed - refused
    );
    // Why the online path failed: upstream 503, then the open breaker.
    // (the retry budget, 0.4 of the checks, refuses some retries on the way).
    let budget = counter(&s, names::RETRY_BUDGET_EXHAUSTED, &[("host", h)]);
    assert!(budget > 0);
    assert_eq!(
        counter(
            &s,
            names::ONLINE_FAILURES,
            &[("host", h), ("cause", "retry_budget_exhausted")]
        ),
        budget
    );
    assert_eq!(
        counter(
            &s,
            names::ONLINE_FAILURES,
            &[("host", h), ("cause", "upstream")]
        ),
        refused - budget
    );
    assert_eq!(
        counter(
            &s,
            names::ONLINE_FAILURES,
            &[("host", h), ("cause", "breaker_open")]
        ),
        1
    );
    assert_eq!(
        counter(
            &s,
            names::BREAKER_TRANSITIONS,
            &[("host", h), ("to", "open")]
        ),
        1
    );
    assert_eq!(counter(&s, names::BREAKER_REJECTIONS, &[("host", h)]), 1);
    assert_eq!(gauge(&s, names::BREAKER_STATE, h), 1.0);
    assert_eq!(gauge(&s, names::JOURNAL_BACKLOG, h), 1.0);
    let balance = gauge(&s, names::RETRY_BUDGET_BALANCE, h);
    assert!((balance - client.health().retry_budget_balance).abs() < 1e-9);
    assert_eq!(histogram_count(&s, "online", h), 2);
    assert_eq!(histogram_count(&s, "none", h), refused as usize);
    assert_eq!(histogram_count(&s, "offline", h), 1);

    // Back up: reconciliation confirms the offline decision; the backlog drains.
    sb.clear_fault();
    clock.advance(Duration::from_millis(250));
    let r = client.reconcile().unwrap();
    assert_eq!(r.confirmed, 1, "{r:?}");
    let s = snapshotter.read();
    assert_eq!(
        counter(
            &s,
            names::RECONCILIATIONS,
            &[("host", h), ("outcome", "confirmed")]
        ),
        1
    );
    assert_eq!(gauge(&s, names::JOURNAL_BACKLOG, h), 0.0);
    assert_eq!(
        counter(
            &s,
            names::BREAKER_TRANSITIONS,
            &[("host", h), ("to", "half_open")]
        ),
        1
    );
    assert_eq!(gauge(&s, names::BREAKER_STATE, h), 2.0);
    // Re-checks are not citizen checks.
    assert_eq!(sum_of(&s, names::CHECKS), 3 + refused);
    // Half-open probes succeed until the breaker closes.
    let mut probes = 0u64;
    while client.health().breaker.state != andal::resilience::BreakerState::Closed {
        client.verify(&q(0)).unwrap();
        probes += 1;
        assert!(probes < 20);
    }
    let s = snapshotter.read();
    assert_eq!(
        counter(
            &s,
            names::BREAKER_TRANSITIONS,
            &[("host", h), ("to", "closed")]
        ),
        1
    );
    assert_eq!(gauge(&s, names::BREAKER_STATE, h), 0.0);
    assert_eq!(checks_of(&s, h, "online", "match"), 1 + probes);

    // No personal data in any series name or label.
    for ((name, labels), _) in &s {
        for p in &people {
            let text = format!("{name}{labels:?}");
            assert!(
                !text.contains(&p.nik) && !text.contains(&p.full_name),
                "{text}"
            );
        }
    }
}

#[test]
fn backlog_is_read_from_the_journal_at_build() {
    let sb = andal_sandbox::start(SandboxConfig::default().seed(22).people(2_000)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let build = |recorder: &DebuggingRecorder| {
        metrics::with_local_recorder(recorder, || {
            Client::builder(sb.url())
                .partner_id(DEMO_BANK_PARTNER)
                .api_key(DEMO_BANK_KEY)
                .allow_insecure_http(true)
                .trust_roots(vec![sb.issuer().unwrap().root_key()])
                .trust_cache_dir(dir.path().join("trust"))
                .journal(dir.path().join("j"), JournalKey::from_bytes([7; 32]))
                .build()
                .unwrap()
        })
    };
    let first = DebuggingRecorder::new();
    let client = build(&first);
    client.refresh_trust().unwrap();
    let p = &sb.sample(1)[0];
    let token = sb.mint_token(&p.nik, DEMO_BANK_PARTNER).unwrap();
    sb.set_fault(Fault::Down);
    let q = Query::parse(&p.nik, &p.full_name, &p.birth_date).unwrap();
    for _ in 0..2 {
        assert!(
            client
                .verify_with(&q, &CheckOptions::default().token(token.clone()))
                .unwrap()
                .is_offline()
        );
    }
    let host = client.host().to_owned();
    drop(client);
    let second = DebuggingRecorder::new();
    let snap = Totals::new(second.snapshotter());
    let _again = build(&second);
    assert_eq!(gauge(&snap.read(), names::JOURNAL_BACKLOG, &host), 2.0);
}

#[test]
fn no_recorder_no_series_and_checks_still_work() {
    // Without a recorder the handles are no-ops: nothing is registered anywhere, and the
    // client behaves as before.
    let sb = andal_sandbox::start(SandboxConfig::default().seed(23).people(1_000)).unwrap();
    let recorder = DebuggingRecorder::new();
    let snap = recorder.snapshotter();
    let client = Client::builder(sb.url())
        .partner_id(DEMO_BANK_PARTNER)
        .api_key(DEMO_BANK_KEY)
        .allow_insecure_http(true)
        .build()
        .unwrap();
    let p = &sb.sample(1)[0];
    metrics::with_local_recorder(&recorder, || {
        client
            .verify(&Query::parse(&p.nik, &p.full_name, &p.birth_date).unwrap())
            .unwrap();
    });
    assert!(snap.snapshot().into_vec().is_empty());
}

/// Keeps the fields of every `check` span.
struct SpanFields(Arc<parking_lot::Mutex<Vec<String>>>);

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={:?};", field.name(), value));
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for SpanFields {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _id: &tracing::span::Id,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if attrs.metadata().name() == "check" {
            let mut f = Fields(format!("{}:", attrs.metadata().target()));
            attrs.record(&mut f);
            self.0.lock().push(f.0);
        }
    }
}

#[test]
fn each_check_has_a_span_with_its_request_id_and_never_a_nik() {
    use tracing_subscriber::layer::SubscriberExt;
    let sb = andal_sandbox::start(SandboxConfig::default().seed(24).people(1_000)).unwrap();
    let client = Client::builder(sb.url())
        .partner_id(DEMO_BANK_PARTNER)
        .api_key(DEMO_BANK_KEY)
        .allow_insecure_http(true)
        .build()
        .unwrap();
    let p = &sb.sample(1)[0];
    let q = Query::parse(&p.nik, &p.full_name, &p.birth_date).unwrap();
    let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let subscriber = tracing_subscriber::registry().with(SpanFields(seen.clone()));
    tracing::subscriber::with_default(subscriber, || {
        client
            .verify_with(&q, &CheckOptions::default().idempotency_key("bank-tx-42"))
            .unwrap();
        client.verify(&q).unwrap();
        // A caller that (wrongly) uses the NIK as its key: sent, never logged.
        client
            .verify_with(&q, &CheckOptions::default().idempotency_key(p.nik.clone()))
            .unwrap();
    });
    let seen = seen.lock().clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    let host = client.host();
    assert_eq!(
        seen[0],
        format!("andal::check:request_id=bank-tx-42;host={host};")
    );
    // A generated key: present, and a different one per check.
    assert!(seen[1].starts_with("andal::check:request_id=") && !seen[1].contains("request_id=;"));
    assert_eq!(
        seen[2],
        format!("andal::check:request_id=redacted;host={host};")
    );
    assert!(seen.iter().all(|s| !s.contains(&p.nik)));
}
