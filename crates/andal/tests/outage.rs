//! Outage record: deterministic tests with a manual clock; no network.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use andal::outage::{
    CheckOutcome, FORMAT_VERSION, IncidentId, IncidentRef, IncidentTrigger, OutageConfig,
    OutageRecorder, OutageReport, ReconcileError, ReconciliationOutcome, ReportFormatError,
};
use andal::resilience::{
    BreakerConfig, BreakerState, CallOutcome, CircuitBreaker, EventListener, FailureKind,
    ManualClock, ResilienceEvent, SharedClock,
};

fn setup(config: OutageConfig) -> (Arc<ManualClock>, OutageRecorder) {
    let manual = Arc::new(ManualClock::new());
    let clock: SharedClock = manual.clone();
    (manual, OutageRecorder::new(clock, config))
}

fn transition(rec: &OutageRecorder, from: BreakerState, to: BreakerState) {
    rec.on_event(&ResilienceEvent::StateTransition {
        breaker: Arc::from("registry.example"),
        from,
        to,
    });
}

fn rejection(rec: &OutageRecorder) {
    rec.on_event(&ResilienceEvent::CallRejected {
        breaker: Arc::from("registry.example"),
        state: BreakerState::Open,
        retry_after: Some(Duration::from_secs(10)),
    });
}

const S: Duration = Duration::from_secs(1);

#[test]
fn incident_opens_on_breaker_trip_and_closes_on_recovery_with_exact_duration() {
    let (clock, rec) = setup(OutageConfig::default());
    rec.record_check(CheckOutcome::Online);
    clock.advance(Duration::from_millis(2500));
    // Failures that trip the breaker, before any incident is open.
    rec.record_attempt_failure(&FailureKind::HttpStatus(503));
    rec.record_attempt_failure(&FailureKind::HttpStatus(503));
    transition(&rec, BreakerState::Closed, BreakerState::Open);
    let id = rec.current_incident().expect("incident opened by the trip");
    assert_eq!(id, IncidentId(1));
    // Open for 90.25 s, then half-open, probe succeeds, closed.
    clock.advance(Duration::from_millis(90_250));
    transition(&rec, BreakerState::Open, BreakerState::HalfOpen);
    transition(&rec, BreakerState::HalfOpen, BreakerState::Closed);
    assert_eq!(rec.record_check(CheckOutcome::Online), Some(id));
    assert_eq!(rec.current_incident(), None);
    // Later checks are outside the incident.
    clock.advance(S);
    assert_eq!(rec.record_check(CheckOutcome::Online), None);

    let r = rec.report();
    assert_eq!(r.incidents.len(), 1);
    let i = &r.incidents[0];
    assert_eq!(i.opened_by, IncidentTrigger::BreakerOpen);
    assert_eq!(i.duration_ms, 90_250);
    assert_eq!(i.started_at, "2023-11-14T22:13:22.500Z");
    assert_eq!(i.ended_at.as_deref(), Some("2023-11-14T22:14:52.750Z"));
    assert!(!i.ongoing);
    assert_eq!(i.breaker_transitions, 3);
    assert_eq!(i.causes.get("http_503"), Some(&2));
    assert_eq!(i.checks.online, 1);
    assert_eq!(r.totals.incidents, 1);
    assert_eq!(r.totals.incident_time_ms, 90_250);
    assert_eq!(r.totals.checks.online, 3);
    assert_eq!(r.current.breaker, BreakerState::Closed);
    assert_eq!(r.current.open_incident, None);
}

#[test]
fn half_open_success_does_not_close_until_breaker_closed() {
    let (clock, rec) = setup(OutageConfig::default());
    transition(&rec, BreakerState::Closed, BreakerState::Open);
    clock.advance(10 * S);
    transition(&rec, BreakerState::Open, BreakerState::HalfOpen);
    // A probe succeeds but the breaker still needs more probes.
    assert_eq!(rec.record_check(CheckOutcome::Online), Some(IncidentId(1)));
    assert_eq!(rec.current_incident(), Some(IncidentId(1)));
    clock.advance(S);
    transition(&rec, BreakerState::HalfOpen, BreakerState::Closed);
    rec.record_check(CheckOutcome::Online);
    let r = rec.report();
    assert_eq!(r.incidents[0].duration_ms, 11_000);
    assert_eq!(r.incidents[0].checks.online, 2);
}

