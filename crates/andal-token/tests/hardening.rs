//! Issue 10 §3: weak keys, header strictness, interoperable encodings, issuer binding.
mod common;

use andal_token::issue::{Authority, SigningKey};
use andal_token::*;
use common::*;

fn hex32(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

/// Every encoding of an Ed25519 point of small order: the 8 canonical ones (identity,
/// order 2, two of order 4, four of order 8) and the 6 non-canonical ones (sign bit on
/// x = 0, and y >= p reducing to 1, p - 1 or 0).
const SMALL_ORDER: [&str; 14] = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    // non-canonical
    "0100000000000000000000000000000000000000000000000000000000000080",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
];

fn okp_json(x: &[u8]) -> String {
    format!(
        r#"{{"kty":"OKP","crv":"Ed25519","x":"{}","kid":"k"}}"#,
        b64url_encode(x)
    )
}

/// Every way a key is loaded must refuse it with `expected`.
fn assert_key_refused(json: &str, expected: &TokenError) {
    assert_eq!(
        Jwk::from_json(json).err().as_ref(),
        Some(expected),
        "{json}"
    );
    assert_eq!(
        RootKey::from_json(json).err().as_ref(),
        Some(expected),
        "{json}"
    );
    // A JWK that did not come through Jwk::from_json (e.g. a keyset payload member).
    let raw: Jwk = serde_json::from_str(json).unwrap();
    assert_eq!(VerifyingKey::from_jwk(&raw).err().as_ref(), Some(expected));
    assert_eq!(RootKey::from_jwk(&raw).err().as_ref(), Some(expected));
    let f = Fixture::new();
    let doc = f
        .authority
        .signing_key()
        .sign_raw(
            &header("EdDSA", KEYSET_TYP, "root-2026"),
            &format!(r#"{{"iss":"{ISS}","iat":{},"keys":[{json}]}}"#, NOW - DAY),
        )
        .unwrap();
    assert_eq!(
        Keyset::verify_signed(&doc, &f.roots(), NOW).err().as_ref(),
        Some(expected),
        "{json}"
    );
}

#[test]
fn all_small_order_ed25519_encodings_are_refused_everywhere() {
    for (i, h) in SMALL_ORDER.iter().enumerate() {
        let x = hex32(h);
        // Sanity: the list is what it claims (8 canonical, 6 not).
        let p = curve25519_dalek::edwards::CompressedEdwardsY(x)
            .decompress()
            .unwrap();
        assert!(p.is_small_order(), "{h}");
        assert_eq!(p.compress().to_bytes() == x, i < 8, "{h}");
        assert_key_refused(&okp_json(&x), &TokenError::SmallOrderKey);
    }
}

/// y = p + k for small k: the encodings of y >= p (255 bits).
fn y_above_p(k: u8) -> [u8; 32] {
    let mut b = [0xff; 32];
    b[0] = 0xed + k; // p = 2^255 - 19 = ed ff .. ff 7f (little-endian)
    b[31] = 0x7f;
    b
}

#[test]
fn non_canonical_and_off_curve_ed25519_keys_are_refused() {
    use curve25519_dalek::edwards::CompressedEdwardsY;
    let (mut non_canonical, mut off_curve) = (0, 0);
    for k in 0..=18u8 {
        for sign in [0u8, 0x80] {
            let mut x = y_above_p(k);
            x[31] |= sign;
            let expected = match CompressedEdwardsY(x).decompress() {
                None => {
                    off_curve += 1;
                    TokenError::KeyNotOnCurve
                }
                Some(p) if p.is_small_order() => TokenError::SmallOrderKey,
                Some(_) => {
                    non_canonical += 1;
                    TokenError::NonCanonicalKey
                }
            };
            assert_key_refused(&okp_json(&x), &expected);
        }
    }
    assert!(
        non_canonical > 0 && off_curve > 0,
        "{non_canonical} {off_curve}"
    );
    // A real key still loads.
    let good = SigningKey::ed25519_from_seed("k", &seed(2)).unwrap();
    VerifyingKey::from_jwk(&good.public_jwk()).unwrap();
    Jwk::from_json(&good.public_jwk().to_json()).unwrap();
}

/// The forgery the check prevents: under the identity key, `R = B, S = 1` verifies any
/// message (and ring, which checks the point only when verifying, accepts it).
#[test]
fn identity_key_forgery_is_impossible() {
    let mut sig = [0x66u8; 64];
    sig[0] = 0x58;
    sig[32..].copy_from_slice(&IDENTITY);
    let msg = b"any payload at all";
    assert!(
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, IDENTITY)
            .verify(msg, &sig)
            .is_ok(),
        "the attack is real"
    );
    let jwk_json = okp_json(&IDENTITY);
    // The key does not even load, so nothing can be verified under it.
    assert_eq!(
        RootKey::from_json(&jwk_json).err(),
        Some(TokenError::SmallOrderKey)
    );
    let raw: Jwk = serde_json::from_str(&jwk_json).unwrap();
    let claims = serde_json::to_string(&Fixture::new().valid_claims()).unwrap();
    let token = unsigned(&header("EdDSA", ATTESTATION_TYP, "k"), &claims, &sig);
    assert_eq!(
        verify_compact(&token, &raw).err(),
        Some(TokenError::SmallOrderKey)
    );
    // A keyset "signed" by an identity root: the root cannot be constructed.
    let ks = unsigned(
        &header("EdDSA", KEYSET_TYP, "k"),
        &format!(r#"{{"iss":"{ISS}","iat":{NOW},"keys":[]}}"#),
        &sig,
    );
    let roots: Vec<RootKey> = [RootKey::from_json(&jwk_json)]
        .into_iter()
        .flatten()
        .collect();
    assert!(roots.is_empty());
    assert!(Keyset::verify_signed(&ks, &roots, NOW).is_err());
}

#[test]
fn p256_points_off_the_curve_are_refused() {
    let ec = |x: &[u8], y: &[u8]| {
        format!(
            r#"{{"kty":"EC","crv":"P-256","x":"{}","y":"{}","kid":"k"}}"#,
            b64url_encode(x),
            b64url_encode(y)
        )
    };
    let x = base64_decode(RFC7515_A3_X);
    let y = base64_decode(RFC7515_A3_Y);
    Jwk::from_json(&ec(&x, &y)).unwrap();
    VerifyingKey::from_jwk(&es_jwk()).unwrap();
    let mut y1 = y.clone();
    y1[31] ^= 1;
    // P-256 field prime p (coordinates >= p are not field elements).
    let p = hex32("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
    for (name, xx, yy) in [
        ("y off by one", x.clone(), y1),
        ("zero point", vec![0; 32], vec![0; 32]),
        ("x = p", p.to_vec(), y.clone()),
        ("y = p", x.clone(), p.to_vec()),
        ("all ones", vec![0xff; 32], vec![0xff; 32]),
    ] {
        eprintln!("{name}");
        assert_key_refused(&ec(&xx, &yy), &TokenError::KeyNotOnCurve);
    }
}

fn mint(f: &Fixture) -> andal_token::Claims {
    f.valid_claims()
}

#[test]
fn interoperable_encodings_are_accepted() {
    let f = Fixture::new();
    let k = f.issuer.key();
    let payload = serde_json::to_string(&mint(&f)).unwrap();
    for (alg, typ) in [
        ("Ed25519", ATTESTATION_TYP),
        ("EdDSA", "application/andal-attestation+jwt"),
        ("EdDSA", "Application/ANDAL-Attestation+JWT"),
        ("Ed25519", "ANDAL-ATTESTATION+JWT"),
    ] {
        let t = k.sign_raw(&header(alg, typ, KID), &payload).unwrap();
        f.check_token(&t, NOW, AUD, &FIELDS)
            .unwrap_or_else(|e| panic!("{alg} {typ}: {e:?}"));
    }
    // aud as a single string (RFC 7519 §4.1.3).
    let mut v = serde_json::to_value(mint(&f)).unwrap();
    v["aud"] = serde_json::json!(AUD);
    let t = k.sign_raw(&att_header(), &v.to_string()).unwrap();
    let verified = f.check_token(&t, NOW, AUD, &FIELDS).unwrap();
    assert_eq!(verified.claims.aud, vec![AUD.to_string()]);
    // A JWK may name its algorithm Ed25519 too.
    let mut jwk = k.public_jwk();
    jwk.alg = Some("Ed25519".into());
    assert_eq!(VerifyingKey::from_jwk(&jwk).unwrap().alg(), Alg::EdDSA);
    let es = es_jwk();
    let mut bad = es.clone();
    bad.alg = Some("Ed25519".into());
    assert!(VerifyingKey::from_jwk(&bad).is_err());
    // Keysets and revocation lists with the application/ prefix.
    let root = f.authority.signing_key();
    let ks_payload = serde_json::to_string(
        Keyset::verify_signed(&f.keyset_doc, &f.roots(), NOW)
            .unwrap()
            .payload(),
    )
    .unwrap();
    let ks = root
        .sign_raw(
            &header("Ed25519", "application/andal-keyset+jwt", "root-2026"),
            &ks_payload,
        )
        .unwrap();
    Keyset::verify_signed(&ks, &f.roots(), NOW).unwrap();
}

#[test]
fn documents_are_bound_to_their_issuer() {
    let f = Fixture::new();
    // Same root, another issuer: a newer revocation list that revokes nothing.
    let other = Authority::new(
        "another-issuer",
        SigningKey::ed25519_from_seed("root-2026", &seed(1)).unwrap(),
    );
    let other_rl = other
        .sign_revocation_list(NOW - 60, NOW + DAY, &[], &[])
        .unwrap();
    let rl = RevocationList::verify_signed(&other_rl, &f.roots(), NOW).unwrap();
    assert_eq!(
        RevocationList::verify_signed_for(&other_rl, &f.roots(), NOW, ISS).err(),
        Some(TokenError::WrongIssuer)
    );
    RevocationList::verify_signed_for(&f.revocation_doc, &f.roots(), NOW, ISS).unwrap();
    // Even if such a list is held, it cannot clear a token of our issuer.
    let revoked = f
        .issuer
        .sign_claims(&f.claims(REVOKED_JTI, NOW - 600, NOW + DAY))
        .unwrap();
    let v = f.store.verify(&revoked, &f.opts()).unwrap();
    assert_eq!(
        f.revocations.check(&v.claims, FIELDS.nik).err(),
        Some(TokenError::Revoked {
            by: RevokedBy::TokenId
        })
    );
    assert_eq!(
        rl.check(&v.claims, FIELDS.nik).err(),
        Some(TokenError::WrongIssuer)
    );
    // Keysets likewise.
    let other_ks = other.sign_keyset(NOW, &[f.evil.public_jwk()]).unwrap();
    assert_eq!(
        Keyset::verify_signed_for(&other_ks, &f.roots(), NOW, ISS).err(),
        Some(TokenError::WrongIssuer)
    );
    Keyset::verify_signed_for(&f.keyset_doc, &f.roots(), NOW, ISS).unwrap();
}
