//! JSON Web Keys (RFC 7517) for the two supported algorithms, and the
//! parsed, validated verifying key whose algorithm is fixed by the key.

use std::collections::BTreeMap;
use std::fmt;

use ring::signature::{self, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Part, TokenError, b64, json};

/// A signature algorithm. The trusted key fixes it; a token never chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Alg {
    /// Ed25519 (RFC 8037).
    EdDSA,
    /// ECDSA P-256 with SHA-256, 64-byte r||s signatures (RFC 7518 §3.4).
    ES256,
}

impl Alg {
    /// JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::EdDSA => "EdDSA",
            Alg::ES256 => "ES256",
        }
    }

    /// Parse a JOSE `alg`; anything else (`none`, HS*, RS*, PS*, ES384, ...) is unsupported.
    /// `Ed25519` (the fully specified name of RFC 9864) is the same algorithm as `EdDSA`
    /// with an Ed25519 key, the only EdDSA curve supported; which one a key verifies is
    /// still fixed by the key, never by the token.
    pub fn from_jose(s: &str) -> Result<Self, TokenError> {
        match s {
            "EdDSA" | "Ed25519" => Ok(Alg::EdDSA),
            "ES256" => Ok(Alg::ES256),
            _ => Err(TokenError::UnsupportedAlg),
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A public JWK as found in keysets and configuration.
///
/// `nbf` / `exp` (unix seconds, both optional) bound the *issued-at* times of
/// documents this key may verify. Unknown members are kept (`extra`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Jwk {
    /// `OKP` or `EC`.
    pub kty: String,
    /// `Ed25519` or `P-256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// Public key (OKP) or x coordinate (EC), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// y coordinate (EC), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// Key id (a hint for selecting candidate keys, never an authority).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// `EdDSA` or `ES256`; when absent it is derived from `kty`/`crv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Earliest issued-at this key may verify (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Latest issued-at this key may verify (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// Other members (`use`, custom ones), preserved.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Jwk {
    /// Parse one JWK from JSON (duplicate members rejected). A public point of a supported
    /// curve is validated here already ([`TokenError::SmallOrderKey`],
    /// [`TokenError::NonCanonicalKey`], [`TokenError::KeyNotOnCurve`]); the remaining
    /// checks happen in [`VerifyingKey::from_jwk`].
    pub fn from_json(s: &str) -> Result<Self, TokenError> {
        let jwk: Jwk = json::parse_typed(s.as_bytes(), Part::Key)?;
        match (jwk.kty.as_str(), jwk.crv.as_deref()) {
            ("OKP", Some("Ed25519")) if jwk.x.is_some() => {
                check_ed25519_point(&coord(&jwk.x, 32)?)?;
            }
            ("EC", Some("P-256")) if jwk.x.is_some() && jwk.y.is_some() => {
                check_p256_point(&sec1(&jwk)?)?;
            }
            _ => {}
        }
        Ok(jwk)
    }

    /// Serialise to JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A validated public key: algorithm, raw key bytes, kid and validity window.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    kid: Option<String>,
    alg: Alg,
    /// Ed25519: 32 bytes. P-256: 65 bytes uncompressed (0x04 || x || y).
    public: Vec<u8>,
    nbf: Option<u64>,
    exp: Option<u64>,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("nbf", &self.nbf)
            .field("exp", &self.exp)
            .finish_non_exhaustive()
    }
}

fn coord(v: &Option<String>, len: usize) -> Result<Vec<u8>, TokenError> {
    let s = v.as_deref().ok_or(TokenError::InvalidKey {
        reason: "missing public key member",
    })?;
    let b = b64::decode(s, Part::Key)?;
    if b.len() != len {
        return Err(TokenError::InvalidKey {
            reason: "wrong public key length",
        });
    }
    Ok(b)
}

/// `0x04 || x || y`.
fn sec1(jwk: &Jwk) -> Result<Vec<u8>, TokenError> {
    let mut p = Vec::with_capacity(65);
    p.push(0x04);
    p.extend_from_slice(&coord(&jwk.x, 32)?);
    p.extend_from_slice(&coord(&jwk.y, 32)?);
    Ok(p)
}

/// An Ed25519 public key must be a canonical encoding of a point on the curve that is not
/// of small order. ring checks none of this when it verifies, and under a small-order key
/// one fixed signature verifies every message (e.g. the identity `01 00..00` with
/// `R = B, S = 1`). Canonicity: decompress, re-compress, compare (catches y >= p and a
/// sign bit set on x = 0).
fn check_ed25519_point(bytes: &[u8]) -> Result<(), TokenError> {
    use curve25519_dalek::edwards::CompressedEdwardsY;
    let arr: [u8; 32] = bytes.try_into().map_err(|_| TokenError::InvalidKey {
        reason: "wrong public key length",
    })?;
    let point = CompressedEdwardsY(arr)
        .decompress()
        .ok_or(TokenError::KeyNotOnCurve)?;
    if point.is_small_order() {
        return Err(TokenError::SmallOrderKey);
    }
    if point.compress().as_bytes() != &arr {
        return Err(TokenError::NonCanonicalKey);
    }
    Ok(())
}

/// A P-256 public key must be a point on the curve with coordinates below p (the
/// identity has no affine coordinates, so it cannot be written as `x`, `y`).
fn check_p256_point(sec1: &[u8]) -> Result<(), TokenError> {
    p256::PublicKey::from_sec1_bytes(sec1)
        .map(|_| ())
        .map_err(|_| TokenError::KeyNotOnCurve)
}

