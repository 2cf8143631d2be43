//! Typed errors with stable reason codes.
//!
//! Messages never contain field values (NIK, name, birth date) nor any
//! attacker-controlled string from a token.

use std::fmt;

/// Which part of a document an error refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Part {
    /// The compact serialisation as a whole (size, segment count).
    Token,
    /// The JOSE header.
    Header,
    /// The payload segment (base64url layer).
    Payload,
    /// The signature segment.
    Signature,
    /// The claims (payload JSON semantics).
    Claims,
    /// A JWK.
    Key,
}

impl Part {
    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Token => "token",
            Part::Header => "header",
            Part::Payload => "payload",
            Part::Signature => "signature",
            Part::Claims => "claims",
            Part::Key => "key",
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a token was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevokedBy {
    /// Its `jti` is on the list.
    TokenId,
    /// The subject digest of the person is on the list.
    Subject,
}

impl fmt::Display for RevokedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RevokedBy::TokenId => "token id",
            RevokedBy::Subject => "subject",
        })
    }
}

/// Every way verification (or issuing) can fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The document is larger than the reader accepts.
    #[error("document exceeds {max} bytes")]
    Oversized {
        /// The limit in bytes.
        max: usize,
    },
    /// Structurally invalid (segment count, JSON syntax, missing/ill-typed member).
    #[error("malformed {part}")]
    Malformed {
        /// Where.
        part: Part,
    },
    /// Not canonical unpadded base64url.
    #[error("invalid base64url in {part}")]
    BadBase64 {
        /// Where.
        part: Part,
    },
    /// A JSON object has the same member twice.
    #[error("duplicate JSON member in {part}")]
    DuplicateKey {
        /// Where.
        part: Part,
    },
    /// Header `alg` is not EdDSA/ES256 (`none`, HS*, RS*, ...).
    #[error("unsupported algorithm")]
    UnsupportedAlg,
    /// Header lists a critical extension this reader does not understand.
    #[error("unknown critical header parameter")]
    UnknownCrit,
    /// Header `alg` differs from the algorithm fixed by the trusted key.
    #[error("header algorithm does not match the trusted key's algorithm")]
    AlgMismatch,
    /// No trusted key carries the header `kid`.
    #[error("no trusted key with this kid")]
    UnknownKid,
    /// No candidate key verifies the signature.
    #[error("signature does not verify")]
    BadSignature,
    /// Signature (or one of its scalars) is all zero.
    #[error("zero signature")]
    ZeroSignature,
    /// A signature scalar is out of range (>= group order).
    #[error("signature scalar out of range")]
    InvalidScalar,
    /// `exp` (+ leeway) is in the past.
    #[error("token expired {by_secs} s ago (after leeway)")]
    Expired {
        /// Seconds past `exp + leeway`.
        by_secs: u64,
    },
    /// `nbf` or `iat` (- leeway) is in the future.
    #[error("token not valid for another {in_secs} s (after leeway)")]
    NotYetValid {
        /// Seconds until it becomes valid.
        in_secs: u64,
    },
    /// The token is not meant for this partner.
    #[error("token audience does not include this partner")]
    WrongAudience,
    /// Header `typ` is not the one expected for this document kind.
    #[error("wrong document type")]
    WrongType,
    /// `iss` differs from the keyset's issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// `status` is not one this verifier accepts.
    #[error("unsupported attestation status")]
    UnsupportedStatus,
    /// The signing key was not valid when the token says it was issued.
    #[error("key not valid at the token's issued-at time")]
    KeyNotValidForIssuedAt,
    /// A JWK is unusable.
    #[error("invalid key: {reason}")]
    InvalidKey {
        /// Static description (no key material).
        reason: &'static str,
    },
    /// A field's salted digest does not match the queried value.
    #[error("digest mismatch for field {field}")]
    DigestMismatch {
        /// Which field.
        field: crate::Field,
    },
    /// The token is revoked.
    #[error("token revoked by {by}")]
    Revoked {
        /// Token id or subject.
        by: RevokedBy,
    },
    /// An Ed25519 public key is a point of small order (the identity, or a point of order
    /// 2, 4 or 8, in any encoding): under it one fixed signature verifies every message.
    #[error("public key is a small-order point")]
    SmallOrderKey,
    /// A public key is not the canonical encoding of its point (Ed25519 `y >= p`, or the
    /// sign bit set on `x = 0`).
    #[error("public key encoding is not canonical")]
    NonCanonicalKey,
    /// A public key is not a point on its curve (or is the identity).
    #[error("public key is not a point on the curve")]
    KeyNotOnCurve,
    /// Key generation / import or randomness failed (issuer side).
    #[error("key rejected: {reason}")]
    KeyRejected {
        /// Static description.
        reason: &'static str,
    },
    /// Could not serialise a document (issuer side).
    #[error("encoding failed")]
    Encoding,
}

impl TokenError {
    /// Stable snake_case code for bindings, logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            TokenError::Oversized { .. } => "oversized",
            TokenError::Malformed { .. } => "malformed",
            TokenError::BadBase64 { .. } => "bad_base64",
            TokenError::DuplicateKey { .. } => "duplicate_key",
            TokenError::UnsupportedAlg => "unsupported_alg",
            TokenError::UnknownCrit => "unknown_crit",
            TokenError::AlgMismatch => "alg_mismatch",
            TokenError::UnknownKid => "unknown_kid",
            TokenError::BadSignature => "bad_signature",
            TokenError::ZeroSignature => "zero_signature",
            TokenError::InvalidScalar => "invalid_scalar",
            TokenError::Expired { .. } => "expired",
            TokenError::NotYetValid { .. } => "not_yet_valid",
            TokenError::WrongAudience => "wrong_audience",
            TokenError::WrongType => "wrong_type",
            TokenError::WrongIssuer => "wrong_issuer",
            TokenError::UnsupportedStatus => "unsupported_status",
            TokenError::KeyNotValidForIssuedAt => "key_not_valid_for_issued_at",
            TokenError::InvalidKey { .. } => "invalid_key",
            TokenError::DigestMismatch { .. } => "digest_mismatch",
            TokenError::Revoked { .. } => "revoked",
            TokenError::SmallOrderKey => "small_order_key",
            TokenError::NonCanonicalKey => "non_canonical_key",
            TokenError::KeyNotOnCurve => "key_not_on_curve",
            TokenError::KeyRejected { .. } => "key_rejected",
            TokenError::Encoding => "encoding",
        }
    }
}
