mod common;

use std::io::Read;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use andal::api::{CheckResponse, ProblemCode};
use andal_sandbox::{DEMO_BANK_KEY, Fault, SandboxConfig};
use common::*;

const SHORT: Duration = Duration::from_millis(200);

fn refused(addr: std::net::SocketAddr) -> bool {
    match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
        Err(e) => {
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");
            true
        }
        Ok(_) => false,
    }
}

#[test]
fn down_refuses_connections_and_recovers_on_the_same_port() {
    let sb = sandbox();
    let addr = sb.addr();
    // An open keep-alive connection, idle.
    let mut idle = connect(addr, Duration::from_secs(2)).unwrap();
    write_request(&mut idle, "GET", "/v1/health", &[], b"", false).unwrap();
    assert_eq!(read_response(&mut idle).unwrap().status, 200);

    sb.set_fault(Fault::Down);
    assert!(refused(addr));
    assert!(refused(addr));
    // The existing connection was closed too.
    let mut buf = [0u8; 16];
    match idle.read(&mut buf) {
        Ok(0) | Err(_) => {}
        Ok(n) => panic!("read {n} bytes from a closed connection"),
    }
    // The library still works while down.
    assert_eq!(sb.sample(1).len(), 1);

    sb.clear_fault();
    assert_eq!(sb.addr(), addr);
    assert_eq!(get(addr, "/v1/health").status, 200);
    let p = &sb.sample(1)[0];
    assert_eq!(check(addr, "after-down", &body_of(p)).status, 200);
    // Down-refused connections are not counted.
    assert_eq!(sb.accounting().connections_accepted, 3);
}

#[test]
fn down_through_the_admin_endpoint() {
    let sb = sandbox();
    let r = request(
        sb.addr(),
        "PUT",
        "/admin/fault",
        &[("Content-Type", "application/json")],
        br#"{"kind":"down"}"#,
    )
    .unwrap();
    assert_eq!(r.status, 200);
    // The admin answer was sent before the listener closed; give the switch a moment.
    let deadline = Instant::now() + Duration::from_secs(2);
    while !refused(sb.addr()) {
        assert!(Instant::now() < deadline, "still accepting");
        std::thread::sleep(Duration::from_millis(5));
    }
    sb.clear_fault();
    assert_eq!(get(sb.addr(), "/v1/health").status, 200);
}

#[test]
fn once_a_down_switch_is_answered_no_request_is_served() {
    // The admin answers a `down` before it closes the listener (the switch cuts its own
    // connection). A caller that sends its next request the instant it reads that answer,
    // on a connection accepted before the switch, must still meet a dead registry: no
    // answer. (Python's breaker test saw a check served here under load.)
    let sb = sandbox();
    let addr = sb.addr();
    let mut early = connect(addr, Duration::from_secs(2)).unwrap();
    write_request(&mut early, "GET", "/v1/health", &[], b"", false).unwrap();
    assert_eq!(read_response(&mut early).unwrap().status, 200);
    let r = request(
        addr,
        "PUT",
        "/admin/fault",
        &[("Content-Type", "application/json")],
        br#"{"kind":"down"}"#,
    )
    .unwrap();
    assert_eq!(r.status, 200);
    // Writing may already fail (connection closed); either way nothing may come back.
    let _ = write_request(&mut early, "GET", "/v1/health", &[], b"", false);
    if let Ok(resp) = read_response(&mut early) {
        panic!("served {} after the down switch was answered", resp.status);
    }
    sb.clear_fault();
    assert_eq!(get(addr, "/v1/health").status, 200);
}

#[test]
fn hang_times_out_client_side_and_closes_when_cleared() {
    let sb = Arc::new(sandbox());
    sb.set_fault(Fault::Hang);
    let p = &sb.sample(1)[0];
    let mut s = connect(sb.addr(), SHORT).unwrap();
    let body = serde_json::to_vec(&body_of(p)).unwrap();
    let auth = format!("Bearer {DEMO_BANK_KEY}");
    write_request(
        &mut s,
        "POST",
        "/v1/checks",
        &[
            ("Authorization", &auth),
            ("Idempotency-Key", "hang-1"),
            ("Content-Type", "application/json"),
        ],
        &body,
        false,
    )
    .unwrap();
    let started = Instant::now();
    let err = read_response(&mut s).unwrap_err();
    assert!(is_timeout(&err), "{err}");
    assert!(started.elapsed() >= SHORT);
    // Hung requests are counted; nothing charged, no response.
    let acc = sb.accounting();
    assert_eq!(acc.partner("demo-bank").requests_received, 1);
    assert_eq!(acc.partner("demo-bank").accesses_charged, 0);
    assert!(acc.partner("demo-bank").responses_by_status.is_empty());
    assert_eq!(acc.faulted_requests, 1);
    // Admin endpoints are not affected.
    assert_eq!(get(sb.addr(), "/admin/accounting").status, 200);
    // Clearing closes the hung connection without an answer.
    sb.clear_fault();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) | Err(_) => {}
        Ok(n) => panic!("hung request answered with {n} bytes"),
    }
    assert_eq!(check(sb.addr(), "hang-1", &body_of(p)).status, 200);
}

