//! An incident is journaled when it closes, so that a ledger shipper finds it even if the
//! node crashes before anyone reads its outage record (issue 12: every closed incident
//! shipped exactly once). The record holds no personal data, and readers that want
//! offline decisions (`read_journal`, reconciliation) skip it. Sandbox on loopback, manual
//! clock.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use andal::resilience::{BreakerConfig, ManualClock, RetryPolicy};
use andal::{CheckOptions, Client, JournalKey, JournalRecord, Query};
use andal_sandbox::{DEMO_BANK_KEY, DEMO_BANK_PARTNER, Fault, SandboxConfig};

const KEY: [u8; 32] = [0x5a; 32];

#[test]
fn a_closing_incident_is_journaled_once_without_personal_data() {
    let sb = andal_sandbox::start(SandboxConfig::default().seed(12).people(500)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("offline.journal");
    let clock = Arc::new(ManualClock::starting_at(SystemTime::now()));
    let client = Client::builder(sb.url())
        .clock(clock.clone())
        .partner_id(DEMO_BANK_PARTNER)
        .api_key(DEMO_BANK_KEY)
        .allow_insecure_http(true)
        .deadline(Duration::from_millis(1500))
        .attempt_timeout(Duration::from_millis(500))
        .retry_policy(RetryPolicy::builder().seed(3))
        .breaker_config(
            BreakerConfig::builder()
                .minimum_number_of_calls(3)
                .slow_call_duration_threshold(Duration::from_millis(400))
                .wait_duration_in_open(Duration::from_millis(200))
                .fixed_open_wait()
                .build()
                .unwrap(),
        )
        .trust_roots(vec![sb.issuer().unwrap().root_key()])
        .trust_cache_dir(dir.path().join("trust"))
        .journal(&path, JournalKey::from_bytes(KEY))
        .build()
        .unwrap();
    client.refresh_trust().unwrap();

    let people = sb.sample(2);
    sb.set_fault(Fault::Down);
    for p in &people {
        let token = sb.mint_token(&p.nik, DEMO_BANK_PARTNER).unwrap();
        let q = Query::parse(&p.nik, &p.full_name, &p.birth_date).unwrap();
        let d = client
            .verify_with(&q, &CheckOptions::default().token(token))
            .unwrap();
        assert!(d.is_offline());
        clock.advance(Duration::from_millis(50));
    }
    let key = JournalKey::from_bytes(KEY);
    let incidents = |recs: &[JournalRecord]| {
        recs.iter()
            .filter(|r| matches!(r, JournalRecord::Incident { .. }))
            .count()
    };
    let open = andal::read_journal_records(&path, &key, 0).unwrap();
    assert_eq!(
        incidents(&open.records),
        0,
        "an open incident is not journaled"
    );

    sb.clear_fault();
    clock.advance(Duration::from_secs(2));
    let q = Query::parse(&people[0].nik, &people[0].full_name, &people[0].birth_date).unwrap();
    for _ in 0..3 {
        if client.verify(&q).is_ok() && client.outage_report().current.open_incident.is_none() {
            break;
        }
        clock.advance(Duration::from_secs(1));
    }
    let report = client.outage_report();
    assert_eq!(report.current.open_incident, None, "the incident closed");
    // Later online checks close nothing: still one record.
    client.verify(&q).unwrap();
    // Reconciliation reads the journal too: it sees the two decisions, not the incident.
    assert_eq!(client.reconcile().unwrap().examined, 2);
    drop(client); // the node "crashes": only its journal is left

    let read = andal::read_journal_records(&path, &key, 0).unwrap();
    assert_eq!(incidents(&read.records), 1);
    let Some(JournalRecord::Incident {
        recording_since,
        incident,
        ..
    }) = read
        .records
        .iter()
        .find(|r| matches!(r, JournalRecord::Incident { .. }))
    else {
        unreachable!()
    };
    assert_eq!(recording_since, &report.recording_since);
    assert_eq!(incident, &report.incidents[0]);
    assert!(!incident.ongoing && incident.ended_at.is_some());
    assert_eq!(incident.checks.offline, 2);

    // No personal data in the record: the incident's JSON names no NIK, name or birth date.
    let json = serde_json::to_string(incident).unwrap();
    for p in &people {
        assert!(!json.contains(&p.nik) && !json.contains(&p.full_name));
        assert!(!json.contains(&p.birth_date));
    }
    // Readers of offline decisions skip it.
    let items = andal::read_journal(&path, &key).unwrap();
    assert_eq!(items.len(), 2);
}
