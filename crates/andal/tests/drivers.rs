//! Differential test of the two drivers: the blocking `Client` and the async `AsyncClient`
//! run identical scripted registries (a `ManualClock`, seeded retry jitter, throttle and
//! error draws, every fault of the fault matrix, offline fallback, journaling,
//! reconciliation, trust refresh) and must decide identically: the same results, attempt
//! counts, requests (with their timeouts and idempotency keys), resilience events, clock
//! time slept, journal records and outage records.
//!
//! The trust documents and tokens come from a real sandbox issuer, fetched once; the check
//! traffic is scripted, so both runs see byte-identical registries.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, SystemTime};

use andal::resilience::{
    BreakerConfig, ManualClock, RecordingListener, RetryBudgetConfig, RetryPolicy, SharedClock,
    ThrottleConfig,
};
use andal::transport::{SendFuture, UreqTransport};
use andal::{
    AsyncTransport, CheckOptions, Client, ClientBuilder, FailureKind, HttpRequest, HttpResponse,
    JournalKey, Method, Query, Transport, TransportError,
};
use andal_sandbox::{DEMO_BANK_KEY, DEMO_BANK_PARTNER, SandboxConfig};
use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What the scripted registry does (the sandbox's faults, plus the transport-level ones
/// of the fault matrix).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    Healthy,
    Down,
    Hang,
    Slow(u64),
    Error { status: u16, rate: f64 },
    Throttle { retry_after_secs: u64 },
    ResetMidBody,
    MalformedJson,
    Oversized,
    Flapping { down_ms: u64, up_ms: u64 },
    Tls,
    Dns,
    ConnectTimeout,
    Unauthorized,
    BadRequest,
}

struct Registry {
    clock: Arc<ManualClock>,
    fault: Mutex<(Fault, Duration)>,
    rng: Mutex<ChaCha8Rng>,
    docs: Arc<HashMap<String, String>>,
    log: Mutex<Vec<String>>,
    n: AtomicU64,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Registry")
    }
}

fn json(status: u16, content_type: &str, body: String) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("Content-Type".into(), content_type.into())],
        body: body.into_bytes(),
    }
}