#[test]
fn a_refused_check_opens_an_incident_without_a_breaker_trip() {
    let (clock, rec) = setup(OutageConfig::default());
    rec.record_attempt_failure(&FailureKind::ConnectTimeout);
    rec.record_attempt_failure(&FailureKind::ReadTimeout);
    let id = rec.record_check(CheckOutcome::Refused).unwrap();
    clock.advance(Duration::from_millis(1200));
    rec.record_check(CheckOutcome::Online);
    let r = rec.report();
    let i = &r.incidents[0];
    assert_eq!(i.id, id);
    assert_eq!(i.opened_by, IncidentTrigger::FailedCheck);
    assert_eq!(i.duration_ms, 1200);
    assert_eq!(i.causes.get("connect_timeout"), Some(&1));
    assert_eq!(i.causes.get("read_timeout"), Some(&1));
    assert_eq!(i.checks.refused, 1);
}

#[test]
fn transient_failures_recovered_by_retry_are_not_an_incident() {
    let (_clock, rec) = setup(OutageConfig::default());
    rec.record_attempt_failure(&FailureKind::Reset);
    assert_eq!(rec.record_check(CheckOutcome::Online), None);
    rec.record_check(CheckOutcome::Rejected);
    // A later incident does not inherit failures from before the last online success.
    rec.record_attempt_failure(&FailureKind::Refused);
    rec.record_check(CheckOutcome::Refused);
    let r = rec.report();
    assert_eq!(r.totals.incidents, 1);
    assert_eq!(r.totals.attempt_failures.get("reset"), Some(&1));
    assert_eq!(r.incidents[0].causes.get("reset"), None);
    assert_eq!(r.incidents[0].causes.get("refused"), Some(&1));
    assert_eq!(r.totals.checks.rejected, 1);
}

#[test]
fn cause_counts_cover_every_class() {
    let (_clock, rec) = setup(OutageConfig::default());
    transition(&rec, BreakerState::Closed, BreakerState::Open);
    let kinds = [
        FailureKind::Refused,
        FailureKind::Dns,
        FailureKind::ConnectTimeout,
        FailureKind::ReadTimeout,
        FailureKind::Tls,
        FailureKind::Reset,
        FailureKind::HttpStatus(500),
        FailureKind::HttpStatus(503),
        FailureKind::HttpStatus(503),
        FailureKind::Throttled,
        FailureKind::Malformed,
        FailureKind::Protocol,
        FailureKind::TooLarge,
        FailureKind::DeadlineExceeded,
    ];
    for k in &kinds {
        rec.record_attempt_failure(k);
    }
    let r = rec.report();
    let c = &r.incidents[0].causes;
    for label in [
        "refused",
        "dns",
        "connect_timeout",
        "read_timeout",
        "tls",
        "reset",
        "http_500",
        "throttled",
        "malformed",
        "protocol",
        "too_large",
        "deadline_exceeded",
    ] {
        assert_eq!(c.get(label), Some(&1), "{label}");
    }
    assert_eq!(c.get("http_503"), Some(&2));
    assert_eq!(c.values().sum::<u64>(), kinds.len() as u64);
    assert_eq!(r.totals.attempt_failures, *c);
}

#[test]
fn offline_and_refused_counts_and_breaker_rejections_during_incident() {
    let (clock, rec) = setup(OutageConfig::default());
    rec.record_check(CheckOutcome::Online);
    transition(&rec, BreakerState::Closed, BreakerState::Open);
    for n in 0..10 {
        clock.advance(Duration::from_millis(300));
        rejection(&rec);
        let outcome = if n % 3 == 0 {
            CheckOutcome::Refused
        } else {
            CheckOutcome::Offline
        };
        assert_eq!(rec.record_check(outcome), Some(IncidentId(1)));
    }
    let r = rec.report();
    let i = &r.incidents[0];
    assert!(i.ongoing);
    assert_eq!(i.ended_at, None);
    assert_eq!(i.duration_ms, 3000);
    assert_eq!(i.checks.offline, 6);
    assert_eq!(i.checks.refused, 4);
    assert_eq!(i.checks.online, 0);
    assert_eq!(i.breaker_rejections, 10);
    assert_eq!(i.reconciliation.unreconciled, 6);
    assert_eq!(r.current.open_incident, Some(IncidentId(1)));
    assert_eq!(r.current.breaker, BreakerState::Open);
    assert_eq!(r.totals.incident_time_ms, 3000);
}

