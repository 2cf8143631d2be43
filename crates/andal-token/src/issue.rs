//! Issuer side (feature `issue`): key generation, token minting, keyset and
//! revocation list signing. Used by the sandbox, tests and vector generator.

use std::fmt;
use std::sync::Mutex;

use ring::digest::{Context, SHA256};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use serde::Serialize;

use crate::claims::{
    ATTESTATION_TYP, Claims, Field, FieldDigest, FieldDigests, FieldValues, STATUS_ACTIVE_MATCH,
    field_digest,
};
use crate::jwk::{Jwk, RootKey, VerifyingKey};
use crate::keyset::{KEYSET_TYP, KeysetPayload};
use crate::revocation::{REVOCATION_TYP, RevocationPayload};
use crate::{Alg, TokenError, b64};

enum Pair {
    Ed(Ed25519KeyPair),
    Ec(EcdsaKeyPair),
}

/// A private signing key with its kid and validity window.
pub struct SigningKey {
    kid: String,
    alg: Alg,
    pkcs8: Vec<u8>,
    pair: Pair,
    nbf: Option<u64>,
    exp: Option<u64>,
    rng: SystemRandom,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

const ED25519_PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

impl SigningKey {
    /// Generate a fresh key (ring, system randomness).
    pub fn generate(alg: Alg, kid: impl Into<String>) -> Result<Self, TokenError> {
        let rng = SystemRandom::new();
        let rej = |_| TokenError::KeyRejected {
            reason: "key generation failed",
        };
        let pkcs8 = match alg {
            Alg::EdDSA => Ed25519KeyPair::generate_pkcs8(&rng).map_err(rej)?,
            Alg::ES256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).map_err(rej)?
            }
        };
        Self::from_pkcs8(alg, kid, pkcs8.as_ref())
    }

    /// Import a PKCS#8 private key (Ed25519 v1 or v2; P-256).
    pub fn from_pkcs8(alg: Alg, kid: impl Into<String>, pkcs8: &[u8]) -> Result<Self, TokenError> {
        let rng = SystemRandom::new();
        let rej = |_| TokenError::KeyRejected {
            reason: "invalid PKCS#8 for this algorithm",
        };
        let pair = match alg {
            Alg::EdDSA => Pair::Ed(Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8).map_err(rej)?),
            Alg::ES256 => Pair::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
                    .map_err(rej)?,
            ),
        };
        Ok(SigningKey {
            kid: kid.into(),
            alg,
            pkcs8: pkcs8.to_vec(),
            pair,
            nbf: None,
            exp: None,
            rng,
        })
    }

    /// Deterministic Ed25519 key from a 32-byte seed (test vectors only).
    pub fn ed25519_from_seed(kid: impl Into<String>, seed: &[u8; 32]) -> Result<Self, TokenError> {
        let mut pkcs8 = ED25519_PKCS8_V1_PREFIX.to_vec();
        pkcs8.extend_from_slice(seed);
        Self::from_pkcs8(Alg::EdDSA, kid, &pkcs8)
    }

    /// Set the validity window (issued-at bounds) published with the public key.
    pub fn with_validity(mut self, nbf: Option<u64>, exp: Option<u64>) -> Self {
        self.nbf = nbf;
        self.exp = exp;
        self
    }

    /// PKCS#8 bytes (secret!).
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }
    /// Kid.
    pub fn kid(&self) -> &str {
        &self.kid
    }
    /// Algorithm.
    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// Public JWK (with kid, alg and window).
    pub fn public_jwk(&self) -> Jwk {
        let public = match &self.pair {
            Pair::Ed(p) => p.public_key().as_ref().to_vec(),
            Pair::Ec(p) => p.public_key().as_ref().to_vec(),
        };
        let (kty, crv, x, y) = match self.alg {
            Alg::EdDSA => ("OKP", "Ed25519", b64::encode(&public), None),
            Alg::ES256 => (
                "EC",
                "P-256",
                b64::encode(&public[1..33]),
                Some(b64::encode(&public[33..65])),
            ),
        };
        Jwk {
            kty: kty.into(),
            crv: Some(crv.into()),
            x: Some(x),
            y,
            kid: Some(self.kid.clone()),
            alg: Some(self.alg.as_str().into()),
            nbf: self.nbf,
            exp: self.exp,
            extra: Default::default(),
        }
    }

    /// The public half as a verifying key.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey::from_jwk(&self.public_jwk()).expect("own public key is valid")
    }

    /// The public half as a root key.
    pub fn root_key(&self) -> RootKey {
        RootKey(self.verifying_key())
    }

    /// Raw signature over `msg` (64 bytes).
    pub fn sign_bytes(&self, msg: &[u8]) -> Result<Vec<u8>, TokenError> {
        match &self.pair {
            Pair::Ed(p) => Ok(p.sign(msg).as_ref().to_vec()),
            Pair::Ec(p) => p
                .sign(&self.rng, msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| TokenError::KeyRejected {
                    reason: "signing failed",
                }),
        }
    }

    /// Compact JWS over raw header and payload JSON, exactly as given
    /// (no checks: tests use it to build adversarial documents).
    pub fn sign_raw(&self, header_json: &str, payload_json: &str) -> Result<String, TokenError> {
        let mut s = b64::encode(header_json.as_bytes());
        s.push('.');
        s.push_str(&b64::encode(payload_json.as_bytes()));
        let sig = self.sign_bytes(s.as_bytes())?;
        s.push('.');
        s.push_str(&b64::encode(&sig));
        Ok(s)
    }

    /// Compact JWS with header `{"alg", "typ", "kid"}` over `payload`.
    pub fn sign_typed<T: Serialize>(&self, typ: &str, payload: &T) -> Result<String, TokenError> {
        #[derive(Serialize)]
        struct H<'a> {
            alg: &'a str,
            typ: &'a str,
            kid: &'a str,
        }
        let h = serde_json::to_string(&H {
            alg: self.alg.as_str(),
            typ,
            kid: &self.kid,
        })
        .map_err(|_| TokenError::Encoding)?;
        let p = serde_json::to_string(payload).map_err(|_| TokenError::Encoding)?;
        self.sign_raw(&h, &p)
    }
}