impl VerifyingKey {
    /// Validate a JWK. Rejects private members, unsupported key types, weak or invalid
    /// points (small-order or non-canonical Ed25519 keys, P-256 points off the curve), an
    /// `alg` inconsistent with the key type, and inverted windows.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, TokenError> {
        if jwk.extra.contains_key("d") {
            return Err(TokenError::InvalidKey {
                reason: "private key member in a public JWK",
            });
        }
        if let Some(u) = jwk.extra.get("use")
            && u.as_str() != Some("sig")
        {
            return Err(TokenError::InvalidKey {
                reason: "key use is not sig",
            });
        }
        let (alg, public) = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
            ("OKP", Some("Ed25519")) => {
                if jwk.y.is_some() {
                    return Err(TokenError::InvalidKey {
                        reason: "unexpected y member",
                    });
                }
                let x = coord(&jwk.x, 32)?;
                check_ed25519_point(&x)?;
                (Alg::EdDSA, x)
            }
            ("EC", Some("P-256")) => {
                let p = sec1(jwk)?;
                check_p256_point(&p)?;
                (Alg::ES256, p)
            }
            _ => {
                return Err(TokenError::InvalidKey {
                    reason: "unsupported key type or curve",
                });
            }
        };
        if let Some(a) = jwk.alg.as_deref()
            && Alg::from_jose(a).ok() != Some(alg)
        {
            return Err(TokenError::InvalidKey {
                reason: "alg inconsistent with key type",
            });
        }
        if let (Some(n), Some(e)) = (jwk.nbf, jwk.exp)
            && n > e
        {
            return Err(TokenError::InvalidKey {
                reason: "validity window ends before it starts",
            });
        }
        Ok(VerifyingKey {
            kid: jwk.kid.clone(),
            alg,
            public,
            nbf: jwk.nbf,
            exp: jwk.exp,
        })
    }

    /// Key id.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }
    /// The algorithm this key verifies (and the only one).
    pub fn alg(&self) -> Alg {
        self.alg
    }
    /// Validity window (issued-at bounds).
    pub fn window(&self) -> (Option<u64>, Option<u64>) {
        (self.nbf, self.exp)
    }
    /// Whether a document issued at `iat` may be verified by this key.
    pub fn valid_for_issued_at(&self, iat: u64) -> bool {
        self.nbf.is_none_or(|n| iat >= n) && self.exp.is_none_or(|e| iat <= e)
    }

    /// Back to a JWK.
    pub fn to_jwk(&self) -> Jwk {
        let (kty, crv, x, y) = match self.alg {
            Alg::EdDSA => ("OKP", "Ed25519", b64::encode(&self.public), None),
            Alg::ES256 => (
                "EC",
                "P-256",
                b64::encode(&self.public[1..33]),
                Some(b64::encode(&self.public[33..65])),
            ),
        };
        Jwk {
            kty: kty.into(),
            crv: Some(crv.into()),
            x: Some(x),
            y,
            kid: self.kid.clone(),
            alg: Some(self.alg.as_str().into()),
            nbf: self.nbf,
            exp: self.exp,
            extra: BTreeMap::new(),
        }
    }

    /// Raw signature check over `msg`. Range checks first, then ring.
    pub(crate) fn verify_raw(&self, msg: &[u8], sig: &[u8]) -> Result<(), TokenError> {
        check_signature_shape(self.alg, sig)?;
        let algo: &dyn signature::VerificationAlgorithm = match self.alg {
            Alg::EdDSA => &signature::ED25519,
            Alg::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
        };
        UnparsedPublicKey::new(algo, &self.public)
            .verify(msg, sig)
            .map_err(|_| TokenError::BadSignature)
    }
}

/// P-256 group order n, big-endian.
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];
/// Ed25519 group order L, little-endian.
const ED25519_L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

fn is_zero(b: &[u8]) -> bool {
    b.iter().all(|&x| x == 0)
}

/// Length, zero and scalar-range checks, done explicitly before ring.
/// (Signatures are public; these comparisons need not be constant-time.)
pub(crate) fn check_signature_shape(alg: Alg, sig: &[u8]) -> Result<(), TokenError> {
    if sig.len() != 64 {
        return Err(TokenError::Malformed {
            part: Part::Signature,
        });
    }
    let (a, b) = sig.split_at(32);
    match alg {
        Alg::ES256 => {
            if is_zero(a) || is_zero(b) {
                return Err(TokenError::ZeroSignature);
            }
            // big-endian lexicographic compare == numeric compare
            if a >= &P256_N[..] || b >= &P256_N[..] {
                return Err(TokenError::InvalidScalar);
            }
            // High-S is accepted (RFC 7515 A.3 is high-S; JOSE does not normalise).
        }
        Alg::EdDSA => {
            if is_zero(sig) {
                return Err(TokenError::ZeroSignature);
            }
            // S (little-endian) must be < L (RFC 8032 §5.1.7).
            let s_be = b.iter().rev();
            let l_be = ED25519_L.iter().rev();
            if s_be.cmp(l_be) != std::cmp::Ordering::Less {
                return Err(TokenError::InvalidScalar);
            }
        }
    }
    Ok(())
}

/// A root key pinned in configuration; it signs keysets and revocation lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootKey(pub(crate) VerifyingKey);

impl RootKey {
    /// From a JWK.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, TokenError> {
        VerifyingKey::from_jwk(jwk).map(RootKey)
    }
    /// From JWK JSON (e.g. a configuration file).
    pub fn from_json(s: &str) -> Result<Self, TokenError> {
        Self::from_jwk(&Jwk::from_json(s)?)
    }
    /// The validated key.
    pub fn key(&self) -> &VerifyingKey {
        &self.0
    }
}
