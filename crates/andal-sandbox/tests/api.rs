mod common;

use std::sync::Arc;
use std::time::Duration;

use andal::api::{CheckResponse, Health, ProblemCode, SignedDocument};
use andal::decision::{FieldMatch, Verdict};
use andal_sandbox::{
    Accounting, Attester, BPJS_KEY, DEMO_BANK_KEY, DEMO_BANK_PARTNER, Person, SUSPENDED_KEY,
    SamplePerson, SandboxConfig,
};
use common::*;
use serde_json::json;

fn unknown_nik(p: &SamplePerson) -> String {
    // Serials are allocated from 0001 upwards per prefix: 9999 is never reached here.
    format!("{}9999", &p.nik[..12])
}

#[test]
fn health() {
    let sb = sandbox();
    let r = get(sb.addr(), "/v1/health");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let h: Health = r.json();
    assert_eq!(h.status, "ok");
    assert!(sb.url().starts_with("http://127.0.0.1:"));
}

#[test]
fn verdicts_and_fields() {
    let sb = sandbox();
    let a = sb.addr();
    let p = &sb.sample(1)[0];

    let r: CheckResponse = check(a, "k-match", &body_of(p)).json();
    assert_eq!(r.verdict, Verdict::Match);
    assert_eq!(r.fields.nik, FieldMatch::Sesuai);
    assert_eq!(r.fields.full_name, FieldMatch::Sesuai);
    assert_eq!(r.fields.birth_date, FieldMatch::Sesuai);
    assert_eq!(r.fields.birth_place, FieldMatch::Sesuai);
    assert!(
        r.attestation.is_some(),
        "the built-in issuer attests every match"
    );
    assert!(r.registry_time.ends_with('Z'));
    time::OffsetDateTime::parse(
        &r.registry_time,
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();

    // Normalisation on both sides: titles, case, degrees, "Kabupaten" prefix.
    let b = json!({
        "nik": p.nik,
        "full_name": format!("Hj. {}, S.Pd.", p.full_name.to_lowercase()),
        "birth_date": p.birth_date,
        "birth_place": format!("kabupaten {}", p.birth_place),
    });
    let r: CheckResponse = check(a, "k-norm", &b).json();
    assert_eq!(r.verdict, Verdict::Match, "{r:?}");

    // Without birth place: not checked, still a match.
    let b = json!({"nik": p.nik, "full_name": p.full_name, "birth_date": p.birth_date});
    let r: CheckResponse = check(a, "k-noplace", &b).json();
    assert_eq!(r.verdict, Verdict::Match);
    assert_eq!(r.fields.birth_place, FieldMatch::NotChecked);

    // Wrong name.
    let b = json!({"nik": p.nik, "full_name": "Zzz Tidak Ada", "birth_date": p.birth_date});
    let r: CheckResponse = check(a, "k-name", &b).json();
    assert_eq!(r.verdict, Verdict::Mismatch);
    assert_eq!(r.fields.full_name, FieldMatch::TidakSesuai);
    assert_eq!(r.fields.birth_date, FieldMatch::Sesuai);

    // Wrong date, wrong place.
    let b = json!({"nik": p.nik, "full_name": p.full_name, "birth_date": "1900-01-01",
                   "birth_place": "Atlantis"});
    let r: CheckResponse = check(a, "k-date", &b).json();
    assert_eq!(r.verdict, Verdict::Mismatch);
    assert_eq!(r.fields.birth_date, FieldMatch::TidakSesuai);
    assert_eq!(r.fields.birth_place, FieldMatch::TidakSesuai);

    // Not found.
    let b = json!({"nik": unknown_nik(p), "full_name": p.full_name, "birth_date": p.birth_date});
    let r: CheckResponse = check(a, "k-nf", &b).json();
    assert_eq!(r.verdict, Verdict::NotFound);
    assert_eq!(r.fields, andal::FieldResults::not_checked());

    // Inactive.
    let dead = &sb.sample_where(1, false)[0];
    let r: CheckResponse = check(a, "k-dead", &body_of(dead)).json();
    assert_eq!(r.verdict, Verdict::InactiveRecord);
    assert_eq!(r.fields.nik, FieldMatch::Sesuai);
    assert_eq!(r.fields.full_name, FieldMatch::NotChecked);

    let acc = sb.accounting().partner("demo-bank");
    assert_eq!(acc.requests_received, 7);
    assert_eq!(acc.accesses_charged, 7);
    assert_eq!(acc.responses_by_status.get(&200), Some(&7));
}

#[test]
fn request_ids_are_unique() {
    let sb = sandbox();
    let p = &sb.sample(1)[0];
    let ids: std::collections::HashSet<String> = (0..20)
        .map(|i| {
            check(sb.addr(), &format!("uniq-{i}"), &body_of(p))
                .json::<CheckResponse>()
                .request_id
        })
        .collect();
    assert_eq!(ids.len(), 20);
}

#[test]
fn authentication_errors() {
    let sb = sandbox();
    let a = sb.addr();
    let body = body_of(&sb.sample(1)[0]);
    let bytes = serde_json::to_vec(&body).unwrap();

    // Missing header.
    let r = request(
        a,
        "POST",
        "/v1/checks",
        &[
            ("Idempotency-Key", "a1"),
            ("Content-Type", "application/json"),
        ],
        &bytes,
    )
    .unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(r.problem().code, ProblemCode::Unauthorized);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    // Unknown key, wrong scheme.
    assert_eq!(
        check_as(a, "nope", "a2", &body).problem().code,
        ProblemCode::Unauthorized
    );
    let r = request(
        a,
        "POST",
        "/v1/checks",
        &[
            ("Authorization", "Basic abc"),
            ("Idempotency-Key", "a3"),
            ("Content-Type", "application/json"),
        ],
        &bytes,
    )
    .unwrap();
    assert_eq!(r.status, 401);
    // Suspended partner.
    let r = check_as(a, SUSPENDED_KEY, "a4", &body);
    assert_eq!(r.status, 403);
    assert_eq!(r.problem().code, ProblemCode::Forbidden);
    // Scheme is case-insensitive.
    let auth = format!("bearer {BPJS_KEY}");
    let r = request(
        a,
        "POST",
        "/v1/checks",
        &[
            ("Authorization", &auth),
            ("Idempotency-Key", "a5"),
            ("Content-Type", "application/json"),
        ],
        &bytes,
    )
    .unwrap();
    assert_eq!(r.status, 200);

    let acc = sb.accounting();
    assert_eq!(acc.unauthenticated.requests_received, 3);
    assert_eq!(acc.unauthenticated.responses_by_status.get(&401), Some(&3));
    assert_eq!(acc.partner("suspended-demo").requests_received, 1);
    assert_eq!(acc.partner("suspended-demo").accesses_charged, 0);
    assert_eq!(acc.partner("bpjs-demo").accesses_charged, 1);
    assert_eq!(acc.check_requests, 5);
}

/// `X-Partner-Id` must name the partner the API key belongs to (403 `partner_mismatch`);
/// a request without it is accepted unless the sandbox requires it. Trust documents are
/// public, but credentials sent to them are checked the same way.
#[test]
fn partner_id_header_must_match_the_key() {
    let sb = sandbox();
    let a = sb.addr();
    let bytes = serde_json::to_vec(&body_of(&sb.sample(1)[0])).unwrap();
    let auth = format!("Bearer {DEMO_BANK_KEY}");
    let send = |addr, path: &str, partner: Option<&str>, idem: &str| {
        let mut h = vec![
            ("Authorization", auth.as_str()),
            ("Idempotency-Key", idem),
            ("Content-Type", "application/json"),
        ];
        if let Some(p) = partner {
            h.push(("X-Partner-Id", p));
        }
        let (method, body): (&str, &[u8]) = if path == "/v1/checks" {
            ("POST", &bytes)
        } else {
            ("GET", b"")
        };
        request(addr, method, path, &h, body).unwrap()
    };

    assert_eq!(
        send(a, "/v1/checks", Some(DEMO_BANK_PARTNER), "p1").status,
        200
    );
    for (i, wrong) in ["bpjs-demo", "bank-a", "", "demo-bank-x"]
        .iter()
        .enumerate()
    {
        let r = send(a, "/v1/checks", Some(wrong), &format!("p-wrong-{i}"));
        assert_eq!(r.status, 403, "{wrong}");
        let p = r.problem();
        assert_eq!(p.code, ProblemCode::PartnerMismatch);
        // The answer names neither the partner sent nor the key's partner.
        let detail = p.detail.unwrap_or_default();
        assert!(
            !detail.contains("bpjs") && !detail.contains("demo-bank"),
            "{detail}"
        );
    }
    // Older clients without the header keep working.
    assert_eq!(send(a, "/v1/checks", None, "p2").status, 200);
    // Trust documents: public without credentials; sent credentials are checked.
    assert_eq!(get(a, "/v1/keys").status, 200);
    for path in ["/v1/keys", "/v1/revocations"] {
        assert_eq!(send(a, path, Some(DEMO_BANK_PARTNER), "-").status, 200);
        let r = send(a, path, Some("bpjs-demo"), "-");
        assert_eq!(r.status, 403);
        assert_eq!(r.problem().code, ProblemCode::PartnerMismatch);
        let r = request(a, "GET", path, &[("Authorization", "Bearer nope")], b"").unwrap();
        assert_eq!(r.status, 401);
    }
    let acc = sb.accounting().partner(DEMO_BANK_PARTNER);
    assert_eq!(acc.accesses_charged, 2);
    assert_eq!(acc.responses_by_status.get(&403), Some(&4));

    // Strict mode: the header is required.
    let strict = sandbox_with(SandboxConfig::default().require_partner_id(true));
    let r = send(strict.addr(), "/v1/checks", None, "s1");
    assert_eq!(r.status, 403);
    assert_eq!(r.problem().code, ProblemCode::PartnerMismatch);
    let r = send(strict.addr(), "/v1/checks", Some(DEMO_BANK_PARTNER), "s2");
    assert_eq!(r.status, 200);
}

#[test]
fn idempotency_key_validation() {
    let sb = sandbox();
    let a = sb.addr();
    let body = body_of(&sb.sample(1)[0]);
    let bytes = serde_json::to_vec(&body).unwrap();
    let auth = format!("Bearer {DEMO_BANK_KEY}");
    let r = request(
        a,
        "POST",
        "/v1/checks",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        &bytes,
    )
    .unwrap();
    assert_eq!(r.status, 400);
    assert!(r.problem().detail.unwrap().contains("Idempotency-Key"));
    for bad in ["has space", "slash/no", &"k".repeat(129), "ümlaut"] {
        let r = check(a, bad, &body);
        assert_eq!(r.status, 400, "{bad}");
    }
    for good in ["a", "A-z_0.9:x", &"k".repeat(128)] {
        assert_eq!(check(a, good, &body).status, 200, "{good}");
    }
}

#[test]
fn media_type_size_and_body_errors() {
    let sb = sandbox();
    let a = sb.addr();
    let p = &sb.sample(1)[0];
    let auth = format!("Bearer {DEMO_BANK_KEY}");
    let bytes = serde_json::to_vec(&body_of(p)).unwrap();

    // 415
    for ct in [Some("text/plain"), Some("application/xml"), None] {
        let mut h = vec![("Authorization", auth.as_str()), ("Idempotency-Key", "m1")];
        if let Some(ct) = ct {
            h.push(("Content-Type", ct));
        }
        let r = request(a, "POST", "/v1/checks", &h, &bytes).unwrap();
        assert_eq!(r.status, 415, "{ct:?}");
        assert_eq!(r.problem().code, ProblemCode::UnsupportedMediaType);
    }
    // charset parameter is fine
    let r = request(
        a,
        "POST",
        "/v1/checks",
        &[
            ("Authorization", &auth),
            ("Idempotency-Key", "m2"),
            ("Content-Type", "application/json; charset=utf-8"),
        ],
        &bytes,
    )
    .unwrap();
    assert_eq!(r.status, 200);

    // 413: announced 1 MB, only 20 KiB sent; answered without reading the rest.
    let mut s = connect(a, Duration::from_secs(5)).unwrap();
    let head = format!(
        "POST /v1/checks HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nIdempotency-Key: m3\r\n\
         Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
    );
    use std::io::Write;
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&vec![b' '; 20 * 1024]).unwrap();
    let r = read_response(&mut s).unwrap();
    assert_eq!(r.status, 413);
    assert_eq!(r.problem().code, ProblemCode::PayloadTooLarge);
    assert_eq!(r.header("connection"), Some("close"));

    // 400: JSON and field errors; details never echo the input.
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("syntax", b"{\"nik\": ".to_vec()),
        ("not an object", b"[1,2]".to_vec()),
        (
            "unknown field",
            serde_json::to_vec(&json!({"nik": p.nik, "full_name": p.full_name,
            "birth_date": p.birth_date, "extra": "SECRETVALUE"}))
            .unwrap(),
        ),
        (
            "wrong type",
            serde_json::to_vec(&json!({"nik": "SECRETVALUE", "full_name": 5,
            "birth_date": p.birth_date}))
            .unwrap(),
        ),
        (
            "bad nik",
            serde_json::to_vec(&json!({"nik": "3316093201900001",
            "full_name": p.full_name, "birth_date": p.birth_date}))
            .unwrap(),
        ),
        (
            "bad date",
            serde_json::to_vec(&json!({"nik": p.nik,
            "full_name": p.full_name, "birth_date": "1999-02-30"}))
            .unwrap(),
        ),
        (
            "empty name",
            serde_json::to_vec(&json!({"nik": p.nik,
            "full_name": " , ", "birth_date": p.birth_date}))
            .unwrap(),
        ),
        (
            "control char",
            serde_json::to_vec(&json!({"nik": p.nik,
            "full_name": "A\u{7}B", "birth_date": p.birth_date}))
            .unwrap(),
        ),
    ];
    for (i, (what, body)) in cases.iter().enumerate() {
        let idem = format!("bad-{i}");
        let r = request(
            a,
            "POST",
            "/v1/checks",
            &[
                ("Authorization", &auth),
                ("Idempotency-Key", &idem),
                ("Content-Type", "application/json"),
            ],
            body,
        )
        .unwrap();
        assert_eq!(r.status, 400, "{what}");
        let text = r.text();
        let prob = r.problem();
        assert_eq!(prob.code, ProblemCode::InvalidInput);
        for secret in [
            "SECRETVALUE",
            "3316093201900001",
            "1999-02-30",
            &p.nik,
            &p.full_name,
        ] {
            assert!(!text.contains(secret), "{what}: {text}");
        }
    }
    // A 400 is not stored: the same key works once the body is fixed.
    let r = request(
        a,
        "POST",
        "/v1/checks",
        &[
            ("Authorization", &auth),
            ("Idempotency-Key", "bad-0"),
            ("Content-Type", "application/json"),
        ],
        &bytes,
    )
    .unwrap();
    assert_eq!(r.status, 200);
    let acc = sb.accounting().partner("demo-bank");
    assert_eq!(acc.accesses_charged, 2);
    assert_eq!(acc.responses_by_status.get(&400), Some(&8));
    assert_eq!(acc.responses_by_status.get(&413), Some(&1));
    assert_eq!(acc.responses_by_status.get(&415), Some(&3));
}

