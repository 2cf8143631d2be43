//! Deterministic fixture shared by the adversarial tests, the round-trip
//! tests and the test-vector generator.
#![allow(dead_code)]

use andal_token::issue::{Authority, DeterministicSalts, Issuer, MintRequest, SigningKey};
use andal_token::*;
use serde_json::{Value, json};

pub const NOW: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z
pub const DAY: u64 = 86_400;
pub const ISS: &str = "andal-sandbox-registry";
pub const AUD: &str = "bpjs-kesehatan";
pub const KID: &str = "tok-2026a";
pub const OLD_KID: &str = "tok-2025";
pub const ES_KID: &str = "es-1";
pub const REVOKED_JTI: &str = "revoked-jti-0001";
pub const REVOKED_NIK: &str = "3174010101850002";

pub const FIELDS: FieldValues<'static> = FieldValues {
    nik: "3174015708900001",
    name: "SITI AMINAH",
    birth_date: "1990-08-17",
};

/// RFC 7515 A.3 P-256 public key (no private half is needed: ES256 cases
/// here are either crafted signatures or rejected before the signature).
pub const RFC7515_A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
pub const RFC7515_A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

pub fn es_jwk() -> Jwk {
    Jwk::from_json(&format!(
        r#"{{"kty":"EC","crv":"P-256","x":"{RFC7515_A3_X}","y":"{RFC7515_A3_Y}","kid":"{ES_KID}","alg":"ES256"}}"#
    ))
    .unwrap()
}

pub struct Fixture {
    pub authority: Authority,
    pub issuer: Issuer,
    pub old_issuer: Issuer,
    /// Same kid as `issuer`, listed first in the keyset: exercises try-each.
    pub twin: SigningKey,
    /// Not in the keyset, claims the kid of `issuer`.
    pub evil: SigningKey,
    /// Signs with kid "root-2026" but is not the pinned root.
    pub fake_root: SigningKey,
    pub keyset_doc: String,
    pub revocation_doc: String,
    pub store: TrustStore,
    pub revocations: RevocationList,
}

pub fn seed(b: u8) -> [u8; 32] {
    [b; 32]
}

impl Fixture {
    pub fn new() -> Self {
        let root = SigningKey::ed25519_from_seed("root-2026", &seed(1)).unwrap();
        let authority = Authority::new(ISS, root);
        let k1 = SigningKey::ed25519_from_seed(KID, &seed(2))
            .unwrap()
            .with_validity(Some(NOW - 30 * DAY), Some(NOW + 365 * DAY));
        let k0 = SigningKey::ed25519_from_seed(OLD_KID, &seed(3))
            .unwrap()
            .with_validity(Some(NOW - 400 * DAY), Some(NOW - 30 * DAY));
        let twin = SigningKey::ed25519_from_seed(KID, &seed(4))
            .unwrap()
            .with_validity(Some(NOW - 30 * DAY), Some(NOW + 365 * DAY));
        let evil = SigningKey::ed25519_from_seed(KID, &seed(9)).unwrap();
        let fake_root = SigningKey::ed25519_from_seed("root-2026", &seed(8)).unwrap();
        let keys = vec![
            twin.public_jwk(),
            k1.public_jwk(),
            k0.public_jwk(),
            es_jwk(),
        ];
        let keyset_doc = authority.sign_keyset(NOW - DAY, &keys).unwrap();
        let revocation_doc = authority
            .sign_revocation_list(
                NOW - 3600,
                NOW + DAY,
                &[REVOKED_JTI.to_string()],
                &[subject_digest(REVOKED_NIK)],
            )
            .unwrap();
        let roots = [authority.root_key()];
        let keyset = Keyset::verify_signed(&keyset_doc, &roots, NOW).unwrap();
        let store = TrustStore::from_keyset(&keyset);
        let revocations = RevocationList::verify_signed(&revocation_doc, &roots, NOW).unwrap();
        let issuer = Issuer::new(ISS, k1)
            .with_salt_source(Box::new(DeterministicSalts::new(b"andal-vectors-v1")));
        let old_issuer = Issuer::new(ISS, k0)
            .with_salt_source(Box::new(DeterministicSalts::new(b"andal-vectors-v1-old")));
        Fixture {
            authority,
            issuer,
            old_issuer,
            twin,
            evil,
            fake_root,
            keyset_doc,
            revocation_doc,
            store,
            revocations,
        }
    }

