//! The SVG timeline renders synthetic reports (manual clock, no network).

use std::sync::Arc;
use std::time::Duration;

use andal::locale::{Language, OfficeZone};
use andal::outage::{CheckOutcome, OutageConfig, OutageRecorder, ReconciliationOutcome};
use andal_report::{RenderOptions, render_timeline_svg, render_timeline_svg_with};
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
fn renders_a_valid_svg_with_incident_spans_and_headlines() {
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
    let rect = incidents[0]
        .descendants()
        .find(|n| n.has_tag_name("rect"))
        .unwrap();
    let w: f64 = rect.attribute("width").unwrap().parse().unwrap();
    assert!(w > 100.0, "a 40 s incident in a ~100 s window is wide: {w}");
    // The headline is in the picture, not only in a tooltip: plain words, whole numbers.
    let headlines: Vec<String> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("headline"))
        .map(|n| n.text().unwrap().to_owned())
        .collect();
    assert_eq!(headlines.len(), 4, "two lines per incident: {headlines:?}");
    let inc = &report.incidents[0];
    assert!(headlines[0].starts_with("Gangguan 1: "), "{}", headlines[0]);
    assert!(headlines[0].contains("WIB"), "{}", headlines[0]);
    assert!(
        headlines[0].contains("Server Dukcapil mengalami kesalahan"),
        "{}",
        headlines[0]
    );
    assert!(
        headlines[1].starts_with(&format!(
            "{} orang dilayani luring, {} orang ditolak; pemeriksaan ulang: {} dibenarkan, 0 dibantah",
            inc.checks.offline, inc.checks.refused, inc.reconciliation.confirmed
        )),
        "{}",
        headlines[1]
    );
    assert!(
        headlines[2].contains("sekarang"),
        "ongoing: {}",
        headlines[2]
    );
    for label in [
        "Sambungan",
        "Orang yang diperiksa per detik",
        "ditolak",
        "dilayani luring",
        "normal",
    ] {
        assert!(svg.contains(label), "{label}");
    }
    // No engineer words, no raw labels.
    for word in ["breaker", "half-open", "http_503", "Outage record"] {
        assert!(!svg.contains(word), "{word}");
    }
    // Axis labels are whole numbers (counts) or whole percentages.
    for axis in doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("axis"))
    {
        for t in axis.descendants().filter(|n| n.has_tag_name("text")) {
            let v = t.text().unwrap().trim_end_matches(" %");
            assert!(v.parse::<u64>().is_ok(), "axis label {v:?}");
        }
    }
    // Every legend sits above the plot it explains, never over the bars or lines.
    let bar_top = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("bars"))
        .flat_map(|g| g.children().filter(|c| c.has_tag_name("rect")))
        .map(|r| r.attribute("y").unwrap().parse::<f64>().unwrap())
        .fold(f64::INFINITY, f64::min);
    let legend_bottom = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("legend legend-people"))
        .flat_map(|g| g.children().filter(|c| c.has_tag_name("rect")))
        .map(|r| r.attribute("y").unwrap().parse::<f64>().unwrap() + 12.0)
        .fold(0.0, f64::max);
    assert!(
        legend_bottom < bar_top,
        "legend {legend_bottom} over bars {bar_top}"
    );
    // The share turned away is plotted.
    assert!(
        doc.descendants()
            .any(|n| n.attribute("class") == Some("share-refused"))
    );
    // Nothing external referenced.
    assert!(!svg.contains("href"));
}

#[test]
fn english_and_other_zones() {
    let report = synthetic();
    let opts = RenderOptions::new(Language::English, OfficeZone::Wit);
    let svg = render_timeline_svg_with(&report, &opts).unwrap();
    roxmltree::Document::parse(&svg).unwrap();
    assert!(svg.contains("Outage 1: "));
    assert!(svg.contains("WIT") && !svg.contains("WIB"));
    assert!(svg.contains("People checked per second"));
    assert!(!svg.contains("Gangguan"));
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
    assert!(svg.contains("Belum ada data"));
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
#[ignore = "writes target/outage-timeline.svg and target/outage-page.html for a look"]
fn write_sample() {
    let report = synthetic();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target");
    std::fs::write(
        format!("{dir}/outage-timeline.svg"),
        render_timeline_svg(&report).unwrap(),
    )
    .unwrap();
    std::fs::write(
        format!("{dir}/outage-page.html"),
        andal_report::render_page(&report, &RenderOptions::default()).unwrap(),
    )
    .unwrap();
}
