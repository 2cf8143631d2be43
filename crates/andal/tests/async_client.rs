//! The async client: against the sandbox on loopback through the default hyper transport
//! (the same answers and typed errors as the blocking client), and cancellation with a
//! scripted transport on a `ManualClock` (a dropped check releases its breaker permit and
//! counts as cancelled).
#![cfg(feature = "tokio")]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use andal::resilience::{BreakerConfig, BreakerState, ManualClock, RetryPolicy, SharedClock};
use andal::transport::SendFuture;
use andal::{
    AsyncTransport, Client, Error, FailureKind, HttpRequest, Provenance, Query, TransportError,
    UnavailableCause, Verdict,
};
use andal_sandbox::{DEMO_BANK_KEY, DEMO_BANK_PARTNER, Fault, SandboxConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_transport_against_the_sandbox() {
    let sb = andal_sandbox::start(SandboxConfig::default().seed(11).people(2_000)).unwrap();
    let client = Client::builder(sb.url())
        .partner_id(DEMO_BANK_PARTNER)
        .api_key(DEMO_BANK_KEY)
        .allow_insecure_http(true)
        .deadline(Duration::from_secs(2))
        .attempt_timeout(Duration::from_millis(700))
        .retry_policy(RetryPolicy::builder().seed(1))
        .build_async()
        .unwrap();
    let p = &sb.sample(1)[0];
    let q = Query::parse(&p.nik, &p.full_name, &p.birth_date).unwrap();
    let d = client.verify(&q).await.unwrap();
    assert_eq!(d.verdict, Verdict::Match);
    assert!(matches!(
        d.provenance,
        Provenance::Online { attempts: 1, .. }
    ));

    // Many at once on two workers, no thread per call.
    let checks = (0..200).map(|_| {
        let (c, q) = (client.clone(), q.clone());
        tokio::spawn(async move { c.verify(&q).await })
    });
    for h in checks {
        assert_eq!(h.await.unwrap().unwrap().verdict, Verdict::Match);
    }

    // Wrong key: the same typed error as the blocking client.
    let bad = Client::builder(sb.url())
        .partner_id(DEMO_BANK_PARTNER)
        .api_key("wrong")
        .allow_insecure_http(true)
        .build_async()
        .unwrap();
    assert!(matches!(
        bad.verify(&q).await,
        Err(Error::Auth { status: 401, .. })
    ));

    // A hang: the attempt timeout of the transport, then the deadline.
    sb.set_fault(Fault::Hang);
    let started = std::time::Instant::now();
    match client.verify(&q).await {
        Err(Error::Unavailable(u)) => {
            assert_eq!(u.last_failure, Some(FailureKind::ReadTimeout), "{u:?}")
        }
        other => panic!("expected unavailable, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_millis(2_300));

    // Refused connections.
    sb.set_fault(Fault::Down);
    match client.verify(&q).await {
        Err(Error::Unavailable(u)) => assert_eq!(u.last_failure, Some(FailureKind::Refused)),
        other => panic!("expected unavailable, got {other:?}"),
    }
    sb.clear_fault();
    assert_eq!(client.outage_report().totals.checks.cancelled, 0);
}

/// A transport that refuses connections while `refuse` is set, and otherwise never
/// answers (until its future is dropped).
#[derive(Debug, Default)]
struct RefuseThenNever {
    refuse: AtomicBool,
}

impl AsyncTransport for RefuseThenNever {
    fn send<'a>(&'a self, _: &'a HttpRequest, _: Duration, _: u64) -> SendFuture<'a> {
        if self.refuse.load(Ordering::SeqCst) {
            Box::pin(std::future::ready(Err(TransportError::new(
                FailureKind::Refused,
                "scripted",
            ))))
        } else {
            Box::pin(std::future::pending())
        }
    }
}

fn poll_once<F: Future>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn a_dropped_check_releases_its_half_open_slot_and_counts_as_cancelled() {
    let manual = Arc::new(ManualClock::new());
    let clock: SharedClock = manual.clone();
    let transport = Arc::new(RefuseThenNever {
        refuse: AtomicBool::new(true),
    });
    let client = Client::builder("https://registry.example")
        .partner_id("bank-a")
        .api_key("k")
        .clock(clock)
        .timer(manual.clone())
        .async_transport(transport.clone())
        .retry_policy(RetryPolicy::builder().max_attempts(1))
        .adaptive_throttle(None)
        .breaker_config(
            BreakerConfig::builder_for_attempt_timeout(Duration::from_secs(2))
                .count_window(4)
                .minimum_number_of_calls(2)
                .failure_rate_threshold(50.0)
                .wait_duration_in_open(Duration::from_secs(1))
                .fixed_open_wait()
                .recovery_probe_interval(None)
                .permitted_calls_in_half_open(1)
                .build()
                .unwrap(),
        )
        .build_async()
        .unwrap();
    let q = Query::parse("3316094507990001", "Siti Aminah", "1999-07-05").unwrap();

    // Trip the breaker (refused connections decide at once).
    for _ in 0..2 {
        let mut f = Box::pin(client.verify(&q));
        assert!(matches!(
            poll_once(f.as_mut()),
            Poll::Ready(Err(Error::Unavailable(_)))
        ));
    }
    assert_eq!(client.breaker().state(), BreakerState::Open);
    let mut f = Box::pin(client.verify(&q));
    match poll_once(f.as_mut()) {
        Poll::Ready(Err(Error::Unavailable(u))) => {
            assert!(
                matches!(u.cause, UnavailableCause::BreakerOpen { .. }),
                "{u:?}"
            )
        }
        other => panic!("expected an immediate refusal, got {other:?}"),
    }
    drop(f);

    // Half-open with one slot: each check takes it, hangs, and is dropped; the next one
    // must get the slot again (else it would be refused at once).
    manual.advance(Duration::from_secs(1));
    transport.refuse.store(false, Ordering::SeqCst);
    for _ in 0..3 {
        let mut f = Box::pin(client.verify(&q));
        assert!(poll_once(f.as_mut()).is_pending());
        assert_eq!(client.breaker().state(), BreakerState::HalfOpen);
        drop(f);
    }
    let checks = client.outage_report().totals.checks;
    assert_eq!(checks.cancelled, 3);
    assert_eq!(checks.refused, 3);
    assert_eq!(checks.total(), 3, "cancelled checks are not in the total");
}

/// The sandbox fault matrix through the default hyper transport: each fault is decided
/// within the deadline and classified as the blocking (ureq) transport classifies it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_transport_classifies_the_fault_matrix_like_ureq() {
    const DEADLINE: Duration = Duration::from_millis(1500);
    let sb = andal_sandbox::start(SandboxConfig::default().seed(12).people(2_000)).unwrap();
    let p = &sb.sample(1)[0];
    let q = Query::parse(&p.nik, &p.full_name, &p.birth_date).unwrap();
    let faults: Vec<(Fault, FailureKind)> = vec![
        (Fault::Down, FailureKind::Refused),
        (Fault::Hang, FailureKind::ReadTimeout),
        (
            Fault::Error {
                status: 503,
                rate: 1.0,
            },
            FailureKind::HttpStatus(503),
        ),
        (
            Fault::Throttle {
                retry_after_secs: 5,
            },
            FailureKind::Throttled,
        ),
        (Fault::ResetMidBody, FailureKind::Reset),
        (Fault::MalformedJson, FailureKind::Malformed),
        (
            Fault::Oversized {
                bytes: 2 * 1024 * 1024,
            },
            FailureKind::TooLarge,
        ),
    ];
    for (fault, expected) in faults {
        // A fresh client per fault: the previous fault's breaker would refuse at once.
        let client = Client::builder(sb.url())
            .partner_id(DEMO_BANK_PARTNER)
            .api_key(DEMO_BANK_KEY)
            .allow_insecure_http(true)
            .deadline(DEADLINE)
            .attempt_timeout(Duration::from_millis(500))
            .retry_policy(RetryPolicy::builder().seed(2))
            .build_async()
            .unwrap();
        sb.set_fault(fault.clone());
        let started = std::time::Instant::now();
        let r = client.verify(&q).await;
        let took = started.elapsed();
        sb.clear_fault();
        match r {
            Err(Error::Unavailable(u)) => {
                assert_eq!(u.last_failure, Some(expected), "{fault:?}: {u:?}")
            }
            other => panic!("{fault:?}: expected unavailable, got {other:?}"),
        }
        assert!(
            took <= DEADLINE + Duration::from_millis(250),
            "{fault:?}: {took:?}"
        );
        assert!(client.verify(&q).await.is_ok(), "{fault:?}: no recovery");
    }
    // Unresolvable host: a DNS failure, not retried.
    let dns = Client::builder("https://registry.invalid")
        .partner_id("p")
        .api_key("k")
        .build_async()
        .unwrap();
    match dns.verify(&q).await {
        Err(Error::Unavailable(u)) => {
            assert_eq!(
                u.cause,
                UnavailableCause::Upstream(FailureKind::Dns),
                "{u:?}"
            );
            assert_eq!(u.attempts, 1);
        }
        other => panic!("expected a DNS failure, got {other:?}"),
    }
}