fn problem(status: u16, code: &str) -> HttpResponse {
    json(
        status,
        "application/problem+json",
        format!(r#"{{"type":"about:blank","title":"t","status":{status},"code":"{code}"}}"#),
    )
}

impl Registry {
    fn new(clock: Arc<ManualClock>, docs: Arc<HashMap<String, String>>) -> Self {
        Registry {
            clock,
            fault: Mutex::new((Fault::Healthy, Duration::ZERO)),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(5)),
            docs,
            log: Mutex::new(Vec::new()),
            n: AtomicU64::new(0),
        }
    }

    fn set(&self, f: Fault) {
        *self.fault.lock() = (f, self.clock.elapsed());
    }

    fn fail(&self, kind: FailureKind, took: Duration, timeout: Duration) -> TransportError {
        self.clock.advance(took.min(timeout));
        TransportError::new(kind, "scripted")
    }

    fn respond(
        &self,
        req: &HttpRequest,
        timeout: Duration,
        max_body: u64,
    ) -> Result<HttpResponse, TransportError> {
        let n = self.n.fetch_add(1, Ordering::SeqCst);
        let path = req
            .url
            .split_once("//")
            .map_or("", |(_, r)| r.find('/').map_or("", |i| &r[i..]));
        self.log.lock().push(format!(
            "#{n} t={:?} {} {path} timeout={timeout:?} max={max_body} key={:?}",
            self.clock.elapsed(),
            req.method.as_str(),
            req.header("Idempotency-Key"),
        ));
        let (fault, since) = *self.fault.lock();
        let ms = Duration::from_millis;
        let fault = match fault {
            Fault::Flapping { down_ms, up_ms } => {
                let phase = (self.clock.elapsed() - since).as_millis() as u64 % (down_ms + up_ms);
                if phase < down_ms {
                    Fault::Down
                } else {
                    Fault::Healthy
                }
            }
            f => f,
        };
        // Transport-level faults hit every path alike.
        match fault {
            Fault::Down => return Err(self.fail(FailureKind::Refused, ms(1), timeout)),
            Fault::Hang => return Err(self.fail(FailureKind::ReadTimeout, timeout, timeout)),
            Fault::Tls => return Err(self.fail(FailureKind::Tls, ms(3), timeout)),
            Fault::Dns => return Err(self.fail(FailureKind::Dns, ms(2), timeout)),
            Fault::ConnectTimeout => {
                return Err(self.fail(FailureKind::ConnectTimeout, timeout.mul_f64(0.8), timeout));
            }
            Fault::Slow(lat) if ms(lat) > timeout => {
                return Err(self.fail(FailureKind::ReadTimeout, timeout, timeout));
            }
            Fault::Slow(lat) => self.clock.advance(ms(lat)),
            _ => self.clock.advance(ms(15)),
        }
        if req.method == Method::Get {
            if path == "/v1/health" {
                return Ok(match fault {
                    Fault::Error { status, .. } => problem(status, "unavailable"),
                    _ => json(
                        200,
                        "application/json",
                        r#"{"status":"ok","version":"t"}"#.into(),
                    ),
                });
            }
            return Ok(match self.docs.get(path) {
                Some(doc) => json(200, "application/json", doc.clone()),
                None => problem(404, "not_found"),
            });
        }
        let ok = || {
            json(
                200,
                "application/json",
                format!(
                    r#"{{"request_id":"r-{n}","verdict":"match","fields":{{"nik":"SESUAI","full_name":"SESUAI","birth_date":"SESUAI","birth_place":"NOT_CHECKED"}},"registry_time":"2026-11-28T00:00:00Z","attestation":null}}"#
                ),
            )
        };
        match fault {
            Fault::Error { status, rate } => {
                if self.rng.lock().random::<f64>() < rate {
                    Ok(problem(status, "unavailable"))
                } else {
                    Ok(ok())
                }
            }
            Fault::Throttle { retry_after_secs } => {
                let mut r = problem(429, "rate_limited");
                r.headers
                    .push(("Retry-After".into(), retry_after_secs.to_string()));
                Ok(r)
            }
            Fault::ResetMidBody => Err(self.fail(FailureKind::Reset, ms(5), timeout)),
            Fault::MalformedJson => Ok(json(200, "application/json", "{\"verdict\":".into())),
            Fault::Oversized if max_body < 1 << 20 => {
                Err(self.fail(FailureKind::TooLarge, ms(30), timeout))
            }
            Fault::Unauthorized => Ok(problem(401, "unauthorized")),
            Fault::BadRequest => Ok(problem(400, "invalid_request")),
            _ => Ok(ok()),
        }
    }
}

impl Transport for Registry {
    fn send(&self, r: &HttpRequest, t: Duration, m: u64) -> Result<HttpResponse, TransportError> {
        self.respond(r, t, m)
    }
}

impl AsyncTransport for Registry {
    fn send<'a>(&'a self, r: &'a HttpRequest, t: Duration, m: u64) -> SendFuture<'a> {
        let out = self.respond(r, t, m);
        Box::pin(std::future::ready(out))
    }
}

/// A minimal executor: the scripted futures are ready at once, except the journal
/// writer's acknowledgement, which wakes this thread.
fn block_on<F: Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        match f.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park(),
        }
    }
}

struct World {
    docs: Arc<HashMap<String, String>>,
    root: andal::RootKey,
    people: Vec<(Query, String)>,
    wall: SystemTime,
}

/// Trust documents and tokens from a real sandbox issuer, fetched once for both runs.
fn world() -> World {
    let sb = andal_sandbox::start(SandboxConfig::default().seed(31).people(2_000)).unwrap();
    let t = UreqTransport::default();
    let mut docs = HashMap::new();
    for path in [andal::api::KEYS_PATH, andal::api::REVOCATIONS_PATH] {
        let req = HttpRequest {
            method: Method::Get,
            url: format!("{}{path}", sb.url()),
            headers: vec![
                ("Authorization".into(), format!("Bearer {DEMO_BANK_KEY}")),
                (
                    andal::api::PARTNER_ID_HEADER.into(),
                    DEMO_BANK_PARTNER.into(),
                ),
            ],
            body: vec![],
        };
        let resp = Transport::send(&t, &req, Duration::from_secs(5), 1 << 20).unwrap();
        assert_eq!(resp.status, 200);
        docs.insert(path.to_owned(), String::from_utf8(resp.body).unwrap());
    }
    let people = sb
        .sample(4)
        .iter()
        .map(|p| {
            let q = Query::parse(&p.nik, &p.full_name, &p.birth_date).unwrap();
            (q, sb.mint_token(&p.nik, DEMO_BANK_PARTNER).unwrap())
        })
        .collect();
    World {
        docs: Arc::new(docs),
        root: sb.issuer().unwrap().root_key(),
        people,
        wall: SystemTime::now(),
    }
}

