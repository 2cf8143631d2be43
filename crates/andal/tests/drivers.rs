//! Differential test of the two drivers: the blocking `Client` and the async `AsyncClient`
//! run identical scripted registries and must decide identically.
//!
//! - Checks and reconciliation (`both_drivers_decide_identically_under_every_fault`): a
//!   `ManualClock`, seeded retry jitter, throttle and error draws, every fault of the fault
//!   matrix, offline fallback, journaling, reconciliation; the same results, attempt counts,
//!   requests (with their timeouts and idempotency keys), resilience events, clock time
//!   slept, journal records and outage records. Its trust documents and tokens come from a
//!   real sandbox issuer, fetched once; the check traffic is scripted, so both runs see
//!   byte-identical registries.
//! - Trust refresh (`both_drivers_refresh_trust_identically`): `refresh_trust()` and the
//!   background refresh against scripted keys and revocations endpoints (install, key
//!   rotation, a withdrawn key, a revoked token, 5xx, 401, 404, hang, a body slower than the
//!   attempt timeout, reset, refused, oversized, malformed, `alg: none`, tampered, forged,
//!   another issuer, rollback, a list a day overdue, a panicking transport). Each driver's
//!   background job goes to a test spawner (`thread_spawner` / `spawner`) that the script
//!   runs or drops at fixed points, so the schedule (one refresh per interval after a success
//!   or a failure, never two at once, a lost job due again) is stepped by the clock with no
//!   real sleeps; the same trust state after every step, errors, requests, events, `tracing`
//!   output, journal (with its trust marks), trust cache files and outage record.

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
        // The background refresh has its own test (`both_drivers_refresh_trust_identically`).
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
    let path = dir.path().join("offline.journal");
    let key = JournalKey::from_bytes([3; 32]);
    let mut journal: Vec<String> = andal::read_journal(&path, &key)
        .map(|items| items.iter().map(|i| format!("{i:?}")).collect())
        .unwrap_or_else(|e| vec![format!("{e:?}")]);
    // The incidents the engine journaled as they closed (read_journal skips them).
    if let Ok(read) = andal::read_journal_records(&path, &key, 0) {
        journal.extend(
            read.records
                .iter()
                .filter(|r| matches!(r, andal::JournalRecord::Incident { .. }))
                .map(|r| format!("{r:?}")),
        );
    }
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
            assert!(
                blocking.journal.iter().any(|j| j.starts_with("Incident {")),
                "{fault:?}: the incident that recovery closed was not journaled"
            );
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

// ---------------------------------------------------------------------------------------
// Trust refresh: explicit (`refresh_trust`) and in the background, both drivers.
// ---------------------------------------------------------------------------------------

/// 2026-01-01T00:00:00Z: the manual clock's wall time at the start of a trust run.
const T0: u64 = 1_767_225_600;
const TRUST_ISS: &str = "registry-a";
const TRUST_NIK: &str = "3174015708900001";
const TRUST_NAME: &str = "Siti Aminah";
const TRUST_BIRTH: &str = "1990-08-17";
const REFRESH_EVERY: Duration = Duration::from_secs(60);