    pub fn roots(&self) -> Vec<RootKey> {
        vec![self.authority.root_key()]
    }

    pub fn claims(&self, jti: &str, iat: u64, exp: u64) -> Claims {
        self.issuer
            .claims_for(&MintRequest {
                fields: FIELDS,
                audience: vec![AUD.into(), "other-partner".into()],
                iat,
                nbf: None,
                exp,
                jti: Some(jti.into()),
            })
            .unwrap()
    }

    pub fn valid_claims(&self) -> Claims {
        self.claims("vec-valid-0001", NOW - 600, NOW + 7 * DAY)
    }

    pub fn valid_token(&self) -> String {
        self.issuer.sign_claims(&self.valid_claims()).unwrap()
    }

    pub fn opts(&self) -> VerifyOptions {
        VerifyOptions::new(AUD, NOW)
    }

    /// Full offline check of a token: verify, fields, revocation.
    pub fn check_token(
        &self,
        token: &str,
        now: u64,
        aud: &str,
        fields: &FieldValues<'_>,
    ) -> Result<VerifiedToken, TokenError> {
        let v = self.store.verify(token, &VerifyOptions::new(aud, now))?;
        v.claims.require_fields(fields)?;
        self.revocations.check(&v.claims, fields.nik)?;
        Ok(v)
    }
}

pub fn header(alg: &str, typ: &str, kid: &str) -> String {
    format!(r#"{{"alg":"{alg}","typ":"{typ}","kid":"{kid}"}}"#)
}

pub fn att_header() -> String {
    header("EdDSA", ATTESTATION_TYP, KID)
}

pub fn b64(b: &[u8]) -> String {
    b64url_encode(b)
}

/// Replace the signature segment.
pub fn with_sig(token: &str, sig: &[u8]) -> String {
    let i = token.rfind('.').unwrap();
    format!("{}.{}", &token[..i], b64(sig))
}

pub fn unsigned(header: &str, payload: &str, sig: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64(header.as_bytes()),
        b64(payload.as_bytes()),
        b64(sig)
    )
}

pub fn segs(t: &str) -> Vec<String> {
    t.split('.').map(str::to_owned).collect()
}

/// Flip one bit in the decoded bytes of segment `i`.
pub fn tamper(t: &str, i: usize, byte: usize) -> String {
    let mut s = segs(t);
    let mut b = base64_decode(&s[i]);
    b[byte] ^= 0x01;
    s[i] = b64(&b);
    s.join(".")
}

pub fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

pub enum Kind {
    Token,
    Keyset,
    RevocationList,
}

pub struct Case {
    pub name: &'static str,
    pub kind: Kind,
    pub doc: String,
    pub now: u64,
    pub audience: &'static str,
    pub fields: FieldValues<'static>,
    pub expected: TokenError,
}

impl Fixture {
    pub fn run(&self, c: &Case) -> Result<(), TokenError> {
        match c.kind {
            Kind::Token => self
                .check_token(&c.doc, c.now, c.audience, &c.fields)
                .map(|_| ()),
            Kind::Keyset => Keyset::verify_signed(&c.doc, &self.roots(), c.now).map(|_| ()),
            Kind::RevocationList => {
                RevocationList::verify_signed(&c.doc, &self.roots(), c.now).map(|_| ())
            }
        }
    }