/// Everything a run decided, in order, as text.
#[derive(Debug, PartialEq)]
struct Trace {
    results: Vec<String>,
    requests: Vec<String>,
    events: Vec<String>,
    slept: Duration,
    journal: Vec<String>,
    outage: String,
}

/// The same client settings for both drivers.
fn builder(
    w: &World,
    clock: &Arc<ManualClock>,
    reg: &Arc<Registry>,
    events: &Arc<RecordingListener>,
    dir: &std::path::Path,
) -> ClientBuilder {
    let shared: SharedClock = clock.clone();
    Client::builder("https://registry.example")
        .partner_id(DEMO_BANK_PARTNER)
        .api_key(DEMO_BANK_KEY)
        .clock(shared)
        .deadline(Duration::from_millis(2500))
        .attempt_timeout(Duration::from_millis(800))
        .retry_policy(RetryPolicy::builder().seed(17))
        .retry_budget(RetryBudgetConfig::default())
        .adaptive_throttle(Some(ThrottleConfig::default().seed(23)))
        .breaker_config(
            BreakerConfig::builder_for_attempt_timeout(Duration::from_millis(800))
                .count_window(10)
                .minimum_number_of_calls(5)
                .failure_rate_threshold(50.0)
                .wait_duration_in_open(Duration::from_secs(5))
                .build()
                .unwrap(),
        )
        .listener(events.clone())
        .trust_roots(vec![w.root.clone()])
        // Background refreshes run on a thread / task whose timing is not scripted;
        // explicit refreshes go through the engine in both drivers.
        .trust_refresh_interval(None)
        .journal(dir.join("offline.journal"), JournalKey::from_bytes([3; 32]))
        .transport(reg.clone())
        .async_transport(reg.clone())
        .timer(clock.clone())
}

/// One scenario: trust refresh, healthy checks, the fault (half of the checks carry a
/// token), recovery, reconciliation.
fn scenario(w: &World, fault: Fault, run: &mut dyn FnMut(Op) -> String) -> Vec<String> {
    let mut out = vec![run(Op::RefreshTrust)];
    let mut i = 0;
    let mut check = |run: &mut dyn FnMut(Op) -> String, token: bool| {
        i += 1;
        let (q, t) = &w.people[i % w.people.len()];
        let mut opts = CheckOptions::default().idempotency_key(format!("k-{i}"));
        if token {
            opts = opts.token(t.clone());
        }
        run(Op::Verify(Box::new((q.clone(), opts))))
    };
    for _ in 0..4 {
        out.push(check(run, false));
    }
    out.push(run(Op::Set(fault)));
    for n in 0..30 {
        out.push(check(run, n % 2 == 1));
        out.push(run(Op::Advance(Duration::from_millis(300))));
    }
    out.push(run(Op::Set(Fault::Healthy)));
    out.push(run(Op::Advance(Duration::from_secs(70))));
    for _ in 0..6 {
        out.push(check(run, false));
    }
    out.push(run(Op::Reconcile));
    out.push(run(Op::Reconcile));
    out
}

enum Op {
    RefreshTrust,
    Verify(Box<(Query, CheckOptions)>),
    Reconcile,
    Set(Fault),
    Advance(Duration),
}

