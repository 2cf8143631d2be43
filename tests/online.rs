//! The online client against the sandbox on loopback: every verdict, every field result,
//! every error status mapped to its typed error, idempotent charging, and no personal data
//! in any string the library produces.

use std::sync::Arc;
use std::time::Duration;

use andal::resilience::RetryPolicy;
use andal::{Client, Error, FieldMatch, Provenance, Query, Verdict};
use andal_sandbox::{DEMO_BANK_KEY, DEMO_BANK_PARTNER, Fault, Sandbox, SandboxConfig};

fn sandbox() -> Sandbox {
    andal_sandbox::start(SandboxConfig::default().seed(11).people(20_000)).unwrap()
}

fn client(sb: &Sandbox) -> Client {
    Client::builder(sb.url())
        .partner_id(DEMO_BANK_PARTNER)
        .api_key(DEMO_BANK_KEY)
        .allow_insecure_http(true)
        .deadline(Duration::from_secs(2))
        .attempt_timeout(Duration::from_millis(700))
        .retry_policy(RetryPolicy::builder().seed(1))
        .build()
        .unwrap()
}

#[test]
fn verdicts_and_field_results() {
    let sb = sandbox();
    let c = client(&sb);
    let p = &sb.sample(1)[0];

    let exact = Query::parse(&p.nik, &p.full_name, &p.birth_date)
        .unwrap()
        .with_birth_place(p.birth_place.clone())
        .unwrap();
    let d = c.verify(&exact).unwrap();
    assert_eq!(d.verdict, Verdict::Match);
    assert_eq!(d.fields.full_name, FieldMatch::Sesuai);
    assert_eq!(d.fields.birth_place, FieldMatch::Sesuai);
    assert!(matches!(
        d.provenance,
        Provenance::Online { attempts: 1, .. }
    ));
    assert_eq!(d.nik_masked, andal::Nik::parse(&p.nik).unwrap().masked());

    // Name normalisation: case, honorific and degree do not make a mismatch.
    let styled = format!("Hj. {}, S.Pd.", p.full_name.to_lowercase());
    let d = c
        .verify(&Query::parse(&p.nik, &styled, &p.birth_date).unwrap())
        .unwrap();
    assert_eq!(d.fields.full_name, FieldMatch::Sesuai);

    // Wrong name only.
    let d = c
        .verify(&Query::parse(&p.nik, "Nama Lain Sekali", &p.birth_date).unwrap())
        .unwrap();
    assert_eq!(d.verdict, Verdict::Mismatch);
    assert_eq!(d.fields.full_name, FieldMatch::TidakSesuai);
    assert_eq!(d.fields.birth_date, FieldMatch::Sesuai);

    // Wrong birth date only (a corrected date differs from the NIK's: not an input error).
    let date = andal::query::parse_date(&p.birth_date).unwrap();
    let other = andal::query::format_date(date.next_day().unwrap());
    let d = c
        .verify(&Query::parse(&p.nik, &p.full_name, &other).unwrap())
        .unwrap();
    assert_eq!(d.verdict, Verdict::Mismatch);
    assert_eq!(d.fields.full_name, FieldMatch::Sesuai);
    assert_eq!(d.fields.birth_date, FieldMatch::TidakSesuai);

    // Wrong birth place only.
    let d = c
        .verify(
            &Query::parse(&p.nik, &p.full_name, &p.birth_date)
                .unwrap()
                .with_birth_place("Tempat Lain")
                .unwrap(),
        )
        .unwrap();
    assert_eq!(d.verdict, Verdict::Mismatch);
    assert_eq!(d.fields.birth_place, FieldMatch::TidakSesuai);

    // Not found: a valid NIK with no record.
    let unknown = unknown_nik(&sb);
    let d = c
        .verify(&Query::parse(&unknown, "Siapa Saja", "1990-01-15").unwrap())
        .unwrap();
    assert_eq!(d.verdict, Verdict::NotFound);
    assert_eq!(d.fields, andal::FieldResults::not_checked());

    // Inactive record.
    let dead = &sb.sample_where(1, false)[0];
    let d = c
        .verify(&Query::parse(&dead.nik, &dead.full_name, &dead.birth_date).unwrap())
        .unwrap();
    assert_eq!(d.verdict, Verdict::InactiveRecord);
}

