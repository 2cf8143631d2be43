//! Unit tests of the translation layer (the Kotlin suite covers it end to end).

use std::sync::Arc;
use std::time::Duration;

use andal::Transport as _;

use crate::error::AndalError;
use crate::transport::{ForeignTransport, HttpResponse, HttpTransport, TransportError};
use crate::types::{FailureKind, UnavailableReason};
use crate::{guard, parse_nik};

#[test]
fn every_core_error_maps_to_a_structured_variant() {
    use andal::api::ProblemCode;
    let cases: Vec<(andal::Error, &str)> = vec![
        (andal::NikError::Serial.into(), "invalid_input"),
        (
            andal::Error::Config(andal::ConfigError::InsecureHttp),
            "config",
        ),
        (
            andal::Error::Auth {
                status: 401,
                code: ProblemCode::Unauthorized,
            },
            "auth",
        ),
        (andal::Error::Protocol("bad".into()), "protocol"),
    ];
    for (core, code) in cases {
        let ffi = AndalError::from(core);
        assert_eq!(ffi.code(), code, "{ffi:?}");
    }
    match AndalError::from(andal::Error::Auth {
        status: 403,
        code: ProblemCode::Forbidden,
    }) {
        AndalError::Auth { status, code } => {
            assert_eq!((status, code.as_str()), (403, "forbidden"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_nik_never_echoes_the_digits() {
    let err = parse_nik("3316094507990000".into()).unwrap_err();
    assert!(matches!(err, AndalError::InvalidInput { .. }));
    assert!(!err.to_string().contains("3316094507990000"));
    let ok = parse_nik(" 3316094507990001 ".into()).unwrap();
    assert_eq!(ok.masked, "3316**********01");
}

#[test]
fn a_panic_becomes_internal() {
    let r: Result<(), AndalError> = guard("test", || panic!("boom"));
    match r {
        Err(AndalError::Internal { reason }) => assert!(reason.contains("boom")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unavailable_reason_is_structured() {
    let e = AndalError::from(andal::Error::Unavailable(andal_unavailable(
        andal::UnavailableCause::Upstream(andal::FailureKind::HttpStatus(503)),
    )));
    match e {
        AndalError::Unavailable { reason, label, .. } => {
            assert_eq!(label, "http_503");
            assert_eq!(
                reason,
                UnavailableReason::Upstream {
                    failure: FailureKind::HttpStatus { status: 503 }
                }
            );
        }
        other => panic!("{other:?}"),
    }
}

fn andal_unavailable(cause: andal::UnavailableCause) -> andal::Unavailable {
    // `Unavailable` is non-exhaustive: build one through the client's own error path.
    let client = andal::Client::builder("http://127.0.0.1:9")
        .partner_id("p")
        .api_key("k")
        .allow_insecure_http(true)
        .retry_policy(andal::resilience::RetryPolicy::builder().max_attempts(1))
        .transport(Arc::new(Fixed(cause)))
        .build()
        .unwrap();
    let q = andal::Query::parse("3316094507990001", "Siti", "1999-07-05").unwrap();
    match client.verify(&q) {
        Err(andal::Error::Unavailable(u)) => u,
        other => panic!("{other:?}"),
    }
}

/// A core transport failing with the status/kind of a cause (only `Upstream` is used).
#[derive(Debug)]
struct Fixed(andal::UnavailableCause);

impl andal::Transport for Fixed {
    fn send(
        &self,
        _: &andal::HttpRequest,
        _: Duration,
        _: u64,
    ) -> Result<andal::HttpResponse, andal::TransportError> {
        match &self.0 {
            andal::UnavailableCause::Upstream(andal::FailureKind::HttpStatus(s)) => {
                Ok(andal::HttpResponse {
                    status: *s,
                    headers: vec![],
                    body: vec![],
                })
            }
            _ => Err(andal::TransportError::new(andal::FailureKind::Refused, "x")),
        }
    }
}

struct Foreign<F>(F);
impl<F> HttpTransport for Foreign<F>
where
    F: Fn(u64) -> Result<HttpResponse, TransportError> + Send + Sync,
{
    fn send(
        &self,
        _: crate::HttpRequest,
        _: u64,
        max_body: u64,
    ) -> Result<HttpResponse, TransportError> {
        (self.0)(max_body)
    }
}

fn request() -> andal::HttpRequest {
    andal::HttpRequest {
        method: andal::Method::Post,
        url: "http://x/v1/checks".into(),
        headers: vec![("Authorization".into(), "Bearer k".into())],
        body: b"{}".to_vec(),
    }
}

#[test]
fn foreign_transport_adapter_classifies() {
    let ok = ForeignTransport(Arc::new(Foreign(|_| {
        Ok(HttpResponse {
            status: 200,
            headers: vec![],
            body: vec![1, 2, 3],
        })
    })));
    assert_eq!(
        ok.send(&request(), Duration::from_secs(1), 10)
            .unwrap()
            .body,
        vec![1, 2, 3]
    );

    let huge = ForeignTransport(Arc::new(Foreign(|max| {
        Ok(HttpResponse {
            status: 200,
            headers: vec![],
            body: vec![0; max as usize + 1],
        })
    })));
    let e = huge
        .send(&request(), Duration::from_secs(1), 10)
        .unwrap_err();
    assert_eq!(e.kind, andal::FailureKind::TooLarge);

    let refused = ForeignTransport(Arc::new(Foreign(|_| {
        Err(TransportError::Failed {
            kind: FailureKind::Refused,
            detail: "no".into(),
        })
    })));
    let e = refused
        .send(&request(), Duration::from_secs(1), 10)
        .unwrap_err();
    assert_eq!(e.kind, andal::FailureKind::Refused);

    let panics = ForeignTransport(Arc::new(Foreign(|_| panic!("foreign bug"))));
    let e = panics
        .send(&request(), Duration::from_secs(1), 10)
        .unwrap_err();
    assert_eq!(e.kind, andal::FailureKind::Protocol);
}

/// A client of `host` whose every attempt is refused (one attempt per check).
fn refused_client(host: &str) -> Arc<crate::AndalClient> {
    let config = crate::ClientConfig {
        base_url: format!("http://{host}"),
        partner_id: "p".into(),
        allow_insecure_http: true,
        deadline_ms: None,
        attempt_timeout_ms: None,
        max_response_bytes: None,
        max_attempts: Some(1),
        breaker: None,
        count_throttling_as_failure: false,
        offline: None,
    };
    let refused: Arc<dyn HttpTransport> = Arc::new(Foreign(|_| {
        Err(TransportError::Failed {
            kind: FailureKind::Refused,
            detail: "no".into(),
        })
    }));
    crate::AndalClient::new(config, "k".into(), Some(refused), None, None).unwrap()
}

fn query() -> Arc<crate::CheckQuery> {
    crate::CheckQuery::new(
        "3316094507990001".into(),
        "Siti".into(),
        "1999-07-05".into(),
        None,
    )
    .unwrap()
}

#[test]
fn metrics_snapshot_translates_the_core_recorder() {
    use crate::metrics::{MetricKind, metrics_prometheus, metrics_snapshot};
    // A host no other test of this binary uses: its series count this test's checks only.
    let host = "127.0.0.1:7";
    let client = refused_client(host);
    for _ in 0..2 {
        assert!(matches!(
            client.verify(query(), None),
            Err(AndalError::Unavailable { .. })
        ));
    }
    let snap = metrics_snapshot();
    let has = |s: &crate::MetricSample, name: &str, value: &str| {
        s.labels.iter().any(|l| l.name == name && l.value == value)
    };
    let unavailable = snap
        .iter()
        .find(|s| {
            s.name == "andal_checks_total"
                && has(s, "host", host)
                && has(s, "provenance", "none")
                && has(s, "outcome", "unavailable")
        })
        .expect("the check counter of this client");
    assert_eq!(
        (unavailable.kind, unavailable.value),
        (MetricKind::Counter, 2.0)
    );
    let names: Vec<&str> = unavailable.labels.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["host", "outcome", "provenance"], "sorted by name");
    // Every pair exists from the moment the client is built.
    let matched = snap
        .iter()
        .find(|s| {
            s.name == "andal_checks_total" && has(s, "host", host) && has(s, "outcome", "match")
        })
        .unwrap();
    assert_eq!(matched.value, 0.0);
    let duration = snap
        .iter()
        .find(|s| {
            s.name == "andal_check_duration_seconds"
                && has(s, "host", host)
                && has(s, "provenance", "none")
        })
        .unwrap();
    assert_eq!((duration.kind, duration.count), (MetricKind::Histogram, 2));
    let last = duration.buckets.last().unwrap();
    assert!(
        last.upper_bound.is_infinite() && last.count == 2,
        "{last:?}"
    );
    assert_eq!(
        duration.buckets.len(),
        andal::metrics::CHECK_DURATION_BUCKETS.len() + 1
    );

    let text = metrics_prometheus();
    assert!(
        text.contains("# TYPE andal_checks_total counter\n"),
        "{text}"
    );
    assert!(text.contains(&format!(
        "andal_checks_total{{host=\"{host}\",outcome=\"unavailable\",provenance=\"none\"}} 2\n"
    )));
    assert!(!text.contains("3316094507990001") && !text.contains("Siti"));
}

#[test]
fn log_sink_forwards_filtered_events_and_survives_a_failing_sink() {
    use crate::logging::{
        LogLevel, LogRecord, LogSink, LogSinkError, clear_log_sink, set_log_sink,
    };
    use std::sync::Mutex;

    #[derive(Default)]
    struct Capture(Mutex<Vec<LogRecord>>);
    impl LogSink for Capture {
        fn log(&self, record: LogRecord) -> Result<(), LogSinkError> {
            // Logging from inside the sink must not re-enter it (no recursion, no deadlock).
            tracing::warn!(target: "andal::test_bridge", "from inside the sink");
            self.0.lock().unwrap().push(record);
            Ok(())
        }
    }
    // Other tests of this binary log at the same time: keep this test's records only.
    let mine = |c: &Capture, host: &str| -> Vec<LogRecord> {
        let all = c.0.lock().unwrap();
        all.iter()
            .filter(|r| {
                r.target.starts_with("andal::test_bridge")
                    || r.target == "hyper::test_bridge"
                    || r.message.contains(host)
            })
            .cloned()
            .collect()
    };

    let capture = Arc::new(Capture::default());
    set_log_sink(capture.clone(), LogLevel::Info).unwrap();
    // Above the sink's level, `tracing`'s callsite filter refuses the event before any
    // formatting (the global max level this subscriber reports).
    assert!(tracing::event_enabled!(target: "andal::test_bridge", tracing::Level::INFO));
    assert!(!tracing::event_enabled!(target: "andal::test_bridge", tracing::Level::DEBUG));
    tracing::info!(target: "andal::test_bridge", reason = "no_token", "no offline answer");
    tracing::debug!(target: "andal::test_bridge", "below the level");
    // Other crates: warnings and errors only (as in Python's bridge).
    tracing::info!(target: "hyper::test_bridge", "not forwarded");
    tracing::warn!(target: "hyper::test_bridge", "forwarded");
    assert_eq!(
        mine(&capture, "\0"),
        vec![
            LogRecord {
                level: LogLevel::Info,
                target: "andal::test_bridge".into(),
                message: "no offline answer reason=\"no_token\"".into(),
            },
            LogRecord {
                level: LogLevel::Warn,
                target: "hyper::test_bridge".into(),
                message: "forwarded".into(),
            },
        ]
    );

    // A sink that fails or panics loses its record, and checks go on.
    struct Failing;
    impl LogSink for Failing {
        fn log(&self, record: LogRecord) -> Result<(), LogSinkError> {
            if record.level == LogLevel::Warn {
                panic!("sink bug");
            }
            Err(LogSinkError::Failed {
                reason: "full".into(),
            })
        }
    }
    set_log_sink(Arc::new(Failing), LogLevel::Trace).unwrap();
    tracing::warn!(target: "andal::test_bridge", "dropped by a panicking sink");
    tracing::info!(target: "andal::test_bridge", "dropped by a failing sink");
    let client = refused_client("127.0.0.1:6");
    assert!(matches!(
        client.verify(query(), None),
        Err(AndalError::Unavailable { .. })
    ));

    // Back to the capture at debug: a real check's per-attempt event arrives, with its
    // host and failure kind and none of the query's personal data.
    set_log_sink(capture.clone(), LogLevel::Debug).unwrap();
    let host = "127.0.0.1:8";
    assert!(matches!(
        refused_client(host).verify(query(), None),
        Err(AndalError::Unavailable { .. })
    ));
    let got = mine(&capture, host);
    let failed = got
        .iter()
        .find(|r| r.message.starts_with("attempt failed") && r.message.contains(host))
        .unwrap_or_else(|| panic!("{got:?}"));
    assert_eq!(
        (failed.level, failed.target.as_str()),
        (LogLevel::Debug, "andal::client")
    );
    assert!(failed.message.contains("failure=refused"), "{failed:?}");
    for r in &got {
        assert!(
            !r.message.contains("3316094507990001") && !r.message.contains("Siti"),
            "{r:?}"
        );
    }

    // Cleared: nothing more reaches the sink, and nothing is enabled any more.
    clear_log_sink();
    let before = mine(&capture, host).len();
    assert!(!tracing::event_enabled!(target: "andal::test_bridge", tracing::Level::ERROR));
    tracing::error!(target: "andal::test_bridge", "after clear");
    assert_eq!(mine(&capture, host).len(), before);
}