#[test]
fn idempotent_replay_is_identical_and_charged_once() {
    let sb = sandbox();
    let a = sb.addr();
    let people = sb.sample(2);
    let first = check(a, "same-key", &body_of(&people[0]));
    assert_eq!(first.status, 200);
    assert!(first.header("idempotent-replayed").is_none());
    for _ in 0..3 {
        let again = check(a, "same-key", &body_of(&people[0]));
        assert_eq!(again.status, 200);
        assert_eq!(again.body, first.body, "replay is byte-identical");
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
    }
    // Same key, different body: 409.
    let r = check(a, "same-key", &body_of(&people[1]));
    assert_eq!(r.status, 409);
    assert_eq!(r.problem().code, ProblemCode::IdempotencyKeyReused);
    // Same key from another partner: independent.
    let r = check_as(a, BPJS_KEY, "same-key", &body_of(&people[1]));
    assert_eq!(r.status, 200);

    let acc = sb.accounting();
    let bank = acc.partner("demo-bank");
    assert_eq!(bank.requests_received, 5);
    assert_eq!(bank.accesses_charged, 1);
    assert_eq!(bank.idempotent_replays, 3);
    assert_eq!(bank.responses_by_status.get(&200), Some(&4));
    assert_eq!(bank.responses_by_status.get(&409), Some(&1));
    assert_eq!(acc.total_charged(), 2);
    sb.reset_accounting();
    assert_eq!(sb.accounting().partner("demo-bank"), Default::default());
    assert!(sb.accounting().partners.contains_key("bpjs-demo"));
}

