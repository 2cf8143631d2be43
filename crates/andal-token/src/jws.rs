//! JWS compact serialisation (RFC 7515 §7.1) reader.

use serde_json::Value;

use crate::jwk::{Jwk, VerifyingKey};
use crate::{Alg, Part, TokenError, b64, json};

/// Maximum size of an attestation token in bytes.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// Maximum size of a signed keyset document.
pub const MAX_KEYSET_BYTES: usize = 64 * 1024;
/// Maximum size of a signed revocation list.
pub const MAX_REVOCATION_BYTES: usize = 4 * 1024 * 1024;

/// Parsed protected header (only what we act on).
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub alg: Alg,
    pub typ: Option<String>,
    pub kid: Option<String>,
}

/// A structurally valid compact JWS whose signature is NOT yet verified.
pub(crate) struct Compact<'a> {
    pub header: Header,
    /// `BASE64URL(header) '.' BASE64URL(payload)`, the JWS signing input.
    pub signing_input: &'a [u8],
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

fn header_from(bytes: &[u8]) -> Result<Header, TokenError> {
    let malformed = || TokenError::Malformed { part: Part::Header };
    // Duplicate-checked, then as a map: a member that is present with the value `null`
    // is present (serde's `Option` would read it as absent).
    let h: serde_json::Map<String, Value> = json::parse_typed(bytes, Part::Header)?;
    let alg = match h.get("alg") {
        Some(Value::String(s)) => Alg::from_jose(s)?,
        _ => return Err(malformed()),
    };
    // We implement no extension, so any `crit` (even empty, which RFC 7515 §4.1.11
    // forbids, or `null`) is rejected.
    if h.contains_key("crit") {
        return Err(TokenError::UnknownCrit);
    }
    // `typ` and `kid` are strings when present; `null` or any other type is malformed.
    let opt_str = |name: &str| -> Result<Option<String>, TokenError> {
        match h.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(malformed()),
        }
    };
    Ok(Header {
        alg,
        typ: opt_str("typ")?,
        kid: opt_str("kid")?,
    })
}

/// Whether a header `typ` names the media type `expected` (which has no `/`): compared
/// case-insensitively, with or without the `application/` prefix (RFC 7515 §4.1.9).
pub(crate) fn typ_matches(typ: Option<&str>, expected: &str) -> bool {
    let Some(t) = typ else { return false };
    let t = match t.get(..12) {
        Some(p) if p.eq_ignore_ascii_case("application/") => &t[12..],
        _ => t,
    };
    t.eq_ignore_ascii_case(expected)
}

/// Structural parse: size, exactly three segments, strict base64url,
/// strict header JSON. The payload is only base64-decoded, not interpreted.
pub(crate) fn parse(token: &str, max: usize) -> Result<Compact<'_>, TokenError> {
    if token.len() > max {
        return Err(TokenError::Oversized { max });
    }
    let mut it = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(TokenError::Malformed { part: Part::Token });
    };
    let header_bytes = b64::decode(h, Part::Header)?;
    let payload = b64::decode(p, Part::Payload)?;
    let signature = b64::decode(s, Part::Signature)?;
    let header = header_from(&header_bytes)?;
    let signing_input = &token.as_bytes()[..h.len() + 1 + p.len()];
    Ok(Compact {
        header,
        signing_input,
        payload,
        signature,
    })
}

/// Select candidate keys and verify. `kid` only narrows the candidates; every
/// candidate of the header's algorithm is tried. Returns the key that verified.
pub(crate) fn verify_candidates<'k>(
    c: &Compact<'_>,
    keys: impl Iterator<Item = &'k VerifyingKey> + Clone,
) -> Result<&'k VerifyingKey, TokenError> {
    let kid = c.header.kid.as_deref();
    let by_kid = keys.filter(move |k| kid.is_none() || k.kid() == kid);
    if by_kid.clone().next().is_none() {
        return Err(TokenError::UnknownKid);
    }
    let alg = c.header.alg;
    let mut cands = by_kid.filter(move |k| k.alg() == alg).peekable();
    if cands.peek().is_none() {
        return Err(TokenError::AlgMismatch);
    }
    // Shape/range errors are about the signature, not the key: report them.
    crate::jwk::check_signature_shape(alg, &c.signature)?;
    for k in cands {
        if k.verify_raw(c.signing_input, &c.signature).is_ok() {
            return Ok(k);
        }
    }
    Err(TokenError::BadSignature)
}

/// Signature layer only: verify a compact JWS under one key and return the
/// payload bytes. The key fixes the algorithm; `kid`, `typ` and claims are
/// not examined. Tokens above [`MAX_TOKEN_BYTES`] are rejected.
pub fn verify_compact(token: &str, key: &Jwk) -> Result<Vec<u8>, TokenError> {
    let key = VerifyingKey::from_jwk(key)?;
    let c = parse(token, MAX_TOKEN_BYTES)?;
    if c.header.alg != key.alg() {
        return Err(TokenError::AlgMismatch);
    }
    key.verify_raw(c.signing_input, &c.signature)?;
    Ok(c.payload)
}