#[test]
fn an_offline_check_opens_an_incident_and_returns_its_id() {
    let (_clock, rec) = setup(OutageConfig::default());
    let id = rec
        .record_check(CheckOutcome::Offline)
        .expect("offline has an incident");
    let r = rec.report();
    assert_eq!(r.incidents[0].id, id);
    assert_eq!(r.incidents[0].opened_by, IncidentTrigger::OfflineCheck);
}

#[test]
fn reconciliation_outcomes_attach_to_the_incident_by_id_and_by_time() {
    let (clock, rec) = setup(OutageConfig::default());
    // Incident 1: 3 offline decisions.
    transition(&rec, BreakerState::Closed, BreakerState::Open);
    let mut decided_at = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..3 {
        clock.advance(S);
        ids.push(rec.record_check(CheckOutcome::Offline).unwrap());
        decided_at
            .push(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000) + clock.elapsed());
    }
    transition(&rec, BreakerState::Open, BreakerState::Closed);
    clock.advance(S);
    rec.record_check(CheckOutcome::Online);
    // Incident 2: 1 offline decision, still open.
    clock.advance(60 * S);
    let id2 = rec.record_check(CheckOutcome::Offline).unwrap();
    assert_eq!(id2, IncidentId(2));

    assert_eq!(
        rec.record_reconciliation(ids[0], ReconciliationOutcome::Confirmed),
        Ok(IncidentId(1))
    );
    assert_eq!(
        rec.record_reconciliation(
            IncidentRef::At(decided_at[1]),
            ReconciliationOutcome::Contradicted
        ),
        Ok(IncidentId(1))
    );
    assert_eq!(
        rec.record_reconciliation(decided_at[2], ReconciliationOutcome::StillPending),
        Ok(IncidentId(1))
    );
    assert_eq!(
        rec.record_reconciliation(id2, ReconciliationOutcome::StillPending),
        Ok(IncidentId(2))
    );
    assert_eq!(
        rec.record_reconciliation(IncidentId(9), ReconciliationOutcome::Confirmed),
        Err(ReconcileError::UnknownIncident(IncidentId(9)))
    );
    // Between the two incidents: no incident covers it.
    let between = decided_at[2] + 30 * S;
    assert_eq!(
        rec.record_reconciliation(between, ReconciliationOutcome::Confirmed),
        Err(ReconcileError::NoIncidentAt)
    );
    assert_eq!(rec.incident_at(decided_at[0]), Some(IncidentId(1)));
    assert_eq!(rec.incident_at(between), None);

    let r = rec.report();
    let r1 = &r.incidents[0].reconciliation;
    assert_eq!(
        (r1.confirmed, r1.contradicted, r1.still_pending_reports),
        (1, 1, 1)
    );
    assert_eq!(r1.unreconciled, 1);
    let r2 = &r.incidents[1].reconciliation;
    assert_eq!(
        (r2.confirmed, r2.still_pending_reports, r2.unreconciled),
        (0, 1, 1)
    );
    assert_eq!(r.totals.reconciliation.confirmed, 1);
    assert_eq!(r.totals.reconciliation.contradicted, 1);
    assert_eq!(r.totals.reconciliation.unreconciled, 2);
}