/// What one trust endpoint (`/v1/keys` or `/v1/revocations`) of the scripted registry does.
#[derive(Debug, Clone)]
enum Endpoint {
    /// 200 with this signed document.
    Doc(&'static str),
    /// This status and raw body (5xx, 401, malformed or hostile bodies).
    Raw(u16, String),
    /// No answer: read timeout at the attempt timeout.
    Hang,
    /// The body takes this long (beyond the attempt timeout: read timeout), then `Doc`.
    Slow(u64, &'static str),
    /// Connection reset mid-body.
    Reset,
    /// Connection refused.
    Down,
    /// The transport panics (a bug in a bank's own transport).
    Panic,
}

/// Signed documents and tokens of a scripted issuer, the same for both runs (Ed25519
/// signatures are deterministic; tokens are minted once).
struct TrustWorld {
    root: andal::RootKey,
    docs: HashMap<&'static str, String>,
    /// Tokens signed by `k1` (jti-1) and `k2` (jti-2, revoked by `rl2`; jti-3).
    tokens: [String; 3],
}

fn trust_world() -> TrustWorld {
    use andal_token::FieldValues;
    use andal_token::issue::{Authority, Issuer, MintRequest, SigningKey};
    let key = |kid: &str, seed: u8| SigningKey::ed25519_from_seed(kid, &[seed; 32]).unwrap();
    let authority = Authority::new(TRUST_ISS, key("root", 1));
    let forger = Authority::new(TRUST_ISS, key("root", 9));
    let stranger = Authority::new("registry-b", key("root", 1));
    let (k1, k2) = (key("k1", 2), key("k2", 4));
    let keyset = |a: &Authority, iat: u64, keys: &[&SigningKey]| {
        let jwks: Vec<_> = keys.iter().map(|k| k.public_jwk()).collect();
        a.sign_keyset(iat, &jwks).unwrap()
    };
    let revocations = |iat: u64, next: u64, jti: &[&str]| {
        let jti: Vec<String> = jti.iter().map(|s| s.to_string()).collect();
        authority
            .sign_revocation_list(iat, next, &jti, &[])
            .unwrap()
    };
    let mut docs = HashMap::new();
    docs.insert("ks1", keyset(&authority, T0 - 3000, &[&k1]));
    // Rotation: k2 joins.
    docs.insert("ks2", keyset(&authority, T0 - 2000, &[&k1, &k2]));
    // k1 withdrawn (compromised or retired): its tokens no longer verify.
    docs.insert("ks3", keyset(&authority, T0 - 1000, &[&k2]));
    docs.insert("ks-forged", keyset(&forger, T0 - 500, &[&k1, &k2]));
    docs.insert("ks-stranger", keyset(&stranger, T0 - 500, &[&k1]));
    let ks3 = docs["ks3"].clone();
    let ks2 = docs["ks2"].clone();
    let seg = |d: &str, i: usize| d.split('.').nth(i).unwrap().to_owned();
    // `alg: none` with ks3's payload; ks2's payload under ks3's signature.
    docs.insert("ks-none", format!("eyJhbGciOiJub25lIn0.{}.", seg(&ks3, 1)));
    docs.insert(
        "ks-tampered",
        format!("{}.{}.{}", seg(&ks3, 0), seg(&ks2, 1), seg(&ks3, 2)),
    );
    // The list promises its next update 10 min after T0: overdue later in the run.
    docs.insert("rl1", revocations(T0 - 3000, T0 + 600, &[]));
    docs.insert("rl2", revocations(T0 - 1000, T0 + 86_400, &["jti-2"]));
    // Published after a day's outage of the list endpoint.
    docs.insert("rl3", revocations(T0 + 90_000, T0 + 180_000, &["jti-2"]));
    let name = andal::normalize_name(TRUST_NAME);
    let mint = |k: &SigningKey, jti: &str| {
        Issuer::new(
            TRUST_ISS,
            SigningKey::from_pkcs8(k.alg(), k.kid(), k.pkcs8()).unwrap(),
        )
        .mint(&MintRequest {
            fields: FieldValues {
                nik: TRUST_NIK,
                name: &name,
                birth_date: TRUST_BIRTH,
            },
            audience: vec![DEMO_BANK_PARTNER.into()],
            iat: T0 - 600,
            nbf: None,
            exp: T0 + 7 * 86_400,
            jti: Some(jti.into()),
        })
        .unwrap()
    };
    TrustWorld {
        root: authority.root_key(),
        tokens: [mint(&k1, "jti-1"), mint(&k2, "jti-2"), mint(&k2, "jti-3")],
        docs: docs
            .into_iter()
            .map(|(k, v)| (k, serde_json::json!({ "jws": v }).to_string()))
            .collect(),
    }
}

/// The registry of a trust run: scripted trust endpoints, checks that answer `match` or
/// are refused.
struct TrustRegistry {
    clock: Arc<ManualClock>,
    docs: HashMap<&'static str, String>,
    keys: Mutex<Endpoint>,
    revocations: Mutex<Endpoint>,
    checks_up: Mutex<bool>,
    log: Mutex<Vec<String>>,
    n: AtomicU64,
}

impl std::fmt::Debug for TrustRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TrustRegistry")
    }
}