/// A partner id that does not belong to the API key fails at the first online request
/// (trust refresh or check) with a typed auth error that says so, instead of surfacing
/// during an outage as offline tokens refused for `wrong_audience`.
#[test]
fn wrong_partner_id_fails_at_refresh_trust_and_first_check() {
    let sb = sandbox();
    let p = &sb.sample(1)[0];
    let q = Query::parse(&p.nik, &p.full_name, &p.birth_date).unwrap();
    let build = |partner: &str| {
        Client::builder(sb.url())
            .partner_id(partner)
            .api_key(DEMO_BANK_KEY)
            .allow_insecure_http(true)
            .trust_roots(vec![sb.issuer().unwrap().root_key()])
            .build()
            .unwrap()
    };
    let before = sb.accounting().partner(DEMO_BANK_PARTNER).accesses_charged;
    // Another real partner's id, and one that exists nowhere.
    for wrong in [andal_sandbox::BPJS_PARTNER, "bank-a"] {
        let c = build(wrong);
        for err in [c.refresh_trust().map(|_| ()), c.verify(&q).map(|_| ())] {
            let e = err.unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::Auth {
                        status: 403,
                        code: andal::api::ProblemCode::PartnerMismatch
                    }
                ),
                "{e:?}"
            );
            let msg = e.to_string();
            assert!(
                msg.contains("partner id does not match the API key"),
                "{msg}"
            );
            assert!(!msg.contains(&p.nik) && !msg.contains(wrong), "{msg}");
        }
    }
    // Nothing was charged for the refused checks.
    assert_eq!(
        sb.accounting().partner(DEMO_BANK_PARTNER).accesses_charged,
        before
    );

    let right = build(DEMO_BANK_PARTNER);
    right.refresh_trust().unwrap();
    assert_eq!(right.verify(&q).unwrap().verdict, Verdict::Match);
}

/// A NIK that parses but is not in the registry.
fn unknown_nik(sb: &Sandbox) -> String {
    for serial in 9000..9999 {
        let nik = format!("331609150190{serial:04}");
        if sb.registry().get_digits(&nik).is_none() {
            return nik;
        }
    }
    unreachable!("the registry cannot hold every serial")
}