#[test]
fn rotation_beyond_the_incident_limit_keeps_memory_bounded_and_summary_right() {
    let (clock, rec) = setup(OutageConfig::default().max_incidents(4));
    for n in 0..10u64 {
        rec.record_attempt_failure(&FailureKind::Refused);
        let id = rec.record_check(CheckOutcome::Offline).unwrap();
        assert_eq!(id, IncidentId(n + 1));
        rec.record_check(CheckOutcome::Refused);
        clock.advance(2 * S);
        rec.record_check(CheckOutcome::Online);
        // Reconcile the decision of incident 1 after it has been folded.
        if n == 7 {
            assert_eq!(
                rec.record_reconciliation(IncidentId(1), ReconciliationOutcome::Confirmed),
                Ok(IncidentId(1))
            );
        }
        clock.advance(S);
    }
    let r = rec.report();
    assert_eq!(r.incidents.len(), 4);
    assert_eq!(
        r.incidents.iter().map(|i| i.id.0).collect::<Vec<_>>(),
        vec![7, 8, 9, 10]
    );
    let m = &r.summarised;
    assert_eq!(m.count, 6);
    assert_eq!(m.first_id, Some(IncidentId(1)));
    assert_eq!(m.last_id, Some(IncidentId(6)));
    assert_eq!(m.total_duration_ms, 6 * 2000);
    assert_eq!(m.checks.offline, 6);
    assert_eq!(m.checks.refused, 6);
    assert_eq!(m.checks.online, 6);
    assert_eq!(m.causes.get("refused"), Some(&6));
    assert_eq!(m.reconciliation.confirmed, 1);
    assert_eq!(m.reconciliation.unreconciled, 5);
    assert_eq!(m.first_started_at.as_deref(), Some("2023-11-14T22:13:20Z"));
    assert_eq!(m.last_ended_at.as_deref(), Some("2023-11-14T22:13:37Z"));
    assert_eq!(r.totals.incidents, 10);
    assert_eq!(r.totals.incident_time_ms, 10 * 2000);
    assert_eq!(r.totals.checks.offline, 10);
    // Folded plus kept add up to the totals.
    let kept: u64 = r.incidents.iter().map(|i| i.checks.offline).sum();
    assert_eq!(kept + m.checks.offline, r.totals.checks.offline);
    // A wall time inside the folded range attaches to the summarised aggregate.
    let in_folded = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_001);
    assert!(
        rec.record_reconciliation(in_folded, ReconciliationOutcome::Contradicted)
            .is_ok()
    );
    assert_eq!(rec.report().summarised.reconciliation.contradicted, 1);
    let text = r.summary_text();
    assert!(
        text.contains("Earlier incidents summarised: 6 (#1 to #6"),
        "{text}"
    );
    assert!(text.contains("Incident #10"), "{text}");

    // A long run: still at most 4 incidents.
    for _ in 0..1000 {
        rec.record_check(CheckOutcome::Refused);
        clock.advance(S);
        rec.record_check(CheckOutcome::Online);
    }
    let r = rec.report();
    assert_eq!(r.incidents.len(), 4);
    assert_eq!(r.summarised.count, 1006);
    assert_eq!(r.totals.incidents, 1010);
}

#[test]
fn series_ring_buffer_is_bounded_and_contiguous() {
    let (clock, rec) = setup(OutageConfig::default().max_series_seconds(60));
    rec.record_check(CheckOutcome::Online);
    rec.record_check(CheckOutcome::Online);
    clock.advance(Duration::from_millis(1500));
    transition(&rec, BreakerState::Closed, BreakerState::Open);
    rec.record_check(CheckOutcome::Offline);
    rec.record_check(CheckOutcome::Refused);
    clock.advance(S);
    let r = rec.report();
    let b = &r.series.buckets;
    assert_eq!(b.len(), 3);
    assert_eq!(b[0].t, 1_700_000_000);
    assert_eq!((b[0].online, b[0].breaker), (2, BreakerState::Closed));
    assert_eq!(
        (b[1].offline, b[1].refused, b[1].breaker),
        (1, 1, BreakerState::Open)
    );
    assert_eq!((b[2].online, b[2].breaker), (0, BreakerState::Open));

    // Ten minutes of one check per second: only the last 60 seconds stay.
    for _ in 0..600 {
        rec.record_check(CheckOutcome::Offline);
        clock.advance(S);
    }
    // A long quiet gap (a day) is cheap and still bounded.
    clock.advance(Duration::from_secs(86_400));
    rec.record_check(CheckOutcome::Refused);
    let r = rec.report();
    let b = &r.series.buckets;
    assert_eq!(b.len(), 60);
    assert_eq!(r.series.max_buckets, 60);
    assert!(b.windows(2).all(|w| w[1].t == w[0].t + 1));
    assert_eq!(b.last().unwrap().refused, 1);
    assert_eq!(b.last().unwrap().t, 1_700_000_000 + 2 + 600 + 86_400);
    assert!(b.iter().all(|x| x.breaker == BreakerState::Open));
}