#[test]
fn idempotency_keys_expire() {
    let sb = sandbox_with(SandboxConfig::default().idempotency_ttl(Duration::from_millis(50)));
    let p = &sb.sample(2);
    assert_eq!(check(sb.addr(), "exp", &body_of(&p[0])).status, 200);
    std::thread::sleep(Duration::from_millis(80));
    // Expired: a new body is accepted and charged again.
    assert_eq!(check(sb.addr(), "exp", &body_of(&p[1])).status, 200);
    assert_eq!(sb.accounting().partner("demo-bank").accesses_charged, 2);
}

#[test]
fn concurrent_requests_from_eight_threads() {
    let sb = Arc::new(sandbox());
    let people = sb.sample(8);
    let mut handles = Vec::new();
    for (t, p) in people.iter().cloned().enumerate() {
        let sb = Arc::clone(&sb);
        handles.push(std::thread::spawn(move || {
            for i in 0..25 {
                let r = check(sb.addr(), &format!("t{t}-{i}"), &body_of(&p));
                assert_eq!(r.status, 200);
                assert_eq!(r.json::<CheckResponse>().verdict, Verdict::Match);
            }
            // Every thread also races on one shared key with the same body.
            check(sb.addr(), "shared-key", &body_of(&people_0())).body
        }));
    }
    fn people_0() -> SamplePerson {
        andal_sandbox::Registry::generate(SEED, PEOPLE).sample_where(1, true)[0].clone()
    }
    let bodies: Vec<Vec<u8>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "duplicates answered identically"
    );
    let acc: Accounting = sb.accounting();
    let bank = acc.partner("demo-bank");
    assert_eq!(bank.requests_received, 208);
    assert_eq!(bank.accesses_charged, 201);
    assert_eq!(bank.idempotent_replays, 7);
    assert_eq!(acc.check_requests, 208);
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let sb = sandbox();
    let mut s = connect(sb.addr(), Duration::from_secs(5)).unwrap();
    for _ in 0..3 {
        write_request(&mut s, "GET", "/v1/health", &[], b"", false).unwrap();
        let r = read_response(&mut s).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("connection"), Some("keep-alive"));
    }
    assert_eq!(sb.accounting().connections_accepted, 1);
    assert_eq!(sb.accounting().v1_requests, 3);
}