impl TrustRegistry {
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
            "#{n} t={:?} {} {path} timeout={timeout:?} max={max_body} partner={:?}",
            self.clock.elapsed(),
            req.method.as_str(),
            req.header(andal::api::PARTNER_ID_HEADER),
        ));
        let ms = Duration::from_millis;
        let fail = |kind, took: Duration| {
            self.clock.advance(took.min(timeout));
            Err(TransportError::new(kind, "scripted"))
        };
        let endpoint = if path == andal::api::KEYS_PATH {
            self.keys.lock().clone()
        } else if path == andal::api::REVOCATIONS_PATH {
            self.revocations.lock().clone()
        } else if *self.checks_up.lock() {
            self.clock.advance(ms(15));
            return Ok(json(
                200,
                "application/json",
                format!(
                    r#"{{"request_id":"r-{n}","verdict":"match","fields":{{"nik":"SESUAI","full_name":"SESUAI","birth_date":"SESUAI","birth_place":"NOT_CHECKED"}},"registry_time":"2026-01-01T00:00:00Z","attestation":null}}"#
                ),
            ));
        } else {
            return fail(FailureKind::Refused, ms(1));
        };
        let (status, body) = match endpoint {
            Endpoint::Doc(d) => (200, self.docs[d].clone()),
            Endpoint::Raw(status, body) => (status, body),
            Endpoint::Hang => return fail(FailureKind::ReadTimeout, timeout),
            Endpoint::Slow(lat, _) if ms(lat) > timeout => {
                return fail(FailureKind::ReadTimeout, timeout);
            }
            Endpoint::Slow(lat, d) => {
                self.clock.advance(ms(lat) - ms(15));
                (200, self.docs[d].clone())
            }
            Endpoint::Reset => return fail(FailureKind::Reset, ms(5)),
            Endpoint::Down => return fail(FailureKind::Refused, ms(1)),
            Endpoint::Panic => {
                quiet_scripted_panics();
                std::panic::panic_any(ScriptedPanic)
            }
        };
        // What both real transports do with a body over the cap.
        if body.len() as u64 > max_body {
            return fail(FailureKind::TooLarge, ms(30));
        }
        self.clock.advance(ms(15));
        Ok(json(status, "application/json", body))
    }
}

impl Transport for TrustRegistry {
    fn send(&self, r: &HttpRequest, t: Duration, m: u64) -> Result<HttpResponse, TransportError> {
        self.respond(r, t, m)
    }
}

impl AsyncTransport for TrustRegistry {
    fn send<'a>(&'a self, r: &'a HttpRequest, t: Duration, m: u64) -> SendFuture<'a> {
        let out = self.respond(r, t, m);
        Box::pin(std::future::ready(out))
    }
}

/// The payload of the scripted transport's panic.
struct ScriptedPanic;

/// Keeps the expected panic out of the test output (other panics print as usual).
fn quiet_scripted_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<ScriptedPanic>() {
                previous(info);
            }
        }));
    });
}

/// A background job handed to the test's spawner: the blocking driver's thread job or the
/// async driver's task. The test runs (or drops) them at scripted points, so the
/// background schedule is as deterministic as the rest.
enum Job {
    Thread(Box<dyn FnOnce() + Send>),
    Task(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>),
}

type Jobs = Arc<Mutex<Vec<Job>>>;

/// `tracing` events of the library (`andal*` targets) on the test thread, as text.
#[derive(Clone, Default)]
struct Tracer(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Tracer {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Fields(String);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                self.0.push_str(&format!(" {}={v:?}", f.name()));
            }
        }
        let m = event.metadata();
        if !m.target().starts_with("andal") {
            return;
        }
        let mut fields = Fields(format!("{} {}", m.level(), m.target()));
        event.record(&mut fields);
        self.0.lock().push(fields.0);
    }
}