#[test]
fn json_round_trip_and_format_version() {
    let (clock, rec) = setup(OutageConfig::default());
    rec.record_attempt_failure(&FailureKind::HttpStatus(503));
    transition(&rec, BreakerState::Closed, BreakerState::Open);
    let id = rec.record_check(CheckOutcome::Offline).unwrap();
    clock.advance(5 * S);
    rec.record_reconciliation(id, ReconciliationOutcome::Confirmed)
        .unwrap();
    let r = rec.report();
    let json = r.to_json();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["format_version"], FORMAT_VERSION);
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["generated_at"], "2023-11-14T22:13:25Z");
    assert_eq!(v["current"]["breaker"], "open");
    assert_eq!(v["incidents"][0]["id"], 1);
    assert_eq!(v["incidents"][0]["opened_by"], "breaker_open");
    assert_eq!(v["incidents"][0]["causes"]["http_503"], 1);
    assert_eq!(v["incidents"][0]["reconciliation"]["confirmed"], 1);
    assert_eq!(v["series"]["buckets"][0]["breaker"], "open");
    assert_eq!(v["limits"]["max_incidents"], 256);
    assert_eq!(v["limits"]["max_series_seconds"], 3600);
    let back = OutageReport::from_json(&json).unwrap();
    assert_eq!(back, r);
    let mut future = v.clone();
    future["format_version"] = 2.into();
    assert!(matches!(
        OutageReport::from_json(&future.to_string()),
        Err(ReportFormatError::Version(2))
    ));
}

#[test]
fn summary_text_tells_when_how_long_why_and_what_was_served() {
    let (clock, rec) = setup(OutageConfig::default());
    assert!(
        rec.report()
            .summary_text()
            .contains("No incidents recorded.")
    );
    for _ in 0..5 {
        rec.record_attempt_failure(&FailureKind::HttpStatus(503));
    }
    rec.record_attempt_failure(&FailureKind::ReadTimeout);
    transition(&rec, BreakerState::Closed, BreakerState::Open);
    let id = rec.record_check(CheckOutcome::Offline).unwrap();
    rec.record_check(CheckOutcome::Refused);
    clock.advance(Duration::from_secs(125));
    transition(&rec, BreakerState::Open, BreakerState::Closed);
    rec.record_check(CheckOutcome::Online);
    rec.record_reconciliation(id, ReconciliationOutcome::Confirmed)
        .unwrap();
    let text = rec.report().summary_text();
    assert!(text.contains("Incident #1: 2023-11-14T22:13:20Z to 2023-11-14T22:15:25Z (2 min 5 s), opened because breaker opened"), "{text}");
    assert!(text.contains("why: http_503 x5, read_timeout x1"), "{text}");
    assert!(
        text.contains("served: 1 online, 1 offline, 1 refused"),
        "{text}"
    );
    assert!(
        text.contains("reconciliation: 1 confirmed, 0 contradicted, 0 not yet reconciled"),
        "{text}"
    );
}

#[test]
fn listens_to_a_real_breaker_and_filters_by_name() {
    let manual = Arc::new(ManualClock::new());
    let clock: SharedClock = manual.clone();
    let rec = Arc::new(OutageRecorder::new(
        clock.clone(),
        OutageConfig::default().breaker("registry.example"),
    ));
    let breaker = CircuitBreaker::new("registry.example", BreakerConfig::default(), &clock)
        .with_listener(rec.clone());
    breaker.force_open();
    assert_eq!(rec.current_incident(), Some(IncidentId(1)));
    assert_eq!(rec.breaker_state(), BreakerState::ForcedOpen);
    assert!(breaker.try_acquire().is_err());
    manual.advance(S);
    breaker.reset();
    let permit = breaker.try_acquire().unwrap();
    permit.record(CallOutcome::Success, Duration::from_millis(5));
    rec.record_check(CheckOutcome::Online);
    // Another breaker's events are ignored.
    rec.on_event(&ResilienceEvent::StateTransition {
        breaker: Arc::from("other.example"),
        from: BreakerState::Closed,
        to: BreakerState::Open,
    });
    let r = rec.report();
    assert_eq!(r.totals.incidents, 1);
    assert_eq!(r.incidents[0].duration_ms, 1000);
    assert_eq!(r.incidents[0].breaker_rejections, 1);
    assert_eq!(r.current.breaker, BreakerState::Closed);
}

