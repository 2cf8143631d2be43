mod common;
use andal_token::issue::{Authority, Issuer, MintRequest, SigningKey};
use andal_token::*;
use common::*;
use proptest::prelude::*;

fn req(iat: u64, exp: u64) -> MintRequest<'static> {
    MintRequest {
        fields: FIELDS,
        audience: vec![AUD.into()],
        iat,
        nbf: None,
        exp,
        jti: None,
    }
}

fn setup(keys: &[&SigningKey]) -> (Authority, TrustStore) {
    let auth = Authority::new(ISS, SigningKey::generate(Alg::EdDSA, "root").unwrap());
    let jwks: Vec<Jwk> = keys.iter().map(|k| k.public_jwk()).collect();
    let doc = auth.sign_keyset(NOW, &jwks).unwrap();
    let ks = Keyset::verify_signed(&doc, &[auth.root_key()], NOW).unwrap();
    (auth, TrustStore::from_keyset(&ks))
}

#[test]
fn round_trip_both_algorithms() {
    for alg in [Alg::EdDSA, Alg::ES256] {
        let key = SigningKey::generate(alg, format!("k-{alg}")).unwrap();
        let (_, store) = setup(&[&key]);
        let issuer = Issuer::new(ISS, key);
        let token = issuer.mint(&req(NOW, NOW + 3600)).unwrap();
        let v = store
            .verify(&token, &VerifyOptions::new(AUD, NOW + 10))
            .unwrap();
        assert_eq!(v.alg, alg);
        assert_eq!(v.kid.as_deref(), Some(format!("k-{alg}").as_str()));
        let m = v.claims.match_fields(&FIELDS);
        assert!(m.all());
        assert!(v.claims.field_matches(Field::Nik, FIELDS.nik));
        assert!(!v.claims.field_matches(Field::Nik, "3174015708900009"));
        assert!(!v.claims.field_matches(Field::Name, FIELDS.nik));
        assert_eq!(
            v.claims.match_fields(&FieldValues {
                birth_date: "1990-01-01",
                ..FIELDS
            }),
            FieldMatches {
                nik: true,
                name: true,
                birth_date: false
            }
        );
    }
}

#[test]
fn es256_and_eddsa_root_keys_both_work() {
    for alg in [Alg::EdDSA, Alg::ES256] {
        let auth = Authority::new(ISS, SigningKey::generate(alg, "root").unwrap());
        let k = SigningKey::generate(Alg::EdDSA, "k").unwrap();
        let doc = auth.sign_keyset(NOW, &[k.public_jwk()]).unwrap();
        Keyset::verify_signed(&doc, &[auth.root_key()], NOW).unwrap();
        let rl = auth.sign_revocation_list(NOW, NOW + 10, &[], &[]).unwrap();
        RevocationList::verify_signed(&rl, &[auth.root_key()], NOW).unwrap();
    }
}

#[test]
fn two_keys_sharing_a_kid_are_both_tried() {
    let a = SigningKey::generate(Alg::EdDSA, "shared").unwrap();
    let b = SigningKey::generate(Alg::EdDSA, "shared").unwrap();
    let c = SigningKey::generate(Alg::ES256, "shared").unwrap();
    let (_, store) = setup(&[&a, &b, &c]);
    for key in [a, b, c] {
        let alg = key.alg();
        let t = Issuer::new(ISS, key).mint(&req(NOW, NOW + 60)).unwrap();
        let v = store.verify(&t, &VerifyOptions::new(AUD, NOW)).unwrap();
        assert_eq!(v.alg, alg);
    }
}

#[test]
fn rotation_old_key_verifies_tokens_issued_in_its_window() {
    let old = SigningKey::generate(Alg::EdDSA, "2025")
        .unwrap()
        .with_validity(Some(0), Some(NOW - 100));
    let new = SigningKey::generate(Alg::EdDSA, "2026")
        .unwrap()
        .with_validity(Some(NOW - 100), None);
    let (_, store) = setup(&[&old, &new]);
    let old_i = Issuer::new(ISS, old);
    let new_i = Issuer::new(ISS, new);
    let o = VerifyOptions::new(AUD, NOW);
    // issued by the old key while it was current, still within token validity
    store
        .verify(&old_i.mint(&req(NOW - 200, NOW + 3600)).unwrap(), &o)
        .unwrap();
    // issued by the old key after its window: refused even though the signature is good
    assert_eq!(
        store.verify(&old_i.mint(&req(NOW - 50, NOW + 3600)).unwrap(), &o),
        Err(TokenError::KeyNotValidForIssuedAt)
    );
    store
        .verify(&new_i.mint(&req(NOW - 50, NOW + 3600)).unwrap(), &o)
        .unwrap();
    assert_eq!(
        store.verify(&new_i.mint(&req(NOW - 200, NOW + 3600)).unwrap(), &o),
        Err(TokenError::KeyNotValidForIssuedAt)
    );
}

#[test]
fn pkcs8_export_import_keeps_the_key() {
    for alg in [Alg::EdDSA, Alg::ES256] {
        let k = SigningKey::generate(alg, "k").unwrap();
        let back = SigningKey::from_pkcs8(alg, "k", k.pkcs8()).unwrap();
        assert_eq!(k.public_jwk(), back.public_jwk());
        let (_, store) = setup(&[&k]);
        let t = Issuer::new(ISS, back).mint(&req(NOW, NOW + 60)).unwrap();
        store.verify(&t, &VerifyOptions::new(AUD, NOW)).unwrap();
        let other = if alg == Alg::EdDSA {
            Alg::ES256
        } else {
            Alg::EdDSA
        };
        assert!(SigningKey::from_pkcs8(other, "k", k.pkcs8()).is_err());
    }
}

