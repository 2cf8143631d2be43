//! Fault matrix: the real client (ureq transport) against the sandbox on loopback, one fault
//! at a time. Every check must end with a decision or a typed error within its deadline plus
//! a small margin; no panic, no hang. During a hard outage, once the breaker is open,
//! upstream requests per check stay at or below 1.2.

use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use andal::resilience::{BreakerConfig, RetryPolicy};
use andal::transport::UreqTransport;
use andal::{
    Client, Error, FailureKind, HttpRequest, HttpResponse, Query, Transport, TransportError,
    UnavailableCause,
};
use andal_sandbox::{DEMO_BANK_KEY, DEMO_BANK_PARTNER, Fault, Sandbox, SandboxConfig};

const DEADLINE: Duration = Duration::from_millis(1200);
const ATTEMPT: Duration = Duration::from_millis(400);
/// Scheduling slack on a loaded 2-core machine.
const MARGIN: Duration = Duration::from_millis(300);

/// Counts what actually leaves the client, including connections the sandbox never sees.
#[derive(Debug)]
struct Counting {
    inner: UreqTransport,
    sent: AtomicU64,
}

impl Transport for Counting {
    fn send(
        &self,
        request: &HttpRequest,
        timeout: Duration,
        max_body: u64,
    ) -> Result<HttpResponse, TransportError> {
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.inner.send(request, timeout, max_body)
    }
}

fn client_for(url: &str, transport: Arc<Counting>) -> Client {
    Client::builder(url)
        .partner_id(DEMO_BANK_PARTNER)
        .api_key(DEMO_BANK_KEY)
        .allow_insecure_http(true)
        .deadline(DEADLINE)
        .attempt_timeout(ATTEMPT)
        .retry_policy(RetryPolicy::builder().seed(3))
        .breaker_config(
            BreakerConfig::builder()
                .count_window(10)
                .minimum_number_of_calls(5)
                .failure_rate_threshold(50.0)
                .wait_duration_in_open(Duration::from_secs(60))
                // Must be below the attempt timeout (the client refuses it otherwise).
                .slow_call_duration_threshold(ATTEMPT.mul_f64(0.75))
                .build()
                .unwrap(),
        )
        .transport(transport)
        .build()
        .unwrap()
}

fn counting() -> Arc<Counting> {
    Arc::new(Counting {
        inner: UreqTransport::new(ATTEMPT),
        sent: AtomicU64::new(0),
    })
}

struct Run {
    outcomes: Vec<Result<andal::Decision, Error>>,
    sent: u64,
}

/// Run `n` checks; assert each ends within the deadline.
fn run_checks(client: &Client, counter: &Counting, q: &Query, n: usize, label: &str) -> Run {
    let before = counter.sent.load(Ordering::Relaxed);
    let mut outcomes = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        let r = client.verify(q);
        let took = t.elapsed();
        assert!(
            took <= DEADLINE + MARGIN,
            "{label}: a check took {took:?} (deadline {DEADLINE:?})"
        );
        outcomes.push(r);
    }
    Run {
        outcomes,
        sent: counter.sent.load(Ordering::Relaxed) - before,
    }
}

fn sandbox() -> Sandbox {
    andal_sandbox::start(SandboxConfig::default().seed(5).people(5_000)).unwrap()
}

fn person_query(sb: &Sandbox) -> Query {
    let p = &sb.sample(1)[0];
    Query::parse(&p.nik, &p.full_name, &p.birth_date).unwrap()
}

fn causes(run: &Run) -> Vec<String> {
    run.outcomes
        .iter()
        .map(|r| match r {
            Ok(d) => format!("ok:{}", d.verdict),
            Err(Error::Unavailable(u)) => u.cause.label(),
            Err(e) => format!("err:{}", e.code()),
        })
        .collect()
}

#[test]
fn each_sandbox_fault_is_bounded_and_typed() {
    let sb = sandbox();
    let q = person_query(&sb);
    let faults: Vec<(Fault, &str)> = vec![
        (Fault::Down, "refused"),
        (Fault::Hang, "read_timeout"),
        (
            Fault::Error {
                status: 503,
                rate: 1.0,
            },
            "http_503",
        ),
        (
            Fault::Error {
                status: 500,
                rate: 1.0,
            },
            "http_500",
        ),
        (
            Fault::Throttle {
                retry_after_secs: 5,
            },
            "throttled",
        ),
        (Fault::ResetMidBody, "reset"),
        (Fault::MalformedJson, "malformed"),
        (
            Fault::Oversized {
                bytes: 2 * 1024 * 1024,
            },
            "too_large",
        ),
    ];
    for (fault, expected) in faults {
        let counter = counting();
        let c = client_for(&sb.url(), counter.clone());
        sb.set_fault(fault.clone());
        let run = run_checks(&c, &counter, &q, 8, expected);
        sb.clear_fault();
        let seen = causes(&run);
        assert!(
            seen.iter().all(|s| s == expected || s == "breaker_open"),
            "{fault:?}: {seen:?}"
        );
        assert!(seen.iter().any(|s| s == expected), "{fault:?}: {seen:?}");
        // Recovery on a fresh client (the fault's breaker would otherwise stay open).
        let fresh = client_for(&sb.url(), counting());
        assert!(fresh.verify(&q).is_ok(), "{fault:?}: no recovery");
    }
}

