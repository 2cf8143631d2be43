//! Root-signed revocation lists.

use std::collections::HashSet;

use ring::digest::{Context, SHA256};
use serde::{Deserialize, Serialize};

use crate::claims::Claims;
use crate::jwk::RootKey;
use crate::jws::MAX_REVOCATION_BYTES;
use crate::keyset::verify_root_doc;
use crate::{Part, RevokedBy, TokenError, b64};

/// Header `typ` of revocation lists.
pub const REVOCATION_TYP: &str = "andal-revocation+jwt";
/// Domain separation tag of subject digests.
pub const SUBJECT_DIGEST_DOMAIN: &str = "andal-subject-v1";

/// `base64url(SHA-256("andal-subject-v1" 0x00 nik))`: lets the issuer revoke
/// a person without knowing token ids. Unsalted by design (it must be
/// recomputable by any verifier), so it is brute-forceable over the NIK space:
/// treat revocation lists as personal data.
pub fn subject_digest(nik_normalised: &str) -> String {
    let mut ctx = Context::new(&SHA256);
    ctx.update(SUBJECT_DIGEST_DOMAIN.as_bytes());
    ctx.update(&[0]);
    ctx.update(nik_normalised.as_bytes());
    b64::encode(ctx.finish().as_ref())
}

/// `base64url(SHA-256(doc))`: a fingerprint of a signed document, e.g. to tell two
/// documents with the same issued-at apart when remembering the newest one held.
pub fn document_fingerprint(doc: &str) -> String {
    b64::encode(ring::digest::digest(&SHA256, doc.as_bytes()).as_ref())
}

/// Revocation list payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationPayload {
    /// Issuer.
    pub iss: String,
    /// Issued at.
    pub iat: u64,
    /// When the next list is due.
    pub next_update: u64,
    /// Revoked token ids.
    pub revoked_jti: Vec<String>,
    /// Revoked subject digests ([`subject_digest`]).
    pub revoked_subjects: Vec<String>,
}

/// How old a revocation list is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Staleness {
    /// Seconds since its `iat` (0 if in the future).
    pub age_secs: u64,
    /// `now > next_update`.
    pub past_next_update: bool,
    /// Seconds past `next_update` (0 if not past).
    pub overdue_secs: u64,
}

/// A verified revocation list.
#[derive(Debug, Clone)]
pub struct RevocationList {
    doc: String,
    payload: RevocationPayload,
    jti: HashSet<String>,
    subjects: HashSet<String>,
}

impl RevocationList {
    /// Verify a signed list (`typ` = `andal-revocation+jwt`) under the root keys.
    pub fn verify_signed(doc: &str, roots: &[RootKey], now: u64) -> Result<Self, TokenError> {
        let payload: RevocationPayload = verify_root_doc(
            doc,
            roots,
            now,
            MAX_REVOCATION_BYTES,
            REVOCATION_TYP,
            |p: &RevocationPayload| p.iat,
        )?;
        if payload.next_update < payload.iat {
            return Err(TokenError::Malformed { part: Part::Claims });
        }
        Ok(RevocationList {
            doc: doc.to_owned(),
            jti: payload.revoked_jti.iter().cloned().collect(),
            subjects: payload.revoked_subjects.iter().cloned().collect(),
            payload,
        })
    }

    /// [`RevocationList::verify_signed`], and the list must be for `issuer`
    /// ([`TokenError::WrongIssuer`] otherwise): a newer list of another issuer under the
    /// same root must not replace ours (it would un-revoke our tokens).
    pub fn verify_signed_for(
        doc: &str,
        roots: &[RootKey],
        now: u64,
        issuer: &str,
    ) -> Result<Self, TokenError> {
        let rl = Self::verify_signed(doc, roots, now)?;
        if rl.iss() != issuer {
            return Err(TokenError::WrongIssuer);
        }
        Ok(rl)
    }

    /// Issuer whose tokens this list revokes.
    pub fn iss(&self) -> &str {
        &self.payload.iss
    }

    /// The signed document, for caching.
    pub fn signed_doc(&self) -> &str {
        &self.doc
    }
    /// The payload.
    pub fn payload(&self) -> &RevocationPayload {
        &self.payload
    }
    /// Issued at.
    pub fn iat(&self) -> u64 {
        self.payload.iat
    }

    /// Whether `claims` (for the person with `nik_normalised`) is revoked (or the list is
    /// for another issuer, see [`RevocationList::check`]).
    pub fn is_revoked(&self, claims: &Claims, nik_normalised: &str) -> bool {
        self.check(claims, nik_normalised).is_err()
    }

    /// `Err(Revoked{..})` when revoked by token id or by subject;
    /// `Err(WrongIssuer)` when the list is not for the token's issuer (a list of another
    /// issuer says nothing about this token, so it cannot clear it).
    pub fn check(&self, claims: &Claims, nik_normalised: &str) -> Result<(), TokenError> {
        if claims.iss != self.payload.iss {
            return Err(TokenError::WrongIssuer);
        }
        if self.jti.contains(&claims.jti) {
            return Err(TokenError::Revoked {
                by: RevokedBy::TokenId,
            });
        }
        if !self.subjects.is_empty() && self.subjects.contains(&subject_digest(nik_normalised)) {
            return Err(TokenError::Revoked {
                by: RevokedBy::Subject,
            });
        }
        Ok(())
    }

    /// Age and overdue status at `now` (unix seconds); the fallback policy decides.
    pub fn staleness(&self, now: u64) -> Staleness {
        let overdue = now.saturating_sub(self.payload.next_update);
        Staleness {
            age_secs: now.saturating_sub(self.payload.iat),
            past_next_update: now > self.payload.next_update,
            overdue_secs: overdue,
        }
    }
}