/// One step of a trust run.
#[derive(Debug, Clone)]
enum Step {
    Keys(Endpoint),
    Revocations(Endpoint),
    ChecksUp(bool),
    /// `refresh_trust()`.
    Refresh,
    /// A check, with the token of this index.
    Verify(Option<usize>),
    Advance(Duration),
    /// Run the queued background jobs (a panicking job is caught, as a thread's or a
    /// runtime's would be).
    RunBackground,
    /// Drop the queued jobs unrun (the pool or runtime shut down).
    DropBackground,
    /// Drop the client (background jobs queued keep running).
    DropClient,
}

/// The script: first install, then every way the keys and revocations endpoints can go
/// wrong or change, through explicit and background refreshes.
fn trust_script() -> Vec<Step> {
    use Endpoint::*;
    use Step::*;
    let after = |s: &mut Vec<Step>, d: Duration| {
        s.push(Advance(d));
        s.push(Verify(None));
    };
    let mut s = vec![
        Keys(Doc("ks1")),
        Revocations(Doc("rl1")),
        // Nothing held yet: a refresh without documents fails, then succeeds.
        Keys(Raw(503, String::new())),
        Refresh,
        Keys(Doc("ks1")),
        Refresh,
        // Just refreshed: no background refresh due before the interval.
        Verify(None),
        Advance(Duration::from_secs(30)),
        Verify(None),
        Advance(Duration::from_secs(31)),
        // Due: one background refresh is handed over; the next check does not start a
        // second while it runs.
        Verify(None),
        Verify(None),
        // Rotation while it is queued: it fetches the new keyset.
        Keys(Doc("ks2")),
        RunBackground,
        // Offline answers from the rotated keyset.
        ChecksUp(false),
        Verify(Some(1)),
        Verify(Some(0)),
        ChecksUp(true),
        // k1 withdrawn, jti-2 revoked: tokens of k1 and jti-2 refused offline.
        Keys(Doc("ks3")),
        Revocations(Doc("rl2")),
    ];
    after(&mut s, REFRESH_EVERY);
    s.push(RunBackground);
    s.extend([
        ChecksUp(false),
        Verify(Some(0)),
        Verify(Some(1)),
        Verify(Some(2)),
        ChecksUp(true),
    ]);
    // Every way the keys endpoint fails: explicitly, then in the background. After a
    // failed background refresh the next one waits a whole interval.
    let faults = vec![
        Raw(
            503,
            r#"{"type":"about:blank","title":"t","status":503,"code":"unavailable"}"#.into(),
        ),
        Raw(500, "<html>oops</html>".into()),
        Raw(
            429,
            r#"{"type":"about:blank","title":"t","status":429,"code":"rate_limited"}"#.into(),
        ),
        Raw(
            401,
            r#"{"type":"about:blank","title":"t","status":401,"code":"unauthorized"}"#.into(),
        ),
        Raw(404, String::new()),
        Hang,
        Slow(1200, "ks3"),
        Reset,
        Down,
        Raw(200, "{\"jws\":".into()),
        Raw(200, r#"{"keys":[]}"#.into()),
        Raw(200, r#"{"jws":"a.b.c"}"#.into()),
        Raw(200, format!(r#"{{"jws":"{}"}}"#, "A".repeat(300 * 1024))),
        Doc("ks-none"),
        Doc("ks-tampered"),
        Doc("ks-forged"),
        Doc("ks-stranger"),
        // Rollback to an older, validly signed keyset: refused, the newer one stays.
        Doc("ks1"),
        // Slow but within the attempt timeout: fine.
        Slow(300, "ks3"),
    ];
    for f in faults {
        s.extend([Keys(f), Refresh]);
        after(&mut s, REFRESH_EVERY);
        s.push(RunBackground);
        after(&mut s, Duration::from_secs(1));
        after(&mut s, Duration::from_secs(58));
        s.push(RunBackground);
    }
    // The keyset fine, the revocation list failing (the keyset is installed first).
    s.push(Keys(Doc("ks3")));
    for f in [
        Hang,
        Raw(502, String::new()),
        Doc("ks2"),
        Doc("rl1"),
        Doc("rl2"),
    ] {
        s.extend([Revocations(f), Refresh]);
        after(&mut s, REFRESH_EVERY);
        s.push(RunBackground);
    }
    // A day without a revocation list: past its promised next update, too stale for an
    // offline answer.
    s.push(Revocations(Hang));
    after(&mut s, Duration::from_secs(25 * 3600));
    s.extend([
        RunBackground,
        ChecksUp(false),
        Verify(Some(2)),
        ChecksUp(true),
    ]);
    s.push(Revocations(Doc("rl3")));
    // A job dropped unrun (runtime or pool shut down): due again at the next check.
    after(&mut s, REFRESH_EVERY);
    s.push(DropBackground);
    after(&mut s, Duration::from_secs(1));
    s.push(RunBackground);
    // A transport that panics: the job unwinds; due again at the next check.
    s.push(Keys(Panic));
    after(&mut s, REFRESH_EVERY);
    s.push(RunBackground);
    s.push(Keys(Doc("ks3")));
    after(&mut s, Duration::from_secs(1));
    s.push(RunBackground);
    // The client dropped while a refresh is queued: the job still runs to its end.
    after(&mut s, REFRESH_EVERY);
    s.extend([DropClient, RunBackground]);
    s
}

/// Everything a trust run did, in order, as text.
#[derive(Debug, PartialEq)]
struct TrustTrace {
    steps: Vec<String>,
    requests: Vec<String>,
    events: Vec<String>,
    tracing: Vec<String>,
    slept: Duration,
    journal: Vec<String>,
    cache: Vec<String>,
    outage: String,
}

enum Driver {
    Blocking(Client),
    Async(andal::AsyncClient),
}

fn trust_trace(w: &TrustWorld, asynchronous: bool) -> TrustTrace {
    let clock = Arc::new(ManualClock::starting_at(
        SystemTime::UNIX_EPOCH + Duration::from_secs(T0),
    ));
    let reg = Arc::new(TrustRegistry {
        clock: clock.clone(),
        docs: w.docs.iter().map(|(k, v)| (*k, v.clone())).collect(),
        keys: Mutex::new(Endpoint::Down),
        revocations: Mutex::new(Endpoint::Down),
        checks_up: Mutex::new(true),
        log: Mutex::new(Vec::new()),
        n: AtomicU64::new(0),
    });
    let events = Arc::new(RecordingListener::new());
    let dir = tempfile::tempdir().unwrap();
    let jobs: Jobs = Arc::default();
    let (tj, aj) = (jobs.clone(), jobs.clone());
    let shared: SharedClock = clock.clone();
    let b = Client::builder("https://registry.example")
        .partner_id(DEMO_BANK_PARTNER)
        .api_key(DEMO_BANK_KEY)
        .clock(shared)
        .deadline(Duration::from_millis(2500))
        .attempt_timeout(Duration::from_millis(800))
        .retry_policy(RetryPolicy::builder().seed(17))
        .listener(events.clone())
        .trust_roots(vec![w.root.clone()])
        .trust_cache_dir(dir.path().join("trust"))
        .trust_refresh_interval(Some(REFRESH_EVERY))
        .journal(
            dir.path().join("offline.journal"),
            JournalKey::from_bytes([3; 32]),
        )
        .transport(reg.clone())
        .async_transport(reg.clone())
        .timer(clock.clone())
        .thread_spawner(Arc::new(move |j| tj.lock().push(Job::Thread(j))))
        .spawner(Arc::new(move |f| aj.lock().push(Job::Task(f))));
    let mut client = Some(if asynchronous {
        Driver::Async(b.build_async().unwrap())
    } else {
        Driver::Blocking(b.build().unwrap())
    });
    let query = Query::parse(TRUST_NIK, TRUST_NAME, TRUST_BIRTH).unwrap();
    let tracer = Tracer::default();
    let subscriber = tracing_subscriber::layer::SubscriberExt::with(
        tracing_subscriber::registry(),
        tracer.clone(),
    );
    let mut steps = Vec::new();
    let mut outage = None;
    let mut seen = 0;
    tracing::subscriber::with_default(subscriber, || {
        for (i, step) in trust_script().into_iter().enumerate() {
            let out = match (&step, &client) {
                (Step::Keys(e), _) => {
                    *reg.keys.lock() = e.clone();
                    String::new()
                }
                (Step::Revocations(e), _) => {
                    *reg.revocations.lock() = e.clone();
                    String::new()
                }
                (Step::ChecksUp(up), _) => {
                    *reg.checks_up.lock() = *up;
                    String::new()
                }
                (Step::Advance(d), _) => {
                    clock.advance(*d);
                    String::new()
                }
                (Step::Refresh, Some(Driver::Blocking(c))) => format!("{:?}", c.refresh_trust()),
                (Step::Refresh, Some(Driver::Async(c))) => {
                    format!("{:?}", block_on(c.refresh_trust()))
                }
                (Step::Verify(token), Some(c)) => {
                    let mut opts = CheckOptions::default().idempotency_key(format!("k-{i}"));
                    if let Some(t) = token {
                        opts = opts.token(w.tokens[*t].clone());
                    }
                    match c {
                        Driver::Blocking(c) => format!("{:?}", c.verify_with(&query, &opts)),
                        Driver::Async(c) => format!("{:?}", block_on(c.verify_with(&query, &opts))),
                    }
                }
                (Step::RunBackground, _) => {
                    let queued = std::mem::take(&mut *jobs.lock());
                    let ran: Vec<&str> = queued
                        .into_iter()
                        .map(|job| {
                            let run = std::panic::AssertUnwindSafe(|| match job {
                                Job::Thread(j) => j(),
                                Job::Task(f) => block_on(f),
                            });
                            match std::panic::catch_unwind(run) {
                                Ok(()) => "ran",
                                Err(_) => "panicked",
                            }
                        })
                        .collect();
                    format!("{ran:?}")
                }
                (Step::DropBackground, _) => {
                    format!("dropped {}", std::mem::take(&mut *jobs.lock()).len())
                }
                (Step::DropClient, Some(c)) => {
                    outage = Some(match c {
                        Driver::Blocking(c) => c.outage_report(),
                        Driver::Async(c) => c.outage_report(),
                    });
                    client = None;
                    String::new()
                }
                (_, None) => unreachable!("no step needs the client after DropClient"),
            };
            let status = match &client {
                Some(Driver::Blocking(c)) => format!("{:?}", c.trust_status()),
                Some(Driver::Async(c)) => format!("{:?}", c.trust_status()),
                None => "dropped".into(),
            };
            // What the library logged during the step (the background refresh's result).
            let logged: Vec<String> = tracer.0.lock()[seen..]
                .iter()
                .filter(|l| l.contains("andal::offline"))
                .cloned()
                .collect();
            seen = tracer.0.lock().len();
            steps.push(format!(
                "{i} {step:?} -> {out} | queued={} | {status} | {logged:?}",
                jobs.lock().len()
            ));
        }
    });
    let outage = outage.expect("the script drops the client");
    assert!(jobs.lock().is_empty(), "the script leaves no job queued");
    let key = JournalKey::from_bytes([3; 32]);
    // Decoded read-only: the async client's writer thread may still be closing the file.
    let bytes = std::fs::read(dir.path().join("offline.journal")).unwrap();
    let (records, _) = andal_journal::decode_journal(&bytes, &key).unwrap();
    let journal = records
        .iter()
        .map(|r| format!("{} {}", r.seq, String::from_utf8_lossy(&r.payload)))
        .collect();
    let mut cache: Vec<String> = std::fs::read_dir(dir.path().join("trust"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let body = std::fs::read_to_string(e.path()).unwrap();
            format!("{:?} {}", e.file_name(), body)
        })
        .collect();
    cache.sort();
    TrustTrace {
        steps,
        requests: std::mem::take(&mut *reg.log.lock()),
        events: events.events().iter().map(|e| format!("{e:?}")).collect(),
        tracing: std::mem::take(&mut *tracer.0.lock()),
        slept: clock.total_slept(),
        journal,
        cache,
        outage: serde_json::to_string_pretty(&outage).unwrap(),
    }
}

#[test]
fn both_drivers_refresh_trust_identically() {
    let w = trust_world();
    let blocking = trust_trace(&w, false);
    let asynchronous = trust_trace(&w, true);
    if std::env::var_os("ANDAL_DRIVERS_DUMP").is_some() {
        eprintln!(
            "{}\n{}\n{}",
            blocking.steps.join("\n"),
            blocking.requests.join("\n"),
            blocking.tracing.join("\n")
        );
    }
    for (name, a, b) in [
        ("steps", &blocking.steps, &asynchronous.steps),
        ("requests", &blocking.requests, &asynchronous.requests),
        ("events", &blocking.events, &asynchronous.events),
        ("tracing", &blocking.tracing, &asynchronous.tracing),
        ("journal", &blocking.journal, &asynchronous.journal),
        ("cache", &blocking.cache, &asynchronous.cache),
    ] {
        for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
            assert_eq!(x, y, "{name}[{i}] differs");
        }
        assert_eq!(a.len(), b.len(), "{name} length differs");
    }
    assert_eq!(blocking.slept, asynchronous.slept, "time slept");
    assert_eq!(blocking.outage, asynchronous.outage, "outage record");

    // Not vacuous: the script went where it claims to.
    let step = |prefix: &str| -> Vec<&String> {
        blocking
            .steps
            .iter()
            .filter(|s| s.split_once(' ').unwrap().1.starts_with(prefix))
            .collect()
    };
    let all = blocking.steps.join("\n");
    for want in [
        "keys: 1, keyset_issued_at: Some(1767222600)", // ks1
        "keys: 2, keyset_issued_at: Some(1767223600)", // ks2: rotation
        "keys: 1, keyset_issued_at: Some(1767224600)", // ks3: k1 withdrawn
        "revocations_overdue: true",
        "RevocationListStale",
        "revocations_issued_at: Some(1767315600)", // rl3
        "Rollback { document: Keyset",
        "Offline",
        "UnknownKid",
        "Revoked",
        "Err(Unavailable(Unavailable { cause: Upstream(HttpStatus(503))",
        "Err(Unavailable(Unavailable { cause: Upstream(Throttled)",
        "Err(Unavailable(Unavailable { cause: Upstream(ReadTimeout)",
        "Err(Auth",
        "Err(Protocol",
        "Err(Token",
    ] {
        assert!(all.contains(want), "no step shows {want:?}");
    }
    // The schedule: a job per interval after a success or a failure, never two at once,
    // and one lost to a panic or a shutdown is due again at the next successful check.
    let background = step("RunBackground");
    let count = |what: &str| background.iter().filter(|s| s.contains(what)).count();
    assert_eq!(count(r#"-> ["ran"] |"#), 30);
    assert_eq!(count(r#"-> ["panicked"] |"#), 1);
    assert_eq!(count("-> [] |"), 19, "a failed refresh waits one interval");
    assert!(step("DropBackground")[0].contains("dropped 1"));
    let steps = &blocking.steps;
    for (i, s) in steps.iter().enumerate() {
        if s.contains("panicked") || s.contains("DropBackground") {
            let next = steps[i..]
                .iter()
                .find(|s| s.contains("Verify(None)"))
                .unwrap();
            assert!(next.contains("queued=1"), "not due again: {next}");
        }
    }
    assert!(
        step("RunBackground")
            .iter()
            .any(|s| s.contains("trust refresh failed"))
    );
    assert!(
        blocking
            .tracing
            .iter()
            .any(|t| t.contains("trust refresh failed"))
    );
    assert!(
        blocking
            .journal
            .iter()
            .any(|j| j.contains("ks") || j.contains("keyset"))
    );
}
