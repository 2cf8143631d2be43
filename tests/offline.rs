//! End to end offline fallback against the sandbox: a citizen's token answers while the
//! registry is down, the decision is journaled (encrypted) before it is returned, and
//! reconciliation confirms or contradicts it once the registry is back.

use std::sync::Arc;
use std::time::Duration;

use andal::resilience::ManualClock;

use andal::resilience::{BreakerConfig, RetryPolicy};
use andal::{
    CheckOptions, Client, Contradiction, Error, FallbackPolicy, FallbackRefusal, FieldMatch,
    JournalKey, Provenance, Query, ReconcileOutcome, Verdict,
};
use andal_sandbox::{DEMO_BANK_KEY, DEMO_BANK_PARTNER, Fault, Sandbox, SandboxConfig};

const KEY: [u8; 32] = [7u8; 32];

struct Setup {
    sb: Sandbox,
    dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    client: Client,
}

/// Client time is a manual clock (starting now), so the breaker's open wait passes when the
/// test says so, never by sleeping.
fn client(sb: &Sandbox, dir: &std::path::Path, clock: &Arc<ManualClock>) -> Client {
    Client::builder(sb.url())
        .clock(clock.clone())
        .partner_id(DEMO_BANK_PARTNER)
        .api_key(DEMO_BANK_KEY)
        .allow_insecure_http(true)
        .deadline(Duration::from_millis(1500))
        .attempt_timeout(Duration::from_millis(500))
        .retry_policy(RetryPolicy::builder().seed(9))
        .breaker_config(
            BreakerConfig::builder()
                .minimum_number_of_calls(3)
                // Below the attempt timeout, which caps every measured call (build checks).
                .slow_call_duration_threshold(Duration::from_millis(400))
                .wait_duration_in_open(Duration::from_millis(200))
                .fixed_open_wait()
                .build()
                .unwrap(),
        )
        .trust_roots(vec![sb.issuer().unwrap().root_key()])
        .trust_cache_dir(dir.join("trust"))
        .journal(dir.join("offline.journal"), JournalKey::from_bytes(KEY))
        .build()
        .unwrap()
}

fn setup() -> Setup {
    let sb = andal_sandbox::start(SandboxConfig::default().seed(21).people(5_000)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::starting_at(std::time::SystemTime::now()));
    let client = client(&sb, dir.path(), &clock);
    let status = client.refresh_trust().unwrap();
    assert_eq!(status.keys, 2);
    assert!(status.revocations_issued_at.is_some());
    Setup {
        sb,
        dir,
        clock,
        client,
    }
}

fn query_of(p: &andal_sandbox::SamplePerson) -> Query {
    Query::parse(&p.nik, &p.full_name, &p.birth_date).unwrap()
}