/// Source of salts and token ids.
pub trait SaltSource: Send + Sync {
    /// Fill `out` with unpredictable bytes.
    fn fill(&self, out: &mut [u8]) -> Result<(), TokenError>;
}

/// `ring::rand::SystemRandom` (the default).
#[derive(Debug)]
pub struct SystemSalts(SystemRandom);

impl Default for SystemSalts {
    fn default() -> Self {
        Self::new()
    }
}

impl SystemSalts {
    /// New.
    pub fn new() -> Self {
        SystemSalts(SystemRandom::new())
    }
}

impl SaltSource for SystemSalts {
    fn fill(&self, out: &mut [u8]) -> Result<(), TokenError> {
        self.0.fill(out).map_err(|_| TokenError::KeyRejected {
            reason: "system randomness unavailable",
        })
    }
}

/// Deterministic salts: SHA-256(seed || counter) stream. FOR TEST VECTORS ONLY.
#[derive(Debug)]
pub struct DeterministicSalts {
    seed: Vec<u8>,
    counter: Mutex<u64>,
}

impl DeterministicSalts {
    /// New stream from `seed`.
    pub fn new(seed: &[u8]) -> Self {
        DeterministicSalts {
            seed: seed.to_vec(),
            counter: Mutex::new(0),
        }
    }
}

impl SaltSource for DeterministicSalts {
    fn fill(&self, out: &mut [u8]) -> Result<(), TokenError> {
        let mut ctr = self.counter.lock().unwrap_or_else(|e| e.into_inner());
        for chunk in out.chunks_mut(32) {
            let mut c = Context::new(&SHA256);
            c.update(&self.seed);
            c.update(&ctr.to_be_bytes());
            *ctr += 1;
            chunk.copy_from_slice(&c.finish().as_ref()[..chunk.len()]);
        }
        Ok(())
    }
}