#[test]
fn stop_releases_hung_requests() {
    let sb = sandbox();
    sb.set_fault(Fault::Hang);
    let mut s = connect(sb.addr(), Duration::from_secs(3)).unwrap();
    write_request(&mut s, "GET", "/v1/health", &[], b"", false).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let started = Instant::now();
    sb.stop();
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => {}
        Err(e) => assert!(!is_timeout(&e), "{e}"),
        Ok(n) => panic!("answered with {n} bytes"),
    }
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(refused(sb.addr()));
    sb.stop(); // idempotent
}

#[test]
fn slow_adds_latency() {
    let sb = sandbox();
    sb.set_fault(Fault::Slow { latency_ms: 150 });
    let t = Instant::now();
    assert_eq!(get(sb.addr(), "/v1/health").status, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(150),
        "{:?}",
        t.elapsed()
    );
    // Admin is not slowed.
    let t = Instant::now();
    assert_eq!(get(sb.addr(), "/admin/accounting").status, 200);
    assert!(t.elapsed() < Duration::from_millis(150));
    // A client with a shorter timeout gives up.
    let err = request_timeout(
        sb.addr(),
        "GET",
        "/v1/health",
        &[],
        b"",
        Duration::from_millis(50),
    )
    .unwrap_err();
    assert!(is_timeout(&err));
    sb.clear_fault();
    let t = Instant::now();
    assert_eq!(get(sb.addr(), "/v1/health").status, 200);
    assert!(t.elapsed() < Duration::from_millis(150));
}

#[test]
fn error_fault_answers_5xx_at_the_configured_rate() {
    let sb = sandbox();
    let p = &sb.sample(1)[0];
    sb.set_fault(Fault::Error {
        status: 503,
        rate: 1.0,
    });
    let r = check(sb.addr(), "e-1", &body_of(p));
    assert_eq!(r.status, 503);
    assert_eq!(r.problem().code, ProblemCode::Unavailable);
    assert_eq!(get(sb.addr(), "/v1/health").status, 503);
    sb.set_fault(Fault::Error {
        status: 500,
        rate: 1.0,
    });
    assert_eq!(
        check(sb.addr(), "e-1", &body_of(p)).problem().code,
        ProblemCode::Internal
    );
    sb.set_fault(Fault::Error {
        status: 502,
        rate: 0.0,
    });
    assert_eq!(check(sb.addr(), "e-1", &body_of(p)).status, 200);

    let failures = |sb: &andal_sandbox::Sandbox| -> Vec<u16> {
        sb.set_fault(Fault::Error {
            status: 504,
            rate: 0.5,
        });
        (0..100)
            .map(|_| get(sb.addr(), "/v1/health").status)
            .collect()
    };
    let first = failures(&sb);
    let n = first.iter().filter(|&&s| s == 504).count();
    assert!((25..=75).contains(&n), "{n} failures of 100");
    // Same seed, same sequence.
    let other = sandbox();
    assert_eq!(failures(&other), first);

    let acc = sb.accounting().partner("demo-bank");
    assert_eq!(acc.requests_received, 3);
    assert_eq!(acc.accesses_charged, 1);
    assert_eq!(acc.responses_by_status.get(&503), Some(&1));
    assert_eq!(acc.responses_by_status.get(&500), Some(&1));
    // Out-of-range parameters from the library are clamped.
    sb.set_fault(Fault::Error {
        status: 200,
        rate: 7.0,
    });
    assert_eq!(
        sb.fault(),
        Some(Fault::Error {
            status: 500,
            rate: 1.0
        })
    );
}

#[test]
fn throttle_sends_429_with_retry_after() {
    let sb = sandbox();
    sb.set_fault(Fault::Throttle {
        retry_after_secs: 7,
    });
    let r = check(sb.addr(), "t-1", &body_of(&sb.sample(1)[0]));
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(r.problem().code, ProblemCode::RateLimited);
    // Admin is not throttled.
    assert_eq!(get(sb.addr(), "/admin/sample?n=1").status, 200);
    let acc = sb.accounting();
    assert_eq!(acc.partner("demo-bank").requests_received, 1);
    assert_eq!(
        acc.partner("demo-bank").responses_by_status.get(&429),
        Some(&1)
    );
    assert_eq!(acc.faulted_requests, 1);
}