#[test]
fn error_statuses_map_to_typed_errors() {
    let sb = sandbox();
    let p = &sb.sample(1)[0];
    let q = Query::parse(&p.nik, &p.full_name, &p.birth_date).unwrap();

    let wrong_key = Client::builder(sb.url())
        .partner_id(DEMO_BANK_PARTNER)
        .api_key("not-a-key")
        .allow_insecure_http(true)
        .build()
        .unwrap();
    assert!(matches!(
        wrong_key.verify(&q),
        Err(Error::Auth { status: 401, .. })
    ));

    let suspended = Client::builder(sb.url())
        .partner_id(andal_sandbox::SUSPENDED_PARTNER)
        .api_key(andal_sandbox::SUSPENDED_KEY)
        .allow_insecure_http(true)
        .build()
        .unwrap();
    assert!(matches!(
        suspended.verify(&q),
        Err(Error::Auth { status: 403, .. })
    ));

    let c = client(&sb);
    // Same idempotency key, different body: 409, never retried.
    let opts = andal::CheckOptions::default().idempotency_key("same-key-1");
    c.verify_with(&q, &opts).unwrap();
    let other = Query::parse(&p.nik, "Orang Lain", &p.birth_date).unwrap();
    match c.verify_with(&other, &opts) {
        Err(Error::Rejected(r)) => {
            assert_eq!(r.status, 409);
            assert_eq!(r.code, andal::api::ProblemCode::IdempotencyKeyReused);
        }
        other => panic!("expected 409, got {other:?}"),
    }

    // 5xx everywhere: Unavailable with the status as cause.
    sb.set_fault(Fault::Error {
        status: 503,
        rate: 1.0,
    });
    match c.verify(&q) {
        Err(Error::Unavailable(u)) => {
            assert_eq!(u.cause.label(), "http_503");
            assert!(u.attempts >= 1);
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    sb.clear_fault();
}

#[test]
fn insecure_http_needs_explicit_permission() {
    let r = Client::builder("http://127.0.0.1:9")
        .partner_id("p")
        .api_key("k")
        .build();
    assert!(matches!(
        r,
        Err(Error::Config(andal::ConfigError::InsecureHttp))
    ));
    assert!(matches!(
        Client::builder("ftp://x")
            .partner_id("p")
            .api_key("k")
            .build(),
        Err(Error::Config(andal::ConfigError::BaseUrl(_)))
    ));
    assert!(matches!(
        Client::builder("https://x").api_key("k").build(),
        Err(Error::Config(andal::ConfigError::Missing("partner_id")))
    ));
}

#[test]
fn retries_are_charged_once() {
    let sb = sandbox();
    let c = client(&sb);
    let p = &sb.sample(1)[0];
    let q = Query::parse(&p.nik, &p.full_name, &p.birth_date).unwrap();
    // The answer is cut mid-body after the registry charged: the retry replays it, free.
    sb.set_fault(Fault::ResetMidBody);
    let _ = c.verify(&q);
    sb.clear_fault();
    let before = sb.accounting().partner(DEMO_BANK_PARTNER);
    let opts = andal::CheckOptions::default().idempotency_key("bank-txn-77");
    sb.set_fault(Fault::ResetMidBody);
    let first = c.verify_with(&q, &opts);
    sb.clear_fault();
    // The bank retries the same transaction later with the same key: answered, not charged again.
    let d = c.verify_with(&q, &opts).unwrap();
    assert_eq!(d.verdict, Verdict::Match);
    let after = sb.accounting().partner(DEMO_BANK_PARTNER);
    assert!(first.is_err());
    assert_eq!(after.accesses_charged - before.accesses_charged, 1);
    assert!(after.requests_received - before.requests_received >= 2);
}

/// Everything the library prints while running checks, collected and searched for personal
/// data: NIK digits, names and birth dates must never appear.
#[test]
fn no_personal_data_in_any_string() {
    let sb = sandbox();
    let c = client(&sb);
    let people = sb.sample(5);
    let mut texts: Vec<String> = Vec::new();
    for p in &people {
        let q = Query::parse(&p.nik, &p.full_name, &p.birth_date).unwrap();
        texts.push(format!("{q:?}"));
        texts.push(format!("{:?} {}", q.nik(), q.nik()));
        texts.push(format!("{:?}", andal::api::CheckRequest::from_query(&q)));
        let d = c.verify(&q).unwrap();
        texts.push(format!("{d:?}"));
        texts.push(serde_json::to_string(&d).unwrap());
        let wrong = Query::parse(&p.nik, "Nama Salah", &p.birth_date).unwrap();
        texts.push(format!("{:?}", c.verify(&wrong)));
        // Errors of every kind.
        let mut bad = p.nik.clone();
        bad.replace_range(6..8, "99");
        let e = Query::parse(&bad, &p.full_name, &p.birth_date).unwrap_err();
        texts.push(format!("{e} {e:?}"));
        let e = Query::parse(&p.nik, &p.full_name, "31-02-1990").unwrap_err();
        texts.push(format!("{e} {e:?}"));
        sb.set_fault(Fault::Error {
            status: 500,
            rate: 1.0,
        });
        let e = c.verify(&q).unwrap_err();
        texts.push(format!("{e} {e:?}"));
        sb.set_fault(Fault::MalformedJson);
        let e = c.verify(&q).unwrap_err();
        texts.push(format!("{e} {e:?}"));
        sb.clear_fault();
        c.breaker().reset();
    }
    texts.push(format!("{c:?} {:?}", c.health()));
    let all = texts.join("\n");
    for p in &people {
        assert!(!all.contains(&p.nik), "raw NIK leaked");
        assert!(!all.contains(&p.nik[4..14]), "NIK middle digits leaked");
        assert!(
            !all.to_uppercase().contains(&p.full_name.to_uppercase()),
            "name leaked"
        );
        assert!(!all.contains(&p.birth_date), "birth date leaked");
    }
}

#[test]
fn shared_by_threads_against_the_sandbox() {
    let sb = Arc::new(sandbox());
    let c = client(&sb);
    let people = sb.sample(64);
    std::thread::scope(|s| {
        for chunk in people.chunks(8) {
            let c = c.clone();
            s.spawn(move || {
                for p in chunk {
                    let q = Query::parse(&p.nik, &p.full_name, &p.birth_date).unwrap();
                    assert_eq!(c.verify(&q).unwrap().verdict, Verdict::Match);
                }
            });
        }
    });
    assert_eq!(
        sb.accounting().partner(DEMO_BANK_PARTNER).accesses_charged,
        64
    );
}