/// What to attest.
#[derive(Debug, Clone)]
pub struct MintRequest<'a> {
    /// Normalised field values.
    pub fields: FieldValues<'a>,
    /// Partner ids.
    pub audience: Vec<String>,
    /// Issued at (unix seconds).
    pub iat: u64,
    /// Not before (defaults to `iat`).
    pub nbf: Option<u64>,
    /// Expiry (unix seconds).
    pub exp: u64,
    /// Token id (random 128-bit base64url when `None`).
    pub jti: Option<String>,
}

/// Salt length used when minting.
pub const SALT_BYTES: usize = 16;

/// Mints attestation tokens.
pub struct Issuer {
    iss: String,
    key: SigningKey,
    salts: Box<dyn SaltSource>,
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("iss", &self.iss)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Issuer {
    /// New issuer signing with `key`, system-random salts.
    pub fn new(iss: impl Into<String>, key: SigningKey) -> Self {
        Issuer {
            iss: iss.into(),
            key,
            salts: Box::new(SystemSalts::new()),
        }
    }
    /// Replace the salt source (deterministic vectors).
    pub fn with_salt_source(mut self, salts: Box<dyn SaltSource>) -> Self {
        self.salts = salts;
        self
    }
    /// Signing key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }
    /// Issuer name.
    pub fn iss(&self) -> &str {
        &self.iss
    }

    /// Build the claims for `req` (fresh salts per field).
    pub fn claims_for(&self, req: &MintRequest<'_>) -> Result<Claims, TokenError> {
        let dig = |f: Field| -> Result<FieldDigest, TokenError> {
            let mut salt = [0u8; SALT_BYTES];
            self.salts.fill(&mut salt)?;
            Ok(FieldDigest {
                salt: b64::encode(&salt),
                digest: b64::encode(&field_digest(f, &salt, req.fields.get(f))),
            })
        };
        let dig = FieldDigests {
            nik: dig(Field::Nik)?,
            name: dig(Field::Name)?,
            birth_date: dig(Field::BirthDate)?,
        };
        let jti = match &req.jti {
            Some(j) => j.clone(),
            None => {
                let mut id = [0u8; 16];
                self.salts.fill(&mut id)?;
                b64::encode(&id)
            }
        };
        Ok(Claims {
            iss: self.iss.clone(),
            aud: req.audience.clone(),
            iat: req.iat,
            nbf: req.nbf.unwrap_or(req.iat),
            exp: req.exp,
            jti,
            status: STATUS_ACTIVE_MATCH.into(),
            dig,
        })
    }

    /// Mint a signed attestation token.
    pub fn mint(&self, req: &MintRequest<'_>) -> Result<String, TokenError> {
        let claims = self.claims_for(req)?;
        self.sign_claims(&claims)
    }

    /// Sign arbitrary claims (tests).
    pub fn sign_claims(&self, claims: &Claims) -> Result<String, TokenError> {
        self.key.sign_typed(ATTESTATION_TYP, claims)
    }
}

/// Holder of a root key: signs keysets and revocation lists.
#[derive(Debug)]
pub struct Authority {
    iss: String,
    root: SigningKey,
}

impl Authority {
    /// New authority for issuer `iss`.
    pub fn new(iss: impl Into<String>, root: SigningKey) -> Self {
        Authority {
            iss: iss.into(),
            root,
        }
    }
    /// The pinned root key to configure in verifiers.
    pub fn root_key(&self) -> RootKey {
        self.root.root_key()
    }
    /// The root signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.root
    }
    /// Sign a keyset of public keys.
    pub fn sign_keyset(&self, iat: u64, keys: &[Jwk]) -> Result<String, TokenError> {
        self.root.sign_typed(
            KEYSET_TYP,
            &KeysetPayload {
                iss: self.iss.clone(),
                iat,
                keys: keys.to_vec(),
            },
        )
    }
    /// Sign a revocation list.
    pub fn sign_revocation_list(
        &self,
        iat: u64,
        next_update: u64,
        revoked_jti: &[String],
        revoked_subjects: &[String],
    ) -> Result<String, TokenError> {
        self.root.sign_typed(
            REVOCATION_TYP,
            &RevocationPayload {
                iss: self.iss.clone(),
                iat,
                next_update,
                revoked_jti: revoked_jti.to_vec(),
                revoked_subjects: revoked_subjects.to_vec(),
            },
        )
    }
}
