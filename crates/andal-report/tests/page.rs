//! The outage page and the status document, from synthetic reports (manual clock).

use std::sync::Arc;
use std::time::Duration;

use andal::locale::{Language, OfficeZone};
use andal::outage::{
    CheckOutcome, OutageConfig, OutageRecorder, OutageReport, ReconciliationOutcome,
};
use andal_report::{RenderOptions, render_page, status_document};
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

/// An outage of the unreachable kind served partly offline, one contradicted answer, then
/// a second outage (timeouts) still going on with the breaker open.
fn report() -> OutageReport {
    let manual = Arc::new(ManualClock::new());
    let clock: SharedClock = manual.clone();
    let rec = OutageRecorder::new(clock, OutageConfig::default());
    let s = Duration::from_secs(1);
    for _ in 0..10 {
        rec.record_check(CheckOutcome::Online);
        manual.advance(s);
    }
    for _ in 0..4 {
        rec.record_attempt_failure(&FailureKind::Refused);
    }
    rec.record_attempt_failure(&FailureKind::ConnectTimeout);
    transition(&rec, BreakerState::Closed, BreakerState::Open);
    let mut ids = Vec::new();
    for n in 0..1200 {
        let o = if n % 3 == 0 {
            CheckOutcome::Refused
        } else {
            CheckOutcome::Offline
        };
        if let (CheckOutcome::Offline, Some(id)) = (o, rec.record_check(o)) {
            ids.push(id);
        }
        if n % 10 == 0 {
            manual.advance(s);
        }
    }
    transition(&rec, BreakerState::Open, BreakerState::HalfOpen);
    transition(&rec, BreakerState::HalfOpen, BreakerState::Closed);
    rec.record_check(CheckOutcome::Online);
    for (n, id) in ids.iter().enumerate() {
        let o = if n == 0 {
            ReconciliationOutcome::Contradicted
        } else if n < 700 {
            ReconciliationOutcome::Confirmed
        } else {
            continue;
        };
        rec.record_reconciliation(*id, o).unwrap();
    }
    manual.advance(30 * s);
    rec.record_attempt_failure(&FailureKind::ReadTimeout);
    rec.record_attempt_failure(&FailureKind::ReadTimeout);
    transition(&rec, BreakerState::Closed, BreakerState::Open);
    rec.record_check(CheckOutcome::Refused);
    manual.advance(90 * s);
    rec.report()
}

fn field(page: &str, incident: u64, name: &str) -> u64 {
    let start = page
        .find(&format!(
            "<article class=\"incident\" data-incident=\"{incident}\""
        ))
        .unwrap();
    let art = &page[start..start + page[start..].find("</article>").unwrap()];
    let key = format!("data-field=\"{name}\" data-value=\"");
    let i = art.find(&key).unwrap_or_else(|| panic!("{name} in {art}")) + key.len();
    art[i..i + art[i..].find('"').unwrap()].parse().unwrap()
}

#[test]
fn page_numbers_are_the_reports() {
    let report = report();
    assert_eq!(report.incidents.len(), 2);
    let page = render_page(&report, &RenderOptions::default()).unwrap();
    for i in &report.incidents {
        let id = i.id.0;
        assert_eq!(field(&page, id, "offline"), i.checks.offline);
        assert_eq!(field(&page, id, "refused"), i.checks.refused);
        assert_eq!(field(&page, id, "online"), i.checks.online);
    }
    let first = &report.incidents[0];
    assert_eq!(field(&page, 1, "confirmed"), first.reconciliation.confirmed);
    assert_eq!(field(&page, 1, "contradicted"), 1);
    assert_eq!(
        field(&page, 1, "unreconciled"),
        first.reconciliation.unreconciled
    );
    // Thousands written the Indonesian way, plain causes, the state now.
    assert!(
        page.contains(">800</strong> orang tetap dilayani"),
        "offline count"
    );
    assert!(page.contains("server Dukcapil tidak dapat dihubungi (5 kali)"));
    assert!(page.contains("Yang gagal: server Dukcapil tidak menjawab dalam batas waktu (2 kali)"));
    assert!(page.contains("class=\"now ongoing\""));
    assert!(page.contains("masih berlangsung"));
    assert!(page.contains("<html lang=\"id\">"));
}

#[test]
fn page_is_self_contained_and_plain() {
    let report = report();
    for lang in [Language::Indonesian, Language::English] {
        let page = render_page(&report, &RenderOptions::new(lang, OfficeZone::Wita)).unwrap();
        let low = page.to_lowercase();
        for banned in [
            "<script",
            "src=",
            "href",
            "@import",
            "url(",
            "<link",
            "@font-face",
            "breaker",
            "half-open",
            "read_timeout",
        ] {
            assert!(!low.contains(banned), "{banned} in the {} page", lang.tag());
        }
        // The only URL is the SVG namespace.
        assert_eq!(low.matches("http://").count(), 1);
        assert!(!low.contains("https://"));
        assert!(page.contains("default-src 'none'"));
        assert!(page.contains("WITA") && !page.contains("WIB"));
    }
    let en = render_page(
        &report,
        &RenderOptions::new(Language::English, OfficeZone::Wib),
    )
    .unwrap();
    assert!(en.contains("the Dukcapil server could not be reached (5 times)"));
    assert!(en.contains(">800</strong> people were still served"));
}

#[test]
fn status_document_lists_the_open_incident_and_the_window() {
    let report = report();
    let doc = status_document(
        &report,
        "registry.example",
        Duration::from_secs(30 * 86_400),
    )
    .unwrap();
    assert_eq!(doc.status_version, 1);
    assert_eq!(doc.window_days, 30);
    let r = &doc.registries[0];
    assert_eq!(r.host, "registry.example");
    assert_eq!(r.state, "outage");
    let open = r.open_incident.as_ref().unwrap();
    assert_eq!(open.id, 2);
    assert_eq!(open.cause, "timeout");
    assert_eq!(open.started_at, report.incidents[1].started_at);
    assert_eq!(doc.incidents.len(), 2);
    assert_eq!(doc.incidents[0].id, 2, "most recent first");
    assert!(doc.incidents[0].ongoing && doc.incidents[0].ended_at.is_none());
    assert_eq!(doc.incidents[1].cause, "unreachable");
    assert_eq!(doc.incidents[1].served_offline, 800);
    assert_eq!(doc.incidents[1].contradicted, 1);
    // A window of zero keeps only what is still going on.
    let doc = status_document(&report, "registry.example", Duration::ZERO).unwrap();
    assert_eq!(doc.incidents.len(), 1);
    let json: serde_json::Value = serde_json::from_str(&doc.to_json()).unwrap();
    assert_eq!(json["registries"][0]["open_incident"]["cause"], "timeout");
    assert!(json["incidents"][0]["ended_at"].is_null());
}
