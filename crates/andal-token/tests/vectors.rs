//! Test vectors for the bindings: `tests/vectors/tokens/` at the repo root.
//!
//! Regenerate with `ANDAL_REGEN_VECTORS=1 cargo test -p andal-token --test vectors`.
//! Without the variable the test fails if the committed files differ from
//! what the generator produces (generation is fully deterministic).
mod common;

use std::path::PathBuf;

use andal_token::*;
use common::*;
use serde_json::{Value, json};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/tokens")
}

fn fields_json(f: &FieldValues<'_>) -> Value {
    json!({"nik": f.nik, "name": f.name, "birth_date": f.birth_date})
}

fn generate() -> Vec<(&'static str, String)> {
    let f = Fixture::new();
    let root = f.authority.root_key().key().to_jwk();
    let valid = f.valid_token();
    let v = f.check_token(&valid, NOW, AUD, &FIELDS).unwrap();
    let rotated = f
        .old_issuer
        .sign_claims(&f.claims("vec-rotated-0001", NOW - 40 * DAY, NOW + DAY))
        .unwrap();
    f.check_token(&rotated, NOW, AUD, &FIELDS).unwrap();
    let ks = Keyset::verify_signed(&f.keyset_doc, &f.roots(), NOW).unwrap();
    let rl = &f.revocations;
    let st = rl.staleness(NOW);
    let cases: Vec<Value> = f
        .cases()
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "kind": match c.kind { Kind::Token => "token", Kind::Keyset => "keyset", Kind::RevocationList => "revocation_list" },
                "doc": c.doc,
                "now": c.now,
                "audience": c.audience,
                "fields": fields_json(&c.fields),
                "expected_reason": c.expected.reason(),
            })
        })
        .collect();
    let valid_entry = |token: &str, v: &VerifiedToken| {
        json!({
            "token": token,
            "size_bytes": token.len(),
            "now": NOW,
            "leeway": DEFAULT_LEEWAY_SECS,
            "audience": AUD,
            "fields": fields_json(&FIELDS),
            "expected": {
                "kid": v.kid, "alg": v.alg.as_str(), "iss": v.claims.iss, "jti": v.claims.jti,
                "aud": v.claims.aud, "iat": v.claims.iat, "nbf": v.claims.nbf, "exp": v.claims.exp,
                "status": v.claims.status,
                "field_matches": {"nik": true, "name": true, "birth_date": true},
                "revoked": false,
            },
            "non_matching_fields": {"nik": "3174015708900002", "name": "SITI AMINA", "birth_date": "1990-08-18"},
        })
    };
    let rv = f.check_token(&rotated, NOW, AUD, &FIELDS).unwrap();
    let files = vec![
        ("root_key.json", json!(root)),
        (
            "keyset.json",
            json!({
                "doc": f.keyset_doc, "now": NOW, "iss": ks.iss(), "iat": ks.iat(),
                "kids": ks.keys().iter().map(|k| k.kid()).collect::<Vec<_>>(),
                "payload": ks.payload(),
            }),
        ),
        (
            "revocation_list.json",
            json!({
                "doc": f.revocation_doc, "now": NOW, "payload": rl.payload(),
                "subject_digest_example": {"nik": REVOKED_NIK, "digest": subject_digest(REVOKED_NIK)},
                "staleness_at_now": {"age_secs": st.age_secs, "past_next_update": st.past_next_update, "overdue_secs": st.overdue_secs},
            }),
        ),
        (
            "valid_tokens.json",
            json!({"tokens": [
                {"name": "current_key", "header": {"alg": "EdDSA", "typ": ATTESTATION_TYP, "kid": KID}, "claims": v.claims, "check": valid_entry(&valid, &v)},
                {"name": "rotated_old_key_within_window", "header": {"alg": "EdDSA", "typ": ATTESTATION_TYP, "kid": OLD_KID}, "claims": rv.claims, "check": valid_entry(&rotated, &rv)},
            ]}),
        ),
        ("invalid_tokens.json", json!({"cases": cases})),
    ];
    files
        .into_iter()
        .map(|(n, v)| (n, serde_json::to_string_pretty(&v).unwrap() + "\n"))
        .collect()
}