#[test]
fn unknown_paths_and_methods() {
    let sb = sandbox();
    let r = get(sb.addr(), "/v2/nothing");
    assert_eq!(r.status, 404);
    assert_eq!(r.problem().code, ProblemCode::NotFound);
    let r = get(sb.addr(), "/v1/checks");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));
    assert_eq!(r.problem().code, ProblemCode::MethodNotAllowed);
    let r = request(sb.addr(), "POST", "/v1/health", &[], b"").unwrap();
    assert_eq!(r.status, 405);
    // Garbage is a 400, not a crash.
    use std::io::Write;
    let mut s = connect(sb.addr(), Duration::from_secs(5)).unwrap();
    s.write_all(b"\x00\x01 nonsense\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s).unwrap().status, 400);
    // Chunked request bodies are refused.
    let mut s = connect(sb.addr(), Duration::from_secs(5)).unwrap();
    s.write_all(
        b"POST /v1/checks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    )
    .unwrap();
    assert_eq!(read_response(&mut s).unwrap().status, 400);
}

#[test]
fn keys_and_revocations_without_issuer_are_404() {
    let sb = sandbox_with(SandboxConfig::default().without_issuer());
    for path in ["/v1/keys", "/v1/revocations"] {
        let r = get(sb.addr(), path);
        assert_eq!(r.status, 404);
        assert_eq!(r.problem().detail.as_deref(), Some("no issuer configured"));
    }
}

struct FakeIssuer;
impl Attester for FakeIssuer {
    fn attest(&self, partner: &str, person: &Person) -> Option<String> {
        Some(format!("token-for-{partner}-{}", person.nik_masked()))
    }
    fn keys_document(&self) -> Option<String> {
        Some("keys.jws".into())
    }
    fn revocations_document(&self) -> Option<String> {
        Some("revocations.jws".into())
    }
}

#[test]
fn attester_hook_signs_matches_and_serves_documents() {
    let sb = sandbox_with(SandboxConfig::default().attester(Arc::new(FakeIssuer)));
    let a = sb.addr();
    let d: SignedDocument = get(a, "/v1/keys").json();
    assert_eq!(d.jws, "keys.jws");
    let d: SignedDocument = get(a, "/v1/revocations").json();
    assert_eq!(d.jws, "revocations.jws");
    let p = &sb.sample(1)[0];
    let r: CheckResponse = check(a, "att-1", &body_of(p)).json();
    assert_eq!(r.verdict, Verdict::Match);
    assert!(r.attestation.unwrap().starts_with("token-for-demo-bank-"));
    let b = json!({"nik": p.nik, "full_name": "Orang Lain", "birth_date": p.birth_date});
    let r: CheckResponse = check(a, "att-2", &b).json();
    assert_eq!(r.verdict, Verdict::Mismatch);
    assert!(r.attestation.is_none());
}

#[test]
fn admin_endpoints() {
    let sb = sandbox();
    let a = sb.addr();
    let s: Vec<SamplePerson> = get(a, "/admin/sample?n=3&active=true").json();
    assert_eq!(s, sb.sample(3));
    let s: Vec<SamplePerson> = get(a, "/admin/sample?n=2&active=false").json();
    assert_eq!(s, sb.sample_where(2, false));
    let s: Vec<SamplePerson> = get(a, "/admin/sample").json();
    assert_eq!(s.len(), 5);
    assert_eq!(get(a, "/admin/sample?n=abc").status, 400);
    assert_eq!(get(a, "/admin/sample?n=5000").status, 400);
    assert_eq!(get(a, "/admin/sample?active=maybe").status, 400);

    let r = request(
        a,
        "PUT",
        "/admin/fault",
        &[("Content-Type", "application/json")],
        br#"{"kind":"throttle","retry_after_secs":3}"#,
    )
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        sb.fault(),
        Some(andal_sandbox::Fault::Throttle {
            retry_after_secs: 3
        })
    );
    let f: serde_json::Value = get(a, "/admin/fault").json();
    assert_eq!(f["fault"]["kind"], "throttle");
    let r = request(
        a,
        "PUT",
        "/admin/fault",
        &[],
        br#"{"kind":"error","status":200,"rate":1}"#,
    )
    .unwrap();
    assert_eq!(r.status, 400);
    let r = request(a, "PUT", "/admin/fault", &[], br#"{"kind":"explode"}"#).unwrap();
    assert_eq!(r.status, 400);
    let r = request(a, "DELETE", "/admin/fault", &[], b"").unwrap();
    assert_eq!(r.status, 204);
    assert_eq!(sb.fault(), None);

    check(a, "adm-1", &body_of(&sb.sample(1)[0]));
    let acc: Accounting = get(a, "/admin/accounting").json();
    assert_eq!(acc.partner("demo-bank").accesses_charged, 1);
    assert_eq!(acc, sb.accounting());
    assert_eq!(
        request(a, "DELETE", "/admin/accounting", &[], b"")
            .unwrap()
            .status,
        204
    );
    assert_eq!(sb.accounting().partner("demo-bank").accesses_charged, 0);
}

#[test]
fn works_with_a_real_http_client() {
    let sb = sandbox();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let p = &sb.sample(1)[0];
    for i in 0..3 {
        let mut resp = agent
            .post(format!("{}/v1/checks", sb.url()))
            .header("Authorization", format!("Bearer {DEMO_BANK_KEY}"))
            .header("Idempotency-Key", format!("ureq-{i}"))
            .header("Content-Type", "application/json")
            .send(serde_json::to_vec(&p.check_request()).unwrap())
            .unwrap();
        assert_eq!(resp.status(), 200);
        let text = resp.body_mut().read_to_string().unwrap();
        let r: CheckResponse = serde_json::from_str(&text).unwrap();
        assert_eq!(r.verdict, Verdict::Match);
    }
    // ureq pools connections: fewer connections than requests.
    assert!(sb.accounting().connections_accepted < 3);
}

#[test]
fn expect_100_continue_is_honoured() {
    use std::io::{Read, Write};
    let sb = sandbox();
    let body = serde_json::to_vec(&body_of(&sb.sample(1)[0])).unwrap();
    let mut s = connect(sb.addr(), Duration::from_secs(5)).unwrap();
    let head = format!(
        "POST /v1/checks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {DEMO_BANK_KEY}\r\n\
         Idempotency-Key: exp-100\r\nContent-Type: application/json\r\n\
         Expect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut interim = [0u8; 25];
    s.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(&body).unwrap();
    let r = read_response(&mut s).unwrap();
    assert_eq!(r.status, 200);
}

#[test]
fn built_in_issuer_attests_matches_and_serves_signed_documents() {
    let sb = sandbox();
    let issuer = sb.issuer().expect("issuer on by default");
    let root = issuer.root_key();
    let now = andal_token::unix_secs(std::time::SystemTime::now());
    let keys = get(sb.addr(), "/v1/keys");
    assert_eq!(keys.status, 200);
    let doc: andal::api::SignedDocument = serde_json::from_slice(&keys.body).unwrap();
    let keyset =
        andal_token::Keyset::verify_signed(&doc.jws, std::slice::from_ref(&root), now).unwrap();
    assert_eq!(
        keyset.keys().len(),
        2,
        "an old and a current key (rotation)"
    );
    let revs = get(sb.addr(), "/v1/revocations");
    let doc: andal::api::SignedDocument = serde_json::from_slice(&revs.body).unwrap();
    andal_token::RevocationList::verify_signed(&doc.jws, &[root], now).unwrap();

    let p = &sb.sample(1)[0];
    let token = sb.mint_token(&p.nik, DEMO_BANK_PARTNER).unwrap();
    let store = andal_token::TrustStore::from_keyset(&keyset);
    let v = store
        .verify(
            &token,
            &andal_token::VerifyOptions::new(DEMO_BANK_PARTNER, now),
        )
        .unwrap();
    let name = andal::normalize_name(&p.full_name);
    assert!(
        v.claims
            .match_fields(&andal_token::FieldValues {
                nik: &p.nik,
                name: &name,
                birth_date: &p.birth_date,
            })
            .all()
    );
}