#[test]
fn keyset_cache_round_trip_and_roots() {
    let f = Fixture::new();
    let ks = Keyset::verify_signed(&f.keyset_doc, &f.roots(), NOW).unwrap();
    let cached = format!("{}\n", ks.signed_doc()).into_bytes();
    let back = Keyset::from_cached_bytes(&cached, &f.roots(), NOW + DAY).unwrap();
    assert_eq!(back.iat(), ks.iat());
    assert_eq!(back.keys().len(), 4);
    assert_eq!(back.iss(), ISS);
    // no pinned roots: nothing verifies
    assert_eq!(
        Keyset::verify_signed(&f.keyset_doc, &[], NOW).unwrap_err(),
        TokenError::UnknownKid
    );
    // root JWK from JSON config
    let root_json = serde_json::to_string(&f.authority.root_key().key().to_jwk()).unwrap();
    let root = RootKey::from_json(&root_json).unwrap();
    Keyset::verify_signed(&f.keyset_doc, &[root], NOW).unwrap();
}

#[test]
fn revocation_staleness_and_checks() {
    let f = Fixture::new();
    let rl = &f.revocations;
    let s = rl.staleness(NOW);
    assert_eq!(
        s,
        Staleness {
            age_secs: 3600,
            past_next_update: false,
            overdue_secs: 0
        }
    );
    let s = rl.staleness(NOW + DAY + 5);
    assert_eq!(
        s,
        Staleness {
            age_secs: DAY + 3600 + 5,
            past_next_update: true,
            overdue_secs: 5
        }
    );
    let c = f.valid_claims();
    assert!(!rl.is_revoked(&c, FIELDS.nik));
    assert!(rl.is_revoked(&c, REVOKED_NIK));
    let mut c2 = c.clone();
    c2.jti = REVOKED_JTI.into();
    assert_eq!(
        rl.check(&c2, FIELDS.nik),
        Err(TokenError::Revoked {
            by: RevokedBy::TokenId
        })
    );
    assert_eq!(subject_digest("3174010101850002").len(), 43);
}

#[test]
fn leeway_boundaries_inclusive() {
    let f = Fixture::new();
    let t = f.valid_token();
    let exp = NOW + 7 * DAY;
    f.store
        .verify(&t, &VerifyOptions::new(AUD, exp + 60))
        .unwrap();
    assert_eq!(
        f.store
            .verify(&t, &VerifyOptions::new(AUD, exp + 61))
            .unwrap_err(),
        TokenError::Expired { by_secs: 1 }
    );
    let iat = NOW - 600;
    f.store
        .verify(&t, &VerifyOptions::new(AUD, iat - 60))
        .unwrap();
    assert_eq!(
        f.store
            .verify(&t, &VerifyOptions::new(AUD, iat - 61))
            .unwrap_err(),
        TokenError::NotYetValid { in_secs: 1 }
    );
    // zero leeway
    let o = VerifyOptions::new(AUD, exp + 1).with_leeway(std::time::Duration::ZERO);
    assert_eq!(
        f.store.verify(&t, &o).unwrap_err(),
        TokenError::Expired { by_secs: 1 }
    );
}

#[test]
fn typical_token_fits_a_qr_code() {
    let f = Fixture::new();
    let t = f.valid_token();
    eprintln!("typical EdDSA token: {} bytes", t.len());
    assert!(t.len() < 1000, "token is {} bytes", t.len());
    let es = SigningKey::generate(Alg::ES256, KID).unwrap();
    let t = Issuer::new(ISS, es).sign_claims(&f.valid_claims()).unwrap();
    assert!(t.len() < 1000);
}

#[test]
fn error_messages_never_contain_field_values() {
    let f = Fixture::new();
    for c in f.cases() {
        let e = f.run(&c).unwrap_err();
        let msg = e.to_string();
        for v in [FIELDS.nik, FIELDS.name, FIELDS.birth_date, REVOKED_NIK] {
            assert!(!msg.contains(v), "{}: {msg}", c.name);
        }
        assert!(
            !e.reason().is_empty()
                && e.reason()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        );
    }
}

fn fx() -> &'static Fixture {
    static F: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    F.get_or_init(Fixture::new)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC{0,300}") {
        let f = fx();
        let _ = f.store.verify(&s, &f.opts());
        let _ = Keyset::verify_signed(&s, &f.roots(), NOW);
        let _ = RevocationList::verify_signed(&s, &f.roots(), NOW);
    }

    #[test]
    fn dotted_base64_noise_is_rejected(a in "[A-Za-z0-9_-]{0,60}", b in "[A-Za-z0-9_-]{0,200}", c in "[A-Za-z0-9_-]{0,90}") {
        let f = fx();
        let t = format!("{}.{}.{}", a, b, c);
        prop_assert!(f.store.verify(&t, &f.opts()).is_err());
    }

    #[test]
    fn any_single_byte_flip_of_a_valid_token_is_rejected(i in 0usize..600, bit in 0u8..8) {
        let f = fx();
        let t = f.valid_token();
        let mut bytes = t.clone().into_bytes();
        let i = i % bytes.len();
        bytes[i] ^= 1 << bit;
        if let Ok(s) = String::from_utf8(bytes) {
            prop_assert!(f.store.verify(&s, &f.opts()).is_err());
        }
    }

    #[test]
    fn field_digest_matches_only_its_value(v in "[A-Z ]{1,40}", w in "[A-Z ]{1,40}") {
        let salt = [7u8; 16];
        let d = field_digest(Field::Name, &salt, &v);
        prop_assert_eq!(d == field_digest(Field::Name, &salt, &w), v == w);
        prop_assert_ne!(d, field_digest(Field::Nik, &salt, &v));
    }
}
