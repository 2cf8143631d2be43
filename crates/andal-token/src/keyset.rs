//! Root-signed keysets: the only way a token-signing key becomes trusted.

use serde::{Deserialize, Serialize};

use crate::jwk::{Jwk, RootKey, VerifyingKey};
use crate::jws::{self, MAX_KEYSET_BYTES};
use crate::verify::DEFAULT_LEEWAY_SECS;
use crate::{Part, TokenError, json};

/// Header `typ` of keyset documents.
pub const KEYSET_TYP: &str = "andal-keyset+jwt";

/// Keyset payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeysetPayload {
    /// Issuer of the tokens these keys sign.
    pub iss: String,
    /// Issued at (unix seconds); callers may refuse to go back to an older one.
    pub iat: u64,
    /// Token-signing public keys.
    pub keys: Vec<Jwk>,
}

/// A keyset whose signature under a pinned root key was verified.
#[derive(Debug, Clone)]
pub struct Keyset {
    doc: String,
    payload: KeysetPayload,
    keys: Vec<VerifyingKey>,
}

/// Shared reader for root-signed documents: signature first, then typ, then
/// root window vs iat and iat not in the future.
pub(crate) fn verify_root_doc<T: serde::de::DeserializeOwned>(
    doc: &str,
    roots: &[RootKey],
    now: u64,
    max: usize,
    typ: &str,
    iat_of: impl Fn(&T) -> u64,
) -> Result<T, TokenError> {
    let c = jws::parse(doc, max)?;
    let root = jws::verify_candidates(&c, roots.iter().map(RootKey::key))?;
    if !jws::typ_matches(c.header.typ.as_deref(), typ) {
        return Err(TokenError::WrongType);
    }
    let payload: T = json::parse_typed(&c.payload, Part::Claims)?;
    let iat = iat_of(&payload);
    if !root.valid_for_issued_at(iat) {
        return Err(TokenError::KeyNotValidForIssuedAt);
    }
    let limit = now.saturating_add(DEFAULT_LEEWAY_SECS);
    if iat > limit {
        return Err(TokenError::NotYetValid {
            in_secs: iat - limit,
        });
    }
    Ok(payload)
}

impl Keyset {
    /// Verify a signed keyset document (`typ` = `andal-keyset+jwt`) against
    /// the pinned root keys. Every key in it must be a valid public JWK.
    pub fn verify_signed(doc: &str, roots: &[RootKey], now: u64) -> Result<Self, TokenError> {
        let payload: KeysetPayload = verify_root_doc(
            doc,
            roots,
            now,
            MAX_KEYSET_BYTES,
            KEYSET_TYP,
            |p: &KeysetPayload| p.iat,
        )?;
        let keys = payload
            .keys
            .iter()
            .map(VerifyingKey::from_jwk)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Keyset {
            doc: doc.to_owned(),
            payload,
            keys,
        })
    }

    /// [`Keyset::verify_signed`], and the keyset must be for `issuer`
    /// ([`TokenError::WrongIssuer`] otherwise): a root may sign keysets for several
    /// issuers, and a keyset of another issuer must not replace the one a client holds.
    pub fn verify_signed_for(
        doc: &str,
        roots: &[RootKey],
        now: u64,
        issuer: &str,
    ) -> Result<Self, TokenError> {
        let ks = Self::verify_signed(doc, roots, now)?;
        if ks.iss() != issuer {
            return Err(TokenError::WrongIssuer);
        }
        Ok(ks)
    }

    /// Same as [`Keyset::verify_signed`] for bytes read from a cache file.
    pub fn from_cached_bytes(
        bytes: &[u8],
        roots: &[RootKey],
        now: u64,
    ) -> Result<Self, TokenError> {
        let s =
            std::str::from_utf8(bytes).map_err(|_| TokenError::Malformed { part: Part::Token })?;
        Self::verify_signed(s.trim_end_matches(['\n', '\r']), roots, now)
    }

    /// The signed document, for caching to disk (re-verify on load).
    pub fn signed_doc(&self) -> &str {
        &self.doc
    }
    /// Issuer.
    pub fn iss(&self) -> &str {
        &self.payload.iss
    }
    /// Issued at.
    pub fn iat(&self) -> u64 {
        self.payload.iat
    }
    /// Validated keys.
    pub fn keys(&self) -> &[VerifyingKey] {
        &self.keys
    }
    /// The payload as signed.
    pub fn payload(&self) -> &KeysetPayload {
        &self.payload
    }
}