#[test]
fn slow_registry_within_the_attempt_timeout_still_answers() {
    let sb = sandbox();
    let q = person_query(&sb);
    let counter = counting();
    let c = client_for(&sb.url(), counter.clone());
    sb.set_fault(Fault::Slow { latency_ms: 150 });
    let run = run_checks(&c, &counter, &q, 4, "slow");
    assert!(run.outcomes.iter().all(Result::is_ok));
    // Slower than the attempt timeout: bounded, typed.
    sb.set_fault(Fault::Slow { latency_ms: 2000 });
    let run = run_checks(&c, &counter, &q, 3, "very slow");
    assert!(
        causes(&run)
            .iter()
            .all(|s| s == "read_timeout" || s == "breaker_open")
    );
}

#[test]
fn flapping_registry_is_bounded() {
    let sb = sandbox();
    let q = person_query(&sb);
    let counter = counting();
    let c = client_for(&sb.url(), counter.clone());
    sb.set_fault(Fault::Flapping {
        down_ms: 150,
        up_ms: 150,
    });
    let run = run_checks(&c, &counter, &q, 20, "flapping");
    let seen = causes(&run);
    assert!(
        seen.iter()
            .all(|s| s == "ok:match" || s == "refused" || s == "reset" || s == "breaker_open"),
        "{seen:?}"
    );
}

#[test]
fn hard_outage_amplification_once_the_breaker_is_open() {
    let sb = sandbox();
    let q = person_query(&sb);
    let counter = counting();
    let c = client_for(&sb.url(), counter.clone());
    sb.set_fault(Fault::Down);
    // Trip the breaker: it counts checks (5 failed ones), so the 6th is refused.
    let warmup = run_checks(&c, &counter, &q, 6, "trip");
    assert!(causes(&warmup).iter().any(|s| s == "breaker_open"));
    let checks = 200;
    let t = Instant::now();
    let run = run_checks(&c, &counter, &q, checks, "open");
    let per_check = t.elapsed() / checks as u32;
    let amplification = run.sent as f64 / checks as f64;
    assert!(amplification <= 1.2, "amplification {amplification}");
    assert!(run.outcomes.iter().all(|r| matches!(
        r,
        Err(Error::Unavailable(u)) if matches!(u.cause, UnavailableCause::BreakerOpen { .. })
    )));
    // Fails fast: the open breaker answers without waiting out timeouts (generous bound for
    // a debug build on a loaded machine; the benchmark measures the real figure).
    assert!(
        per_check < Duration::from_millis(5),
        "{per_check:?} per check"
    );
}

/// Three checks against `url`: each must fail once, with `kind`, and never be retried.
fn assert_unretried_failures(url: &str, kind: FailureKind) {
    let counter = counting();
    let c = Client::builder(url)
        .partner_id("p")
        .api_key("k")
        .deadline(DEADLINE)
        .attempt_timeout(ATTEMPT)
        .transport(counter.clone())
        .build()
        .unwrap();
    let q = Query::parse("3316094507990001", "Siti Aminah", "1999-07-05").unwrap();
    let run = run_checks(&c, &counter, &q, 3, kind.label().as_ref());
    for r in run.outcomes {
        match r {
            Err(Error::Unavailable(u)) => {
                assert_eq!(u.cause, UnavailableCause::Upstream(kind));
                assert_eq!(u.attempts, 1, "{kind:?} is not retried");
            }
            other => panic!("expected {kind:?}, got {other:?}"),
        }
    }
}

#[test]
fn unresolvable_host_is_a_typed_dns_error() {
    assert_unretried_failures("https://registry.invalid", FailureKind::Dns);
}

/// A loopback TLS server whose self-signed certificate is not in the client's roots.
fn untrusted_tls_server() -> (String, std::thread::JoinHandle<()>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures");
    let certs = vec![CertificateDer::from_pem_file(format!("{dir}/untrusted-cert.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(format!("{dir}/untrusted-key.pem")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        // Serve a bounded number of handshakes, then stop.
        for stream in listener.incoming().take(3) {
            let Ok(mut tcp) = stream else { continue };
            let mut conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
            let _ = tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        }
    });
    (format!("https://localhost:{port}"), handle)
}

#[test]
fn untrusted_certificate_is_a_typed_tls_error() {
    let (url, server) = untrusted_tls_server();
    assert_unretried_failures(&url, FailureKind::Tls);
    server.join().unwrap();
}
