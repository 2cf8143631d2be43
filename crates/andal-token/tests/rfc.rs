//! Published examples verify at the signature layer.
use andal_token::{Jwk, TokenError, verify_compact};

/// RFC 8037 Appendix A.4 (Ed25519), public key of A.2.
const RFC8037_JWK: &str =
    r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
const RFC8037_JWS: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

/// RFC 7515 Appendix A.3 (ES256).
const RFC7515_JWK: &str = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
const RFC7515_JWS: &str = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

#[test]
fn rfc8037_a4_ed25519_verifies() {
    let key = Jwk::from_json(RFC8037_JWK).unwrap();
    let payload = verify_compact(RFC8037_JWS, &key).unwrap();
    assert_eq!(payload, b"Example of Ed25519 signing");
}

#[test]
fn rfc7515_a3_es256_verifies_high_s() {
    let key = Jwk::from_json(RFC7515_JWK).unwrap();
    let payload = verify_compact(RFC7515_JWS, &key).unwrap();
    let text = String::from_utf8(payload).unwrap();
    assert!(text.contains("\"exp\":1300819380"));
    // Its S is above n/2 (high-S), accepted like every JOSE implementation does.
    use base64::Engine;
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(RFC7515_JWS.rsplit('.').next().unwrap())
        .unwrap();
    let half_n: [u8; 32] = [
        0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31,
        0x92, 0xa8,
    ];
    assert!(sig[32..] > half_n[..], "vector is expected to be high-S");
}

#[test]
fn rfc_keys_do_not_cross_verify() {
    let ed = Jwk::from_json(RFC8037_JWK).unwrap();
    let ec = Jwk::from_json(RFC7515_JWK).unwrap();
    assert_eq!(
        verify_compact(RFC7515_JWS, &ed),
        Err(TokenError::AlgMismatch)
    );
    assert_eq!(
        verify_compact(RFC8037_JWS, &ec),
        Err(TokenError::AlgMismatch)
    );
}

#[test]
fn rfc_vectors_tampered_fail() {
    let key = Jwk::from_json(RFC8037_JWK).unwrap();
    let t = RFC8037_JWS.replace(
        "RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc",
        "RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmd",
    );
    assert!(verify_compact(&t, &key).is_err());
}