#[test]
fn committed_vectors_are_up_to_date() {
    let d = dir();
    let regen = std::env::var_os("ANDAL_REGEN_VECTORS").is_some();
    for (name, text) in generate() {
        let p = d.join(name);
        if regen {
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(&p, &text).unwrap();
        } else {
            let committed = std::fs::read_to_string(&p).unwrap_or_else(|e| {
                panic!("{}: {e} (run with ANDAL_REGEN_VECTORS=1)", p.display())
            });
            assert!(
                committed == text,
                "{name} is stale: rerun with ANDAL_REGEN_VECTORS=1"
            );
        }
    }
}

fn read(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join(name)).unwrap()).unwrap()
}

fn fields_of(v: &Value) -> (String, String, String) {
    let s = |k: &str| v[k].as_str().unwrap().to_string();
    (s("nik"), s("name"), s("birth_date"))
}

/// Uses only the committed files (as a binding would), not the generator.
#[test]
fn committed_vectors_verify() {
    let root = RootKey::from_json(&read("root_key.json").to_string()).unwrap();
    let roots = [root];
    let ksj = read("keyset.json");
    let now = ksj["now"].as_u64().unwrap();
    let ks = Keyset::verify_signed(ksj["doc"].as_str().unwrap(), &roots, now).unwrap();
    let store = TrustStore::from_keyset(&ks);
    let rlj = read("revocation_list.json");
    let rl = RevocationList::verify_signed(rlj["doc"].as_str().unwrap(), &roots, now).unwrap();
    assert_eq!(
        subject_digest(rlj["subject_digest_example"]["nik"].as_str().unwrap()),
        rlj["subject_digest_example"]["digest"].as_str().unwrap()
    );

    let check =
        |doc: &str, kind: &str, now: u64, aud: &str, fv: &Value| -> Result<(), TokenError> {
            match kind {
                "token" => {
                    let (nik, name, bd) = fields_of(fv);
                    let fields = FieldValues {
                        nik: &nik,
                        name: &name,
                        birth_date: &bd,
                    };
                    let v = store.verify(doc, &VerifyOptions::new(aud, now))?;
                    v.claims.require_fields(&fields)?;
                    rl.check(&v.claims, &nik)
                }
                "keyset" => Keyset::verify_signed(doc, &roots, now).map(|_| ()),
                "revocation_list" => RevocationList::verify_signed(doc, &roots, now).map(|_| ()),
                k => panic!("unknown kind {k}"),
            }
        };

    let valid = read("valid_tokens.json");
    for t in valid["tokens"].as_array().unwrap() {
        let c = &t["check"];
        let token = c["token"].as_str().unwrap();
        let now = c["now"].as_u64().unwrap();
        let aud = c["audience"].as_str().unwrap();
        check(token, "token", now, aud, &c["fields"]).unwrap();
        let v = store.verify(token, &VerifyOptions::new(aud, now)).unwrap();
        assert_eq!(v.claims.jti, c["expected"]["jti"].as_str().unwrap());
        assert_eq!(v.kid.as_deref(), c["expected"]["kid"].as_str());
        let (nik, name, bd) = fields_of(&c["non_matching_fields"]);
        let m = v.claims.match_fields(&FieldValues {
            nik: &nik,
            name: &name,
            birth_date: &bd,
        });
        assert_eq!(
            m,
            FieldMatches {
                nik: false,
                name: false,
                birth_date: false
            }
        );
    }

    let inv = read("invalid_tokens.json");
    let cases = inv["cases"].as_array().unwrap();
    assert!(cases.len() >= 30);
    for c in cases {
        let r = check(
            c["doc"].as_str().unwrap(),
            c["kind"].as_str().unwrap(),
            c["now"].as_u64().unwrap(),
            c["audience"].as_str().unwrap(),
            &c["fields"],
        );
        let got = r.err().map(|e| e.reason());
        assert_eq!(got, c["expected_reason"].as_str(), "case {}", c["name"]);
    }
}