#[test]
fn reset_mid_body_breaks_the_read_but_the_check_is_charged_once() {
    let sb = sandbox();
    let p = &sb.sample(1)[0];
    sb.set_fault(Fault::ResetMidBody);
    let mut s = connect(sb.addr(), Duration::from_secs(2)).unwrap();
    let body = serde_json::to_vec(&body_of(p)).unwrap();
    let auth = format!("Bearer {DEMO_BANK_KEY}");
    write_request(
        &mut s,
        "POST",
        "/v1/checks",
        &[
            ("Authorization", &auth),
            ("Idempotency-Key", "reset-1"),
            ("Content-Type", "application/json"),
        ],
        &body,
        false,
    )
    .unwrap();
    let err = read_response(&mut s).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
        ),
        "{err}"
    );
    // A real client fails too.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(2)))
        .build()
        .into();
    let result = agent
        .post(format!("{}/v1/checks", sb.url()))
        .header("Authorization", &auth)
        .header("Idempotency-Key", "reset-1")
        .header("Content-Type", "application/json")
        .send(&body[..])
        .and_then(|mut r| r.body_mut().read_to_string());
    assert!(result.is_err(), "{result:?}");
    // The registry did the work: the retry with the same key is a replay, charged once.
    sb.clear_fault();
    let r = check(sb.addr(), "reset-1", &body_of(p));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("idempotent-replayed"), Some("true"));
    let acc = sb.accounting().partner("demo-bank");
    assert_eq!(acc.requests_received, 3);
    assert_eq!(acc.accesses_charged, 1);
}

#[test]
fn malformed_json_is_a_200_that_does_not_parse() {
    let sb = sandbox();
    sb.set_fault(Fault::MalformedJson);
    let r = check(sb.addr(), "mal-1", &body_of(&sb.sample(1)[0]));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(serde_json::from_slice::<CheckResponse>(&r.body).is_err());
    assert!(serde_json::from_slice::<serde_json::Value>(&r.body).is_err());
    assert_eq!(sb.accounting().partner("demo-bank").accesses_charged, 0);
}

#[test]
fn oversized_body_is_streamed_in_full() {
    let sb = sandbox();
    let bytes = 3 * 1024 * 1024 + 17;
    sb.set_fault(Fault::Oversized { bytes });
    let r = check(sb.addr(), "big-1", &body_of(&sb.sample(1)[0]));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some(bytes.to_string().as_str()));
    assert_eq!(r.body.len() as u64, bytes);
    assert!(r.body.starts_with(br#"{"padding":"xxx"#));
    // A client that stops reading early does not break the sandbox.
    let mut s = connect(sb.addr(), Duration::from_secs(2)).unwrap();
    write_request(&mut s, "GET", "/v1/health", &[], b"", true).unwrap();
    let mut buf = [0u8; 1024];
    assert!(s.read(&mut buf).unwrap() > 0);
    drop(s);
    sb.clear_fault();
    assert_eq!(get(sb.addr(), "/v1/health").status, 200);
}

#[test]
fn flapping_alternates_between_refusing_and_serving() {
    let sb = sandbox();
    sb.set_fault(Fault::Flapping {
        down_ms: 120,
        up_ms: 120,
    });
    let started = Instant::now();
    let mut states = Vec::new();
    while started.elapsed() < Duration::from_millis(1000) {
        let up = match TcpStream::connect_timeout(&sb.addr(), Duration::from_millis(100)) {
            Ok(mut s) => {
                s.set_read_timeout(Some(Duration::from_millis(300)))
                    .unwrap();
                write_request(&mut s, "GET", "/v1/health", &[], b"", true).is_ok()
                    && read_response(&mut s).is_ok_and(|r| r.status == 200)
            }
            Err(_) => false,
        };
        if states.last() != Some(&up) {
            states.push(up);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // Starts down, then up, down, up...
    assert_eq!(states.first(), Some(&false), "{states:?}");
    assert!(states.len() >= 4, "transitions: {states:?}");
    sb.clear_fault();
    assert_eq!(get(sb.addr(), "/v1/health").status, 200);
}

#[test]
fn faults_apply_to_v1_only_and_are_counted() {
    let sb = sandbox_with(SandboxConfig::default());
    sb.set_fault(Fault::Error {
        status: 503,
        rate: 1.0,
    });
    let p = &sb.sample(1)[0];
    for i in 0..5 {
        assert_eq!(
            check(sb.addr(), &format!("amp-{i}"), &body_of(p)).status,
            503
        );
    }
    assert_eq!(get(sb.addr(), "/admin/sample?n=1").status, 200);
    assert_eq!(get(sb.addr(), "/admin/fault").status, 200);
    let acc = sb.accounting();
    assert_eq!(acc.check_requests, 5);
    assert_eq!(acc.faulted_requests, 5);
    assert_eq!(acc.partner("demo-bank").requests_received, 5);
    assert_eq!(acc.partner("demo-bank").accesses_charged, 0);
}
