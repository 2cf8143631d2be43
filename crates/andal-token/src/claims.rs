//! Attestation claims and per-field salted digests.

use std::fmt;

use ring::digest::{Context, SHA256};
use serde::{Deserialize, Serialize};

use crate::{Part, TokenError, b64};

/// Header `typ` of attestation tokens.
pub const ATTESTATION_TYP: &str = "andal-attestation+jwt";
/// The only status this version issues and accepts.
pub const STATUS_ACTIVE_MATCH: &str = "active_match";
/// Domain separation tag of field digests.
pub const FIELD_DIGEST_DOMAIN: &str = "andal-field-v1";
/// Minimum salt length in bytes.
pub const MIN_SALT_BYTES: usize = 16;

/// A field the registry attested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The 16-digit NIK.
    Nik,
    /// Normalised full name.
    Name,
    /// Birth date (normalised, e.g. `YYYY-MM-DD`).
    BirthDate,
}

impl Field {
    /// All fields, in digest order.
    pub const ALL: [Field; 3] = [Field::Nik, Field::Name, Field::BirthDate];

    /// Wire name (also the name hashed into the digest).
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Nik => "nik",
            Field::Name => "name",
            Field::BirthDate => "birth_date",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The salted digest of one field.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDigest {
    /// base64url of >= 16 random bytes.
    pub salt: String,
    /// base64url of SHA-256 over the domain-separated input.
    pub digest: String,
}

impl fmt::Debug for FieldDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Digests of low-entropy values are brute-forceable: keep them out of logs.
        f.write_str("FieldDigest(..)")
    }
}

/// Digests for every attested field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDigests {
    /// NIK.
    pub nik: FieldDigest,
    /// Name.
    pub name: FieldDigest,
    /// Birth date.
    pub birth_date: FieldDigest,
}

impl FieldDigests {
    /// The digest entry of `field`.
    pub fn get(&self, field: Field) -> &FieldDigest {
        match field {
            Field::Nik => &self.nik,
            Field::Name => &self.name,
            Field::BirthDate => &self.birth_date,
        }
    }
}

/// Attestation token claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Partner ids this token is meant for. On the wire a single string or an array
    /// (RFC 7519 §4.1.3); always written as an array.
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    /// Issued at (unix seconds).
    pub iat: u64,
    /// Not before (unix seconds).
    pub nbf: u64,
    /// Expires (unix seconds).
    pub exp: u64,
    /// Token id.
    pub jti: String,
    /// `active_match`.
    pub status: String,
    /// Per-field salted digests.
    pub dig: FieldDigests,
}

/// `aud`: a string or an array of strings.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// Normalised field values, as passed by the caller.
#[derive(Clone, Copy)]
pub struct FieldValues<'a> {
    /// NIK.
    pub nik: &'a str,
    /// Name.
    pub name: &'a str,
    /// Birth date.
    pub birth_date: &'a str,
}

impl fmt::Debug for FieldValues<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FieldValues(..)")
    }
}

impl<'a> FieldValues<'a> {
    /// Value of `field`.
    pub fn get(&self, field: Field) -> &'a str {
        match field {
            Field::Nik => self.nik,
            Field::Name => self.name,
            Field::BirthDate => self.birth_date,
        }
    }
}

/// Per-field match results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldMatches {
    /// NIK matched.
    pub nik: bool,
    /// Name matched.
    pub name: bool,
    /// Birth date matched.
    pub birth_date: bool,
}

impl FieldMatches {
    /// All fields matched.
    pub fn all(&self) -> bool {
        self.nik && self.name && self.birth_date
    }
    /// Result for one field.
    pub fn get(&self, field: Field) -> bool {
        match field {
            Field::Nik => self.nik,
            Field::Name => self.name,
            Field::BirthDate => self.birth_date,
        }
    }
}

/// `SHA-256("andal-field-v1" 0x00 field 0x00 salt 0x00 value)`.
pub fn field_digest(field: Field, salt: &[u8], value: &str) -> [u8; 32] {
    let mut ctx = Context::new(&SHA256);
    ctx.update(FIELD_DIGEST_DOMAIN.as_bytes());
    ctx.update(&[0]);
    ctx.update(field.as_str().as_bytes());
    ctx.update(&[0]);
    ctx.update(salt);
    ctx.update(&[0]);
    ctx.update(value.as_bytes());
    let d = ctx.finish();
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Constant-time equality (length is public).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut acc = 0u8;
    for (x, y) in a.iter().zip(b) {
        acc |= std::hint::black_box(x ^ y);
    }
    std::hint::black_box(acc) == 0
}

/// Maximum salt length in bytes accepted by verifiers.
pub const MAX_SALT_BYTES: usize = 64;

impl FieldDigest {
    /// Decoded (salt buffer, salt length, digest), without allocating.
    pub(crate) fn decoded(&self) -> Result<([u8; MAX_SALT_BYTES], usize, [u8; 32]), TokenError> {
        let malformed = TokenError::Malformed { part: Part::Claims };
        let mut salt = [0u8; MAX_SALT_BYTES];
        let mut digest = [0u8; 32];
        let n =
            b64::decode_into(&self.salt, Part::Claims, &mut salt).map_err(|_| malformed.clone())?;
        // exact-length target: a shorter or longer digest is an error
        if self.digest.len() != 43 {
            return Err(malformed);
        }
        let d = b64::decode_into(&self.digest, Part::Claims, &mut digest)
            .map_err(|_| malformed.clone())?;
        if n < MIN_SALT_BYTES || d != 32 {
            return Err(malformed);
        }
        Ok((salt, n, digest))
    }
}

impl Claims {
    /// Whether the normalised `value` matches the attested digest of `field`
    /// (constant-time comparison). A malformed digest never matches.
    pub fn field_matches(&self, field: Field, value: &str) -> bool {
        match self.dig.get(field).decoded() {
            Ok((salt, n, digest)) => ct_eq(&field_digest(field, &salt[..n], value), &digest),
            Err(_) => false,
        }
    }

    /// Per-field results for a full query.
    pub fn match_fields(&self, values: &FieldValues<'_>) -> FieldMatches {
        FieldMatches {
            nik: self.field_matches(Field::Nik, values.nik),
            name: self.field_matches(Field::Name, values.name),
            birth_date: self.field_matches(Field::BirthDate, values.birth_date),
        }
    }

    /// `Ok` when every field matches, else the first mismatching field.
    pub fn require_fields(&self, values: &FieldValues<'_>) -> Result<(), TokenError> {
        for f in Field::ALL {
            if !self.field_matches(f, values.get(f)) {
                return Err(TokenError::DigestMismatch { field: f });
            }
        }
        Ok(())
    }

    pub(crate) fn validate_digests(&self) -> Result<(), TokenError> {
        for f in Field::ALL {
            self.dig.get(f).decoded()?;
        }
        Ok(())
    }
}
