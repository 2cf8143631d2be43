//! The SVG timeline renders synthetic reports (manual clock, no network).

use std::sync::Arc;
use std::time::Duration;

use andal::outage::{CheckOutcome, OutageConfig, OutageRecorder, ReconciliationOutcome};
use andal_report::render_timeline_svg;
use andal_resilience::{
    BreakerState, EventListener, FailureKind, ManualClock, ResilienceEvent, SharedClock,
};

fn transition(rec: &OutageRecorder, from: BreakerState, to: BreakerState) {
    rec.on_event(&ResilienceEvent::StateTransition {
        breaker: Arc::from("registry.example"),
        from,
        to,
    });
}

/// Two minutes: healthy, an outage served offline, recovery, a short second outage (ongoing).
fn synthetic() -> andal::outage::OutageReport {
    let manual = Arc::new(ManualClock::new());
    let clock: SharedClock = manual.clone();
    let rec = OutageRecorder::new(clock, OutageConfig::default());
    let s = Duration::from_secs(1);
    for _ in 0..20 {
        for _ in 0..5 {
            rec.record_check(CheckOutcome::Online);
        }
        manual.advance(s);
    }
    for _ in 0..3 {
        rec.record_attempt_failure(&FailureKind::HttpStatus(503));
    }
    transition(&rec, BreakerState::Closed, BreakerState::Open);
    let mut ids = Vec::new();
    for n in 0..40 {
        for k in 0..5 {
            let o = if (n + k) % 4 == 0 {
                CheckOutcome::Refused
            } else {
                CheckOutcome::Offline
            };
            if let (CheckOutcome::Offline, Some(id)) = (o, rec.record_check(o)) {
                ids.push(id);
            }
        }
        if n == 20 {
            transition(&rec, BreakerState::Open, BreakerState::HalfOpen);
            rec.record_attempt_failure(&FailureKind::ReadTimeout);
            transition(&rec, BreakerState::HalfOpen, BreakerState::Open);
        }
        manual.advance(s);
    }
    transition(&rec, BreakerState::Open, BreakerState::HalfOpen);
    transition(&rec, BreakerState::HalfOpen, BreakerState::Closed);
    for _ in 0..30 {
        for _ in 0..5 {
            rec.record_check(CheckOutcome::Online);
        }
        manual.advance(s);
    }
    for id in ids.iter().take(100) {
        rec.record_reconciliation(*id, ReconciliationOutcome::Confirmed)
            .unwrap();
    }
    rec.record_attempt_failure(&FailureKind::Refused);
    rec.record_check(CheckOutcome::Refused);
    manual.advance(5 * s);
    rec.report()
}

#[test]
fn renders_a_valid_svg_with_incident_rectangles() {
    let report = synthetic();
    assert_eq!(report.incidents.len(), 2);
    let svg = render_timeline_svg(&report).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
    assert!(svg.trim_end().ends_with("</svg>"));
    let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let incidents: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("incident"))
        .collect();
    assert_eq!(incidents.len(), 2);
    assert_eq!(incidents[0].attribute("data-incident"), Some("1"));
    let w: i32 = incidents[0].attribute("width").unwrap().parse().unwrap();
    assert!(w > 100, "a 40 s incident in a ~100 s window is wide: {w}");
    let tip = incidents[0]
        .descendants()
        .find(|n| n.has_tag_name("title"))
        .unwrap();
    assert!(tip.text().unwrap().contains("http_503 x3"));
    // Breaker colours: closed, half-open is too short to be sure of a bucket, open.
    assert!(svg.contains("#66BB6A") || svg.contains("#66bb6a"));
    assert!(svg.contains("#E53935") || svg.contains("#e53935"));
    for label in [
        "breaker state",
        "checks per second",
        "offline share",
        "online",
        "refused",
    ] {
        assert!(svg.contains(label), "{label}");
    }
    // No personal data could be in it; nothing external referenced.
    assert!(!svg.contains("href"));
}

#[test]
fn no_panic_on_an_empty_report() {
    let clock: SharedClock = Arc::new(ManualClock::new());
    let rec = OutageRecorder::new(clock, OutageConfig::default());
    let mut report = rec.report();
    // Fresh recorder: one quiet bucket, no incidents.
    let svg = render_timeline_svg(&report).unwrap();
    assert!(svg.starts_with("<svg"));
    roxmltree::Document::parse(&svg).unwrap();
    assert!(!svg.contains("class=\"incident\""));
    // No series at all.
    report.series.buckets.clear();
    let svg = render_timeline_svg(&report).unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(svg.contains("no data"));
    roxmltree::Document::parse(&svg).unwrap();
}

#[test]
fn incidents_without_series_use_their_own_span() {
    let mut report = synthetic();
    report.series.buckets.clear();
    let svg = render_timeline_svg(&report).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let n = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("incident"))
        .count();
    assert_eq!(n, 2);
}

#[test]
fn a_bad_timestamp_is_an_error_not_a_panic() {
    let mut report = synthetic();
    report.incidents[0].started_at = "yesterday".into();
    assert!(render_timeline_svg(&report).is_err());
}

#[test]
#[ignore = "writes target/outage-timeline.svg for a look"]
fn write_sample() {
    let svg = render_timeline_svg(&synthetic()).unwrap();
    std::fs::write(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../target/outage-timeline.svg"
        ),
        svg,
    )
    .unwrap();
}
