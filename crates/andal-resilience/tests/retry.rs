//! Retry schedule composed with Retry-After parsing, the deadline and the budget.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use andal_resilience::*;

fn clock() -> (Arc<ManualClock>, SharedClock) {
    let m = Arc::new(ManualClock::starting_at(
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480), // Wed, 21 Oct 2015 07:28:00 GMT
    ));
    let c: SharedClock = m.clone();
    (m, c)
}

#[test]
fn retry_after_seconds_and_http_date_are_obeyed() {
    let (m, c) = clock();
    let policy = RetryPolicy::builder().seed(3).build().unwrap();
    let deadline = Deadline::after(&c, Duration::from_secs(5));
    let mut s = policy.schedule();

    let ra = parse_retry_after("1", c.wall());
    let RetryDecision::Retry { after } =
        s.next_retry(&FailureKind::Throttled, ra, deadline.remaining())
    else {
        panic!("should retry")
    };
    assert_eq!(
        after,
        Duration::from_secs(1),
        "jitter <= 100 ms, Retry-After wins"
    );
    c.sleep(after);

    let ra = parse_retry_after("Wed, 21 Oct 2015 07:28:03 GMT", c.wall());
    assert_eq!(ra, Some(Duration::from_secs(2)));
    let RetryDecision::Retry { after } =
        s.next_retry(&FailureKind::HttpStatus(503), ra, deadline.remaining())
    else {
        panic!("should retry")
    };
    assert_eq!(after, Duration::from_secs(2));
    c.sleep(after);
    assert_eq!(m.total_slept(), Duration::from_secs(3));
}

#[test]
fn retry_after_beyond_deadline_stops_now() {
    let (_m, c) = clock();
    let policy = RetryPolicy::builder().seed(3).build().unwrap();
    let deadline = Deadline::after(&c, Duration::from_secs(5));
    let mut s = policy.schedule();
    let ra = parse_retry_after("Wed, 21 Oct 2015 07:29:00 GMT", c.wall());
    assert_eq!(
        s.next_retry(&FailureKind::Throttled, ra, deadline.remaining()),
        RetryDecision::Stop(StopReason::DeadlineWouldPass)
    );
}

#[test]
fn deadline_cuts_retries_off() {
    // Every attempt hangs until its 2 s timeout: the 5 s deadline allows 2 attempts,
    // the third would not fit (delay + 200 ms minimal attempt > remaining).
    let (m, c) = clock();
    let rec = Arc::new(RecordingListener::new());
    let policy = RetryPolicy::builder()
        .max_attempts(10)
        .seed(11)
        .listener(rec.clone())
        .build()
        .unwrap();
    let deadline = Deadline::after(&c, Duration::from_secs(5));
    let mut s = policy.schedule();
    let mut attempts = 0;
    let stop = loop {
        let Some(t) = deadline.attempt_timeout(Duration::from_secs(2), Duration::from_millis(200))
        else {
            break StopReason::DeadlineWouldPass;
        };
        attempts += 1;
        m.advance(t);
        match s.next_retry(&FailureKind::ReadTimeout, None, deadline.remaining()) {
            RetryDecision::Retry { after } => {
                s.retry_sent(after, &FailureKind::ReadTimeout);
                c.sleep(after)
            }
            RetryDecision::Stop(r) => break r,
        }
    };
    assert_eq!(stop, StopReason::DeadlineWouldPass);
    assert!(attempts <= 3, "{attempts}");
    assert!(deadline.elapsed() <= Duration::from_secs(5));
    let scheduled = rec
        .events()
        .iter()
        .filter(|e| matches!(e, ResilienceEvent::RetryScheduled { .. }))
        .count();
    assert_eq!(scheduled, attempts - 1);
    assert!(matches!(
        rec.events().last(),
        Some(ResilienceEvent::RetryStopped { .. }) | Some(ResilienceEvent::RetryScheduled { .. })
    ));
}

#[test]
fn not_retryable_stops_immediately() {
    let policy = RetryPolicy::builder().seed(1).build().unwrap();
    for k in [
        FailureKind::Tls,
        FailureKind::Dns,
        FailureKind::Malformed,
        FailureKind::HttpStatus(401),
        FailureKind::HttpStatus(413),
    ] {
        let mut s = policy.schedule();
        assert_eq!(
            s.next_retry(&k, Some(Duration::from_millis(1)), Duration::from_secs(5)),
            RetryDecision::Stop(StopReason::NotRetryable)
        );
        assert_eq!(s.attempts(), 1);
    }
}

#[test]
fn budget_stops_a_retry_storm() {
    // 100 checks against a dead registry, all failing with 503: without a budget that is
    // 300 calls; with the default budget (40% + 1/s floor) retries stay bounded.
    let (_m, c) = clock();
    let budget = RetryBudget::new(RetryBudgetConfig::default(), &c).unwrap();
    let policy = RetryPolicy::builder().seed(5).build().unwrap();
    let mut calls = 0;
    for _ in 0..100 {
        let mut s = policy.schedule();
        budget.record_request();
        calls += 1;
        while let RetryDecision::Retry { .. } =
            s.next_retry(&FailureKind::HttpStatus(503), None, Duration::from_secs(5))
        {
            if !budget.try_withdraw() {
                break;
            }
            calls += 1;
        }
    }
    // Default ratio is 0.4 since issue 10 (was 0.1: 100 + 10 + 10).
    assert_eq!(
        calls,
        100 + 40 + 10,
        "first attempts + 40% + 10 s x 1/s floor"
    );
}
