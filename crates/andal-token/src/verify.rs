//! Attestation token verification against a trust store.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::claims::{ATTESTATION_TYP, Claims, STATUS_ACTIVE_MATCH};
use crate::jwk::VerifyingKey;
use crate::jws::{self, MAX_TOKEN_BYTES};
use crate::keyset::Keyset;
use crate::{Alg, Part, TokenError, json};

/// Default clock leeway in seconds.
pub const DEFAULT_LEEWAY_SECS: u64 = 60;

/// Caller-supplied verification context (the clock is injected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Current time, unix seconds.
    pub now: u64,
    /// Allowed clock skew in seconds (default 60).
    pub leeway: u64,
    /// This partner's id; must be in the token's `aud`.
    pub audience: String,
}

impl VerifyOptions {
    /// Options at unix time `now` with the default leeway.
    pub fn new(audience: impl Into<String>, now: u64) -> Self {
        VerifyOptions {
            now,
            leeway: DEFAULT_LEEWAY_SECS,
            audience: audience.into(),
        }
    }
    /// Options at `now` (a `SystemTime` from the caller's clock).
    pub fn at(audience: impl Into<String>, now: SystemTime) -> Self {
        Self::new(audience, unix_secs(now))
    }
    /// Set the leeway.
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway.as_secs();
        self
    }
}

/// Seconds since the epoch (0 before it).
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A token whose signature, type, time window, audience, issuer, status and
/// digest encoding were all checked. Field matches are for the caller to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// Kid of the key that verified it (if the key has one).
    pub kid: Option<String>,
    /// Algorithm (the key's).
    pub alg: Alg,
    /// Claims.
    pub claims: Claims,
}

/// The issuer keys trusted to verify attestation tokens.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    issuer: Option<String>,
    keys: Vec<VerifyingKey>,
}

/// Time checks shared with tests: validity with leeway.
pub(crate) fn check_time(
    nbf: u64,
    iat: u64,
    exp: u64,
    now: u64,
    leeway: u64,
) -> Result<(), TokenError> {
    let latest = exp.saturating_add(leeway);
    if now > latest {
        return Err(TokenError::Expired {
            by_secs: now - latest,
        });
    }
    let start = nbf.max(iat).saturating_sub(leeway);
    if now < start {
        return Err(TokenError::NotYetValid {
            in_secs: start - now,
        });
    }
    Ok(())
}

impl TrustStore {
    /// From a verified keyset: its keys, and its `iss` as the required token issuer.
    pub fn from_keyset(keyset: &Keyset) -> Self {
        TrustStore {
            issuer: Some(keyset.iss().to_owned()),
            keys: keyset.keys().to_vec(),
        }
    }

    /// From keys directly (e.g. configuration); `issuer` = required `iss`, if any.
    pub fn from_keys(issuer: Option<String>, keys: Vec<VerifyingKey>) -> Self {
        TrustStore { issuer, keys }
    }

    /// Trusted keys.
    pub fn keys(&self) -> &[VerifyingKey] {
        &self.keys
    }

    /// Required issuer.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// Verify an attestation token. Order: size, structure, base64url, header
    /// (alg supported, no crit), candidate keys by kid, key alg == header alg,
    /// signature; only then typ, claims, key window vs iat, time window,
    /// audience, issuer, status, digest encoding. Revocation and field
    /// matching are separate calls.
    pub fn verify(&self, token: &str, opts: &VerifyOptions) -> Result<VerifiedToken, TokenError> {
        self.verify_inner(token, opts).inspect_err(|e| {
            tracing::debug!(reason = e.reason(), "attestation token rejected");
        })
    }

    fn verify_inner(&self, token: &str, opts: &VerifyOptions) -> Result<VerifiedToken, TokenError> {
        let c = jws::parse(token, MAX_TOKEN_BYTES)?;
        let key = jws::verify_candidates(&c, self.keys.iter())?;
        // ---- signature verified; from here on the content is the issuer's ----
        if !jws::typ_matches(c.header.typ.as_deref(), ATTESTATION_TYP) {
            return Err(TokenError::WrongType);
        }
        let claims: Claims = json::parse_typed(&c.payload, Part::Claims)?;
        if claims.nbf > claims.exp || claims.iat > claims.exp {
            return Err(TokenError::Malformed { part: Part::Claims });
        }
        if !key.valid_for_issued_at(claims.iat) {
            return Err(TokenError::KeyNotValidForIssuedAt);
        }
        check_time(claims.nbf, claims.iat, claims.exp, opts.now, opts.leeway)?;
        if !claims.aud.contains(&opts.audience) {
            return Err(TokenError::WrongAudience);
        }
        if let Some(iss) = &self.issuer
            && *iss != claims.iss
        {
            return Err(TokenError::WrongIssuer);
        }
        if claims.status != STATUS_ACTIVE_MATCH {
            return Err(TokenError::UnsupportedStatus);
        }
        claims.validate_digests()?;
        tracing::debug!(kid = key.kid(), alg = %key.alg(), "attestation token verified");
        Ok(VerifiedToken {
            kid: key.kid().map(str::to_owned),
            alg: key.alg(),
            claims,
        })
    }
}