fn trace(w: &World, fault: Fault, asynchronous: bool) -> Trace {
    let clock = Arc::new(ManualClock::starting_at(w.wall));
    let reg = Arc::new(Registry::new(clock.clone(), w.docs.clone()));
    let events = Arc::new(RecordingListener::new());
    let dir = tempfile::tempdir().unwrap();
    let b = builder(w, &clock, &reg, &events, dir.path());
    let (results, outage) = if asynchronous {
        let c = b.build_async().unwrap();
        let results = scenario(w, fault, &mut |op| match op {
            Op::RefreshTrust => format!("{:?}", block_on(c.refresh_trust())),
            Op::Verify(qo) => format!("{:?}", block_on(c.verify_with(&qo.0, &qo.1))),
            Op::Reconcile => format!("{:?}", block_on(c.reconcile())),
            Op::Set(f) => {
                reg.set(f);
                format!("{f:?}")
            }
            Op::Advance(d) => {
                clock.advance(d);
                format!("{:?} {:?}", d, c.health())
            }
        });
        (results, c.outage_report())
    } else {
        let c = b.build().unwrap();
        let results = scenario(w, fault, &mut |op| match op {
            Op::RefreshTrust => format!("{:?}", c.refresh_trust()),
            Op::Verify(qo) => format!("{:?}", c.verify_with(&qo.0, &qo.1)),
            Op::Reconcile => format!("{:?}", c.reconcile()),
            Op::Set(f) => {
                reg.set(f);
                format!("{f:?}")
            }
            Op::Advance(d) => {
                clock.advance(d);
                format!("{:?} {:?}", d, c.health())
            }
        });
        (results, c.outage_report())
    };
    let journal = andal::read_journal(
        dir.path().join("offline.journal"),
        &JournalKey::from_bytes([3; 32]),
    )
    .map(|items| items.iter().map(|i| format!("{i:?}")).collect())
    .unwrap_or_else(|e| vec![format!("{e:?}")]);
    Trace {
        results,
        requests: std::mem::take(&mut *reg.log.lock()),
        events: events.events().iter().map(|e| format!("{e:?}")).collect(),
        slept: clock.total_slept(),
        journal,
        outage: serde_json::to_string_pretty(&outage).unwrap(),
    }
}

#[test]
fn both_drivers_decide_identically_under_every_fault() {
    let w = world();
    let faults = [
        Fault::Healthy,
        Fault::Down,
        Fault::Hang,
        Fault::Slow(300),
        Fault::Slow(1200),
        Fault::Error {
            status: 503,
            rate: 1.0,
        },
        Fault::Error {
            status: 500,
            rate: 0.3,
        },
        Fault::Throttle {
            retry_after_secs: 1,
        },
        Fault::ResetMidBody,
        Fault::MalformedJson,
        Fault::Oversized,
        Fault::Flapping {
            down_ms: 900,
            up_ms: 600,
        },
        Fault::Tls,
        Fault::Dns,
        Fault::ConnectTimeout,
        Fault::Unauthorized,
        Fault::BadRequest,
    ];
    for fault in faults {
        let blocking = trace(&w, fault, false);
        if std::env::var_os("ANDAL_DRIVERS_DUMP").is_some() {
            eprintln!(
                "{fault:?}\n{}\n{}",
                blocking.results.join("\n"),
                blocking.outage
            );
        }
        let asynchronous = trace(&w, fault, true);
        // Not vacuous: the scenario exercised what it claims to.
        let all = blocking.results.join("\n");
        assert!(all.contains("Online"), "{fault:?}: no online answer");
        if !matches!(fault, Fault::Healthy | Fault::Slow(300)) {
            assert!(all.contains("Err("), "{fault:?}: no failure seen");
        }
        if matches!(fault, Fault::Down | Fault::Hang) {
            assert!(all.contains("Offline"), "{fault:?}: no offline answer");
            let first = blocking
                .results
                .iter()
                .find(|r| r.starts_with("Ok(ReconcileReport"))
                .unwrap();
            assert!(
                !first.contains("confirmed: 0,"),
                "{fault:?}: nothing reconciled"
            );
            assert!(!blocking.journal.is_empty());
        }
        for (name, a, b) in [
            ("results", &blocking.results, &asynchronous.results),
            ("requests", &blocking.requests, &asynchronous.requests),
            ("events", &blocking.events, &asynchronous.events),
            ("journal", &blocking.journal, &asynchronous.journal),
        ] {
            for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
                assert_eq!(x, y, "{fault:?}: {name}[{i}] differs");
            }
            assert_eq!(a.len(), b.len(), "{fault:?}: {name} length differs");
        }
        assert_eq!(blocking.slept, asynchronous.slept, "{fault:?}: time slept");
        assert_eq!(
            blocking.outage, asynchronous.outage,
            "{fault:?}: outage record"
        );
    }
}