fn refusal(r: Result<andal::Decision, Error>) -> FallbackRefusal {
    match r {
        Err(Error::Unavailable(u)) => u.fallback.expect("a fallback refusal"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[test]
fn token_answers_offline_then_reconciliation_confirms() {
    let s = setup();
    let p = &s.sb.sample(1)[0];
    let token = s.sb.mint_token(&p.nik, DEMO_BANK_PARTNER).unwrap();
    s.sb.set_fault(Fault::Down);

    let d = s
        .client
        .verify_with(&query_of(p), &CheckOptions::default().token(token.clone()))
        .unwrap();
    assert_eq!(d.verdict, Verdict::Match);
    let Provenance::Offline(o) = &d.provenance else {
        panic!("offline expected: {d:?}")
    };
    assert_eq!(o.key_id, "sandbox-2026");
    assert!(o.token_age_secs < 60);
    assert!(o.revocation_staleness_secs.is_some());
    // Records 1 and 2 are the trust high-water marks (keyset, revocation list).
    assert_eq!(o.journal_seq, 3);

    // The same citizen with a wrong name: answered offline, field by field.
    let wrong = Query::parse(&p.nik, "Nama Lain", &p.birth_date).unwrap();
    let d = s
        .client
        .verify_with(&wrong, &CheckOptions::default().token(token.clone()))
        .unwrap();
    assert_eq!(d.verdict, Verdict::Mismatch);
    assert_eq!(d.fields.full_name, FieldMatch::TidakSesuai);
    assert_eq!(d.fields.nik, FieldMatch::Sesuai);

    // No token: an honest "unavailable", saying why there is no offline answer.
    assert_eq!(
        refusal(s.client.verify(&query_of(p))),
        FallbackRefusal::NoToken
    );

    // Reconciliation while still down leaves them pending.
    let r = s.client.reconcile().unwrap();
    assert_eq!((r.examined, r.still_pending, r.confirmed), (2, 2, 0));

    // The journal on disk holds no readable personal data.
    let raw = std::fs::read(s.dir.path().join("offline.journal")).unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(!text.contains(&p.nik) && !text.contains(&p.full_name));

    s.sb.clear_fault();
    s.clock.advance(Duration::from_millis(250)); // the breaker's open wait
    let r = s.client.reconcile().unwrap();
    assert_eq!(r.examined, 2);
    assert_eq!(r.confirmed, 2, "{r:?}");
    assert!(
        r.items
            .iter()
            .all(|i| i.outcome == ReconcileOutcome::Confirmed)
    );
    // Idempotent: nothing left to do.
    let again = s.client.reconcile().unwrap();
    assert_eq!((again.examined, again.previously_resolved), (0, 2));

    // The outage record counted the offline answers and their confirmation.
    let report = s.client.outage_report();
    let offline: u64 = report.incidents.iter().map(|i| i.checks.offline).sum();
    let confirmed: u64 = report
        .incidents
        .iter()
        .map(|i| i.reconciliation.confirmed)
        .sum();
    assert_eq!((offline, confirmed), (2, 2), "{}", report.summary_text());
}

#[test]
fn a_revoked_token_is_contradicted_then_refused() {
    let s = setup();
    let p = &s.sb.sample(1)[0];
    let token = s.sb.mint_token(&p.nik, DEMO_BANK_PARTNER).unwrap();
    s.sb.set_fault(Fault::Down);
    let d = s
        .client
        .verify_with(&query_of(p), &CheckOptions::default().token(token.clone()))
        .unwrap();
    let Provenance::Offline(o) = d.provenance else {
        panic!()
    };
    s.sb.clear_fault();
    // The issuer revokes the token; the client learns it on its next refresh.
    s.sb.issuer().unwrap().revoke_token(&o.token_id);
    s.clock.advance(Duration::from_millis(250)); // the breaker's open wait
    s.client.refresh_trust().unwrap();
    let r = s.client.reconcile().unwrap();
    assert_eq!(r.contradicted, 1, "{r:?}");
    assert_eq!(
        r.items[0].outcome,
        ReconcileOutcome::Contradicted {
            reason: Contradiction::Revoked
        }
    );
    s.sb.set_fault(Fault::Down);
    let e = refusal(
        s.client
            .verify_with(&query_of(p), &CheckOptions::default().token(token)),
    );
    assert_eq!(e.reason(), "revoked");
}

#[test]
fn policy_and_audience_are_enforced() {
    let s = setup();
    let p = &s.sb.sample(1)[0];
    let for_bpjs =
        s.sb.mint_token(&p.nik, andal_sandbox::BPJS_PARTNER)
            .unwrap();
    let ours = s.sb.mint_token(&p.nik, DEMO_BANK_PARTNER).unwrap();
    s.sb.set_fault(Fault::Down);
    let q = query_of(p);
    assert_eq!(
        refusal(
            s.client
                .verify_with(&q, &CheckOptions::default().token(for_bpjs))
        )
        .reason(),
        "wrong_audience"
    );
    assert_eq!(
        refusal(
            s.client.verify_with(
                &q,
                &CheckOptions::default()
                    .token(ours.clone())
                    .fallback(FallbackPolicy::disabled())
            )
        ),
        FallbackRefusal::NotAllowed
    );
    // Two days later (injected clock), a one-day policy refuses the same token.
    let later = andal::resilience::ManualClock::starting_at(
        std::time::SystemTime::now() + Duration::from_secs(2 * 86_400),
    );
    let aged = Client::builder(s.sb.url())
        .partner_id(DEMO_BANK_PARTNER)
        .api_key(DEMO_BANK_KEY)
        .allow_insecure_http(true)
        .clock(std::sync::Arc::new(later))
        .trust_roots(vec![s.sb.issuer().unwrap().root_key()])
        .trust_cache_dir(s.dir.path().join("trust"))
        .journal(
            s.dir.path().join("aged.journal"),
            JournalKey::from_bytes(KEY),
        )
        .fallback_policy(FallbackPolicy::default().max_token_age(Duration::from_secs(86_400)))
        .build()
        .unwrap();
    assert!(matches!(
        refusal(aged.verify_with(&q, &CheckOptions::default().token(ours.clone()))),
        FallbackRefusal::TokenTooOld { age_secs, max_secs: 86_400 } if age_secs >= 2 * 86_400
    ));
    let mut tampered = ours.into_bytes();
    let n = tampered.len();
    tampered[n - 5] = if tampered[n - 5] == b'A' { b'B' } else { b'A' };
    assert_eq!(
        refusal(s.client.verify_with(
            &q,
            &CheckOptions::default().token(String::from_utf8(tampered).unwrap())
        ))
        .reason(),
        "bad_signature"
    );
}

#[test]
fn registry_verdicts_are_never_overridden_offline() {
    let s = setup();
    let dead = &s.sb.sample_where(1, false)[0];
    let live = &s.sb.sample(1)[0];
    let token = s.sb.mint_token(&live.nik, DEMO_BANK_PARTNER).unwrap();
    // Registry up: an inactive record stays inactive whatever token is offered.
    let d = s
        .client
        .verify_with(&query_of(dead), &CheckOptions::default().token(token))
        .unwrap();
    assert_eq!(d.verdict, Verdict::InactiveRecord);
    assert!(!d.is_offline());
}

#[test]
fn cached_trust_survives_a_restart_during_an_outage() {
    let s = setup();
    let p = &s.sb.sample(1)[0];
    let token = s.sb.mint_token(&p.nik, DEMO_BANK_PARTNER).unwrap();
    let dir = s.dir.path().to_owned();
    drop(s.client); // releases the journal
    s.sb.set_fault(Fault::Down);
    // A fresh process during the outage: no refresh possible, the cache is re-verified.
    let c = client(&s.sb, &dir, &s.clock);
    assert_eq!(c.trust_status().keys, 2);
    let d = c
        .verify_with(&query_of(p), &CheckOptions::default().token(token))
        .unwrap();
    assert!(d.is_offline());
}

#[test]
fn trust_is_refreshed_in_the_background_after_an_online_check() {
    let sb = andal_sandbox::start(SandboxConfig::default().seed(21).people(5_000)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::starting_at(std::time::SystemTime::now()));
    let c = client(&sb, dir.path(), &clock);
    assert_eq!(
        c.trust_status().keys,
        0,
        "nothing held before the first online check"
    );
    c.verify(&query_of(&sb.sample(1)[0])).unwrap();
    // The refresh runs on its own thread; the check did not wait for it.
    let mut waited = 0;
    // (Keyset first, then the revocation list: wait for both.)
    while (c.trust_status().keys == 0 || c.trust_status().revocations_issued_at.is_none())
        && waited < 500
    {
        std::thread::sleep(Duration::from_millis(10));
        waited += 1;
    }
    let status = c.trust_status();
    assert_eq!(status.keys, 2);
    assert!(status.revocations_issued_at.is_some());
    // Cached for the next process.
    assert!(dir.path().join("trust").join("andal-keyset.jws").exists());
}