    /// The adversarial corpus: each document with the exact error it must raise.
    pub fn cases(&self) -> Vec<Case> {
        use TokenError as E;
        let valid = self.valid_token();
        let vc = self.valid_claims();
        let payload = serde_json::to_string(&vc).unwrap();
        let k = self.issuer.key();
        let sign = |h: &str, p: &str| k.sign_raw(h, p).unwrap();
        let with_claims = |f: &dyn Fn(&mut Value)| {
            let mut v = serde_json::to_value(&vc).unwrap();
            f(&mut v);
            sign(&att_header(), &v.to_string())
        };
        let ed_sig = base64_decode(&segs(&valid)[2]);
        let mut out = Vec::new();
        let mut add = |name: &'static str, doc: String, expected: TokenError| {
            out.push(Case {
                name,
                kind: Kind::Token,
                doc,
                now: NOW,
                audience: AUD,
                fields: FIELDS,
                expected,
            });
        };

        // --- algorithm handling ---
        add(
            "alg_es256_header_on_eddsa_key",
            sign(&header("ES256", ATTESTATION_TYP, KID), &payload),
            E::AlgMismatch,
        );
        add(
            "alg_eddsa_header_on_es256_key",
            sign(&header("EdDSA", ATTESTATION_TYP, ES_KID), &payload),
            E::AlgMismatch,
        );
        add(
            "alg_none",
            format!(
                "{}.{}.",
                b64(br#"{"alg":"none","typ":"andal-attestation+jwt"}"#),
                b64(payload.as_bytes())
            ),
            E::UnsupportedAlg,
        );
        add(
            "alg_none_with_kid",
            unsigned(&header("none", ATTESTATION_TYP, KID), &payload, &[]),
            E::UnsupportedAlg,
        );
        {
            // HS256 with the issuer's public key bytes as the HMAC secret.
            let pk = base64_decode(k.public_jwk().x.as_deref().unwrap());
            let h = header("HS256", ATTESTATION_TYP, KID);
            let input = format!("{}.{}", b64(h.as_bytes()), b64(payload.as_bytes()));
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &pk);
            let tag = ring::hmac::sign(&key, input.as_bytes());
            add(
                "alg_hs256_public_key_as_secret",
                format!("{input}.{}", b64(tag.as_ref())),
                E::UnsupportedAlg,
            );
        }
        add(
            "alg_rs256",
            sign(&header("RS256", ATTESTATION_TYP, KID), &payload),
            E::UnsupportedAlg,
        );
        add(
            "alg_lowercase_eddsa",
            sign(&header("eddsa", ATTESTATION_TYP, KID), &payload),
            E::UnsupportedAlg,
        );
        add(
            "alg_missing",
            sign(
                r#"{"typ":"andal-attestation+jwt","kid":"tok-2026a"}"#,
                &payload,
            ),
            E::Malformed { part: Part::Header },
        );
        add(
            "crit_null",
            sign(
                r#"{"alg":"EdDSA","typ":"andal-attestation+jwt","kid":"tok-2026a","crit":null}"#,
                &payload,
            ),
            E::UnknownCrit,
        );
        add(
            "crit_empty",
            sign(
                r#"{"alg":"EdDSA","typ":"andal-attestation+jwt","kid":"tok-2026a","crit":[]}"#,
                &payload,
            ),
            E::UnknownCrit,
        );
        add(
            "kid_null",
            sign(
                r#"{"alg":"EdDSA","typ":"andal-attestation+jwt","kid":null}"#,
                &payload,
            ),
            E::Malformed { part: Part::Header },
        );
        add(
            "kid_number",
            sign(
                r#"{"alg":"EdDSA","typ":"andal-attestation+jwt","kid":7}"#,
                &payload,
            ),
            E::Malformed { part: Part::Header },
        );
        add(
            "typ_null",
            sign(r#"{"alg":"EdDSA","typ":null,"kid":"tok-2026a"}"#, &payload),
            E::Malformed { part: Part::Header },
        );
        add(
            "alg_ed25519_lowercase",
            sign(&header("ed25519", ATTESTATION_TYP, KID), &payload),
            E::UnsupportedAlg,
        );
        add(
            "alg_ed25519_header_on_es256_key",
            sign(&header("Ed25519", ATTESTATION_TYP, ES_KID), &payload),
            E::AlgMismatch,
        );
        add(
            "typ_other_media_type_prefix",
            sign(
                &header("EdDSA", "text/andal-attestation+jwt", KID),
                &payload,
            ),
            E::WrongType,
        );
        add(
            "typ_application_keyset_on_token",
            sign(
                &header("EdDSA", "application/andal-keyset+jwt", KID),
                &payload,
            ),
            E::WrongType,
        );
        add(
            "crit_unknown",
            sign(
                r#"{"alg":"EdDSA","typ":"andal-attestation+jwt","kid":"tok-2026a","crit":["exp"],"exp":1}"#,
                &payload,
            ),
            E::UnknownCrit,
        );

        // --- keys ---
        add(
            "unknown_kid",
            sign(&header("EdDSA", ATTESTATION_TYP, "nope"), &payload),
            E::UnknownKid,
        );
        add(
            "wrong_key_same_kid",
            self.evil.sign_raw(&att_header(), &payload).unwrap(),
            E::BadSignature,
        );
        add(
            "key_window_issued_after_old_key_expired",
            self.old_issuer
                .sign_claims(&self.claims("vec-old-late", NOW - DAY, NOW + DAY))
                .unwrap(),
            E::KeyNotValidForIssuedAt,
        );
        add(
            "key_window_issued_before_new_key",
            self.issuer
                .sign_claims(&self.claims("vec-new-early", NOW - 40 * DAY, NOW + DAY))
                .unwrap(),
            E::KeyNotValidForIssuedAt,
        );

        // --- tampering ---
        add(
            "tampered_header",
            {
                let mut s = segs(&valid);
                s[0] = b64(header("EdDSA", "JWT", KID).as_bytes());
                s.join(".")
            },
            E::BadSignature,
        );
        add(
            "tampered_payload",
            {
                let mut s = segs(&valid);
                s[1] = b64(payload.replace("\"exp\":", "\"exp\":9").as_bytes());
                s.join(".")
            },
            E::BadSignature,
        );
        add(
            "tampered_signature_r",
            tamper(&valid, 2, 5),
            E::BadSignature,
        );
        add(
            "tampered_signature_s",
            tamper(&valid, 2, 40),
            E::BadSignature,
        );

        // --- structure / encoding ---
        add(
            "truncated_two_segments",
            segs(&valid)[..2].join("."),
            E::Malformed { part: Part::Token },
        );
        add(
            "truncated_signature",
            valid[..valid.len() - 2].to_string(),
            E::Malformed {
                part: Part::Signature,
            },
        );
        add(
            "empty_signature",
            format!("{}.", &valid[..valid.rfind('.').unwrap()]),
            E::Malformed {
                part: Part::Signature,
            },
        );
        add(
            "extra_segment",
            format!("{valid}.AAAA"),
            E::Malformed { part: Part::Token },
        );
        add(
            "extra_empty_segment",
            format!("{valid}."),
            E::Malformed { part: Part::Token },
        );
        add(
            "empty_string",
            String::new(),
            E::Malformed { part: Part::Token },
        );
        add(
            "padding_in_signature",
            format!("{valid}=="),
            E::BadBase64 {
                part: Part::Signature,
            },
        );
        add(
            "padding_in_header",
            {
                let mut s = segs(&valid);
                s[0].push('=');
                s.join(".")
            },
            E::BadBase64 { part: Part::Header },
        );
        add(
            "plus_in_payload",
            {
                let mut s = segs(&valid);
                s[1].replace_range(4..5, "+");
                s.join(".")
            },
            E::BadBase64 {
                part: Part::Payload,
            },
        );
        add(
            "whitespace_in_token",
            format!(" {valid}"),
            E::BadBase64 { part: Part::Header },
        );
        add(
            "non_canonical_trailing_bits",
            {
                // 64-byte signature = 86 chars; last char carries 4 zero bits. 'B' sets one.
                let mut s = segs(&valid);
                let last = s[2].pop().unwrap();
                let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                let idx = alphabet.find(last).unwrap();
                s[2].push(alphabet.as_bytes()[idx | 1] as char);
                s.join(".")
            },
            E::BadBase64 {
                part: Part::Signature,
            },
        );
        add(
            "header_not_json",
            unsigned("not json", &payload, &ed_sig),
            E::Malformed { part: Part::Header },
        );
        add(
            "header_json_array",
            unsigned(r#"["alg","EdDSA"]"#, &payload, &ed_sig),
            E::Malformed { part: Part::Header },
        );
        add(
            "duplicate_key_header",
            sign(
                r#"{"alg":"EdDSA","typ":"andal-attestation+jwt","kid":"tok-2026a","kid":"es-1"}"#,
                &payload,
            ),
            E::DuplicateKey { part: Part::Header },
        );
        add(
            "duplicate_alg_header_escaped",
            sign(
                r#"{"alg":"ES256","typ":"andal-attestation+jwt","kid":"tok-2026a","\u0061lg":"EdDSA"}"#,
                &payload,
            ),
            E::DuplicateKey { part: Part::Header },
        );
        add(
            "duplicate_key_payload",
            sign(
                &att_header(),
                &payload.replacen('{', r#"{"aud":["attacker"],"#, 1),
            ),
            E::DuplicateKey { part: Part::Claims },
        );
        add(
            "duplicate_key_nested_dig",
            sign(
                &att_header(),
                &payload.replacen(
                    r#""nik":{"#,
                    r#""nik":{"salt":"AAAAAAAAAAAAAAAAAAAAAA","#,
                    1,
                ),
            ),
            E::DuplicateKey { part: Part::Claims },
        );
        add(
            "payload_not_json",
            sign(&att_header(), "hello"),
            E::Malformed { part: Part::Claims },
        );
        add(
            "payload_trailing_garbage",
            sign(&att_header(), &format!("{payload} x")),
            E::Malformed { part: Part::Claims },
        );
        add(
            "aud_as_number",
            with_claims(&|v| v["aud"] = json!(7)),
            E::Malformed { part: Part::Claims },
        );
        add(
            "aud_as_string_of_another_partner",
            with_claims(&|v| v["aud"] = json!("other-partner")),
            E::WrongAudience,
        );
        add(
            "exp_negative",
            with_claims(&|v| v["exp"] = json!(-1)),
            E::Malformed { part: Part::Claims },
        );
        add(
            "salt_too_short",
            with_claims(&|v| v["dig"]["name"]["salt"] = json!("AAAA")),
            E::Malformed { part: Part::Claims },
        );
        add(
            "digest_wrong_length",
            with_claims(&|v| v["dig"]["nik"]["digest"] = json!("AAAA")),
            E::Malformed { part: Part::Claims },
        );
        {
            let big = format!("{valid}{}", "A".repeat(MAX_TOKEN_BYTES));
            add(
                "oversized",
                big,
                E::Oversized {
                    max: MAX_TOKEN_BYTES,
                },
            );
        }

        // --- signature scalars ---
        add(
            "zero_signature_eddsa",
            with_sig(&valid, &[0u8; 64]),
            E::ZeroSignature,
        );
        {
            let mut s = ed_sig.clone();
            s[63] = 0xff; // S >= L
            add(
                "eddsa_s_not_reduced",
                with_sig(&valid, &s),
                E::InvalidScalar,
            );
        }
        let es_h = header("ES256", ATTESTATION_TYP, ES_KID);
        add(
            "zero_signature_es256",
            unsigned(&es_h, &payload, &[0u8; 64]),
            E::ZeroSignature,
        );
        {
            let mut s = [0x11u8; 64];
            s[..32].fill(0);
            add(
                "es256_r_zero",
                unsigned(&es_h, &payload, &s),
                E::ZeroSignature,
            );
        }
        let n: [u8; 32] = [
            0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2,
            0xfc, 0x63, 0x25, 0x51,
        ];
        {
            let mut s = [0x11u8; 64];
            s[..32].copy_from_slice(&n);
            add(
                "es256_r_equals_n",
                unsigned(&es_h, &payload, &s),
                E::InvalidScalar,
            );
            let mut s = [0x11u8; 64];
            s[32..].fill(0xff);
            add(
                "es256_s_above_n",
                unsigned(&es_h, &payload, &s),
                E::InvalidScalar,
            );
            add(
                "es256_wrong_length",
                unsigned(&es_h, &payload, &[0x11u8; 63]),
                E::Malformed {
                    part: Part::Signature,
                },
            );
            add(
                "es256_in_range_but_wrong",
                unsigned(&es_h, &payload, &[0x11u8; 64]),
                E::BadSignature,
            );
        }

        // --- semantics after a good signature ---
        add(
            "expired",
            self.issuer
                .sign_claims(&self.claims("vec-expired", NOW - 2 * DAY, NOW - DAY))
                .unwrap(),
            E::Expired { by_secs: DAY - 60 },
        );
        add(
            "expired_by_one_second_past_leeway",
            self.issuer
                .sign_claims(&self.claims("vec-exp-edge", NOW - DAY, NOW - 61))
                .unwrap(),
            E::Expired { by_secs: 1 },
        );
        add(
            "not_yet_valid_nbf",
            with_claims(&|v| v["nbf"] = json!(NOW + 3600)),
            E::NotYetValid { in_secs: 3600 - 60 },
        );
        add(
            "not_yet_valid_by_one_second_past_leeway",
            with_claims(&|v| v["nbf"] = json!(NOW + 61)),
            E::NotYetValid { in_secs: 1 },
        );
        add(
            "issued_in_future",
            with_claims(&|v| v["iat"] = json!(NOW + 600)),
            E::NotYetValid { in_secs: 540 },
        );
        add(
            "nbf_after_exp",
            with_claims(&|v| v["nbf"] = json!(NOW + 8 * DAY)),
            E::Malformed { part: Part::Claims },
        );
        add(
            "wrong_typ",
            sign(&header("EdDSA", "JWT", KID), &payload),
            E::WrongType,
        );
        add(
            "missing_typ",
            sign(r#"{"alg":"EdDSA","kid":"tok-2026a"}"#, &payload),
            E::WrongType,
        );
        add(
            "keyset_typ_on_token",
            sign(&header("EdDSA", KEYSET_TYP, KID), &payload),
            E::WrongType,
        );
        add(
            "wrong_issuer",
            with_claims(&|v| v["iss"] = json!("someone-else")),
            E::WrongIssuer,
        );
        add(
            "bad_status",
            with_claims(&|v| v["status"] = json!("not_found")),
            E::UnsupportedStatus,
        );
        add(
            "empty_audience",
            with_claims(&|v| v["aud"] = json!([])),
            E::WrongAudience,
        );
        out.push(Case {
            name: "wrong_audience",
            kind: Kind::Token,
            doc: valid.clone(),
            now: NOW,
            audience: "mallory",
            fields: FIELDS,
            expected: E::WrongAudience,
        });
        out.push(Case {
            name: "expired_at_leeway_plus_one_by_clock",
            kind: Kind::Token,
            doc: valid.clone(),
            now: NOW + 7 * DAY + 61,
            audience: AUD,
            fields: FIELDS,
            expected: E::Expired { by_secs: 1 },
        });
        for (name, f) in [
            (
                "digest_mismatch_nik",
                FieldValues {
                    nik: "3174015708900002",
                    ..FIELDS
                },
            ),
            (
                "digest_mismatch_name",
                FieldValues {
                    name: "SITI AMINA",
                    ..FIELDS
                },
            ),
            (
                "digest_mismatch_birth_date",
                FieldValues {
                    birth_date: "1990-08-18",
                    ..FIELDS
                },
            ),
        ] {
            let field = match name {
                "digest_mismatch_nik" => Field::Nik,
                "digest_mismatch_name" => Field::Name,
                _ => Field::BirthDate,
            };
            out.push(Case {
                name,
                kind: Kind::Token,
                doc: valid.clone(),
                now: NOW,
                audience: AUD,
                fields: f,
                expected: E::DigestMismatch { field },
            });
        }
        out.push(Case {
            name: "revoked_by_jti",
            kind: Kind::Token,
            doc: self
                .issuer
                .sign_claims(&self.claims(REVOKED_JTI, NOW - 600, NOW + DAY))
                .unwrap(),
            now: NOW,
            audience: AUD,
            fields: FIELDS,
            expected: E::Revoked {
                by: RevokedBy::TokenId,
            },
        });
        {
            const RF: FieldValues<'static> = FieldValues {
                nik: REVOKED_NIK,
                name: "BUDI SANTOSO",
                birth_date: "1985-01-01",
            };
            let c = self
                .issuer
                .claims_for(&MintRequest {
                    fields: RF,
                    audience: vec![AUD.into()],
                    iat: NOW - 600,
                    nbf: None,
                    exp: NOW + DAY,
                    jti: Some("vec-subject-revoked".into()),
                })
                .unwrap();
            out.push(Case {
                name: "revoked_by_subject",
                kind: Kind::Token,
                doc: self.issuer.sign_claims(&c).unwrap(),
                now: NOW,
                audience: AUD,
                fields: RF,
                expected: E::Revoked {
                    by: RevokedBy::Subject,
                },
            });
        }

        // --- keysets and revocation lists ---
        let roots_doc = |kind, name, doc: String, expected| Case {
            name,
            kind,
            doc,
            now: NOW,
            audience: AUD,
            fields: FIELDS,
            expected,
        };
        let ks_payload = String::from_utf8(base64_decode(&segs(&self.keyset_doc)[1])).unwrap();
        out.push(roots_doc(
            Kind::Keyset,
            "keyset_signed_by_non_root",
            self.fake_root
                .sign_raw(&header("EdDSA", KEYSET_TYP, "root-2026"), &ks_payload)
                .unwrap(),
            E::BadSignature,
        ));
        out.push(roots_doc(
            Kind::Keyset,
            "keyset_signed_by_token_key",
            k.sign_raw(&header("EdDSA", KEYSET_TYP, KID), &ks_payload)
                .unwrap(),
            E::UnknownKid,
        ));
        out.push(roots_doc(
            Kind::Keyset,
            "keyset_tampered",
            {
                let mut s = segs(&self.keyset_doc);
                let evil_key = serde_json::to_string(&self.evil.public_jwk()).unwrap();
                s[1] = b64(ks_payload
                    .replacen(r#""keys":["#, &format!(r#""keys":[{evil_key},"#), 1)
                    .as_bytes());
                s.join(".")
            },
            E::BadSignature,
        ));
        out.push(roots_doc(
            Kind::Keyset,
            "keyset_wrong_typ",
            self.authority
                .signing_key()
                .sign_raw(&header("EdDSA", REVOCATION_TYP, "root-2026"), &ks_payload)
                .unwrap(),
            E::WrongType,
        ));
        out.push(roots_doc(
            Kind::Keyset,
            "keyset_with_private_key",
            {
                let p = ks_payload.replacen(r#""kty":"OKP""#, r#""kty":"OKP","d":"AAAA""#, 1);
                self.authority
                    .signing_key()
                    .sign_raw(&header("EdDSA", KEYSET_TYP, "root-2026"), &p)
                    .unwrap()
            },
            E::InvalidKey {
                reason: "private key member in a public JWK",
            },
        ));
        out.push(roots_doc(
            Kind::Keyset,
            "keyset_issued_in_future",
            self.authority.sign_keyset(NOW + DAY, &[]).unwrap(),
            E::NotYetValid { in_secs: DAY - 60 },
        ));
        out.push(roots_doc(
            Kind::Keyset,
            "revocation_list_as_keyset",
            self.revocation_doc.clone(),
            E::WrongType,
        ));
        let rl_payload = String::from_utf8(base64_decode(&segs(&self.revocation_doc)[1])).unwrap();
        out.push(roots_doc(
            Kind::RevocationList,
            "revocation_list_tampered",
            {
                let mut s = segs(&self.revocation_doc);
                s[1] = b64(rl_payload.replace(REVOKED_JTI, "something-else").as_bytes());
                s.join(".")
            },
            E::BadSignature,
        ));
        out.push(roots_doc(
            Kind::RevocationList,
            "revocation_list_signed_by_non_root",
            self.fake_root
                .sign_raw(&header("EdDSA", REVOCATION_TYP, "root-2026"), &rl_payload)
                .unwrap(),
            E::BadSignature,
        ));
        out.push(roots_doc(
            Kind::RevocationList,
            "keyset_as_revocation_list",
            self.keyset_doc.clone(),
            E::WrongType,
        ));
        out.push(roots_doc(
            Kind::RevocationList,
            "revocation_list_duplicate_key",
            self.authority
                .signing_key()
                .sign_raw(
                    &header("EdDSA", REVOCATION_TYP, "root-2026"),
                    &rl_payload.replacen('{', r#"{"revoked_jti":[],"#, 1),
                )
                .unwrap(),
            E::DuplicateKey { part: Part::Claims },
        ));
        // --- weak keys in keysets (a keyset is how a key becomes trusted) ---
        let root_sk = self.authority.signing_key();
        let keyset_with = |jwk: &str| {
            let p = format!(r#"{{"iss":"{ISS}","iat":{},"keys":[{jwk}]}}"#, NOW - DAY);
            root_sk
                .sign_raw(&header("EdDSA", KEYSET_TYP, "root-2026"), &p)
                .unwrap()
        };
        let okp = |x: &str| format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","kid":"weak"}}"#);
        out.push(roots_doc(
            Kind::Keyset,
            "keyset_with_identity_ed25519_key",
            keyset_with(&okp(&b64(&IDENTITY))),
            E::SmallOrderKey,
        ));
        out.push(roots_doc(
            Kind::Keyset,
            "keyset_with_order_2_ed25519_key",
            keyset_with(&okp(&b64(&ORDER_2))),
            E::SmallOrderKey,
        ));
        out.push(roots_doc(
            Kind::Keyset,
            "keyset_with_non_canonical_identity",
            keyset_with(&okp(&b64(&{
                let mut b = IDENTITY;
                b[31] |= 0x80;
                b
            }))),
            E::SmallOrderKey,
        ));
        out.push(roots_doc(
            Kind::Keyset,
            "keyset_with_p256_point_off_curve",
            keyset_with(&format!(
                r#"{{"kty":"EC","crv":"P-256","x":"{RFC7515_A3_X}","y":"{}","kid":"weak"}}"#,
                b64(&{
                    let mut y = base64_decode(RFC7515_A3_Y);
                    y[31] ^= 1;
                    y
                })
            )),
            E::KeyNotOnCurve,
        ));
        out.push(roots_doc(
            Kind::Keyset,
            "keyset_with_p256_zero_point",
            keyset_with(&format!(
                r#"{{"kty":"EC","crv":"P-256","x":"{z}","y":"{z}","kid":"weak"}}"#,
                z = b64(&[0u8; 32])
            )),
            E::KeyNotOnCurve,
        ));
        out
    }
}

/// The Ed25519 identity point, canonical encoding (y = 1).
pub const IDENTITY: [u8; 32] = {
    let mut b = [0u8; 32];
    b[0] = 1;
    b
};
/// The point of order 2, canonical encoding (y = p - 1).
pub const ORDER_2: [u8; 32] = {
    let mut b = [0xff; 32];
    b[0] = 0xec;
    b[31] = 0x7f;
    b
};