#[test]
fn concurrent_recording_from_four_threads() {
    let manual = Arc::new(ManualClock::new());
    let clock: SharedClock = manual.clone();
    let rec = Arc::new(OutageRecorder::new(clock, OutageConfig::default()));
    transition(&rec, BreakerState::Closed, BreakerState::Open);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let rec = Arc::clone(&rec);
            let manual = Arc::clone(&manual);
            std::thread::spawn(move || {
                for n in 0..1000 {
                    rec.record_attempt_failure(&FailureKind::HttpStatus(503));
                    let outcome = if (n + t) % 2 == 0 {
                        CheckOutcome::Offline
                    } else {
                        CheckOutcome::Refused
                    };
                    let id = rec.record_check(outcome).unwrap();
                    if outcome == CheckOutcome::Offline {
                        rec.record_reconciliation(id, ReconciliationOutcome::Confirmed)
                            .unwrap();
                    }
                    if n % 100 == 0 {
                        manual.advance(Duration::from_millis(10));
                        let _ = rec.report();
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let r = rec.report();
    assert_eq!(r.totals.incidents, 1);
    let i = &r.incidents[0];
    assert_eq!(i.causes.get("http_503"), Some(&4000));
    assert_eq!(i.checks.offline + i.checks.refused, 4000);
    assert_eq!(i.checks.offline, 2000);
    assert_eq!(i.reconciliation.confirmed, 2000);
    assert_eq!(i.reconciliation.unreconciled, 0);
    let series_total: u32 = r.series.buckets.iter().map(|b| b.offline + b.refused).sum();
    assert_eq!(series_total, 4000);
}

#[test]
#[ignore = "prints the example used in docs/outage-record.md"]
fn print_doc_example() {
    let (clock, rec) = setup(OutageConfig::default().max_series_seconds(3));
    rec.record_attempt_failure(&FailureKind::HttpStatus(503));
    rec.record_attempt_failure(&FailureKind::ReadTimeout);
    transition(&rec, BreakerState::Closed, BreakerState::Open);
    rejection(&rec);
    let id = rec.record_check(CheckOutcome::Offline).unwrap();
    rec.record_check(CheckOutcome::Refused);
    clock.advance(Duration::from_millis(42_500));
    transition(&rec, BreakerState::Open, BreakerState::HalfOpen);
    transition(&rec, BreakerState::HalfOpen, BreakerState::Closed);
    rec.record_check(CheckOutcome::Online);
    rec.record_reconciliation(id, ReconciliationOutcome::Confirmed)
        .unwrap();
    clock.advance(S);
    let r = rec.report();
    println!("{}", r.to_json());
    println!("{}", r.summary_text());
}

#[test]
fn reconciliation_rechecks_are_counted_apart_from_citizen_checks() {
    // A full drill used to report 2,128 "online" checks while 884 citizen checks were
    // answered online: the re-checks were counted as online checks.
    let (clock, rec) = setup(OutageConfig::default());
    rec.record_check(CheckOutcome::Refused).unwrap();
    rec.record_check(CheckOutcome::Offline).unwrap();
    for _ in 0..5 {
        rec.record_recheck();
    }
    clock.advance(S);
    rec.record_check(CheckOutcome::Online);
    for _ in 0..3 {
        rec.record_recheck();
    }
    let r = rec.report();
    assert_eq!(r.totals.checks.online, 1);
    assert_eq!(r.totals.checks.rechecks, 8);
    assert_eq!(
        r.totals.checks.total(),
        3,
        "re-checks are not citizen checks"
    );
    assert_eq!(r.incidents[0].checks.rechecks, 5);
    assert_eq!(r.incidents[0].checks.online, 1);
    let per_second: u32 = r.series.buckets.iter().map(|b| b.online).sum();
    assert_eq!(per_second, 1);
    let rechecks: u32 = r.series.buckets.iter().map(|b| b.rechecks).sum();
    assert_eq!(rechecks, 8);
    // Reports written before the field existed still load.
    let mut json: serde_json::Value = serde_json::to_value(&r).unwrap();
    json["totals"]["checks"]
        .as_object_mut()
        .unwrap()
        .remove("rechecks");
    let old: OutageReport = serde_json::from_value(json).unwrap();
    assert_eq!(old.totals.checks.rechecks, 0);
}
