//! The sandbox's token issuer: an authority (root key) that signs a keyset with two issuing
//! keys (an older ES256 key whose issuing window has closed, and the current Ed25519 key:
//! rotation), attestation tokens attached to every first `match`, tokens minted for a
//! citizen (as an ID wallet app would hold), and a signed revocation list.
//!
//! Keys are derived from the sandbox seed, so a seed always yields the same root key.

use std::time::{Duration, SystemTime};

use andal::query::format_date;
use andal_token::issue::{Authority, Issuer, MintRequest, SigningKey};
use andal_token::{Alg, FieldValues, RootKey, unix_secs};
use parking_lot::Mutex;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::Attester;
use crate::registry::Person;

/// How long a minted attestation is valid.
pub const TOKEN_VALIDITY: Duration = Duration::from_secs(30 * 24 * 3600);
/// Revocation lists promise their next update this far ahead.
pub const REVOCATION_NEXT_UPDATE: Duration = Duration::from_secs(3600);
/// Issuer name in every document.
pub const ISSUER: &str = "andal-sandbox";

struct State {
    revoked_jti: Vec<String>,
    revoked_subjects: Vec<String>,
    list_iat: u64,
}

/// Signs everything the sandbox hands out. Thread-safe.
pub struct SandboxIssuer {
    authority: Authority,
    current: Issuer,
    keyset_doc: String,
    state: Mutex<State>,
}

impl std::fmt::Debug for SandboxIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxIssuer").finish_non_exhaustive()
    }
}

fn seed32(rng: &mut ChaCha8Rng) -> [u8; 32] {
    let mut s = [0u8; 32];
    rng.fill_bytes(&mut s);
    s
}

impl SandboxIssuer {
    /// Keys derived from `seed`; documents dated `now`.
    pub fn new(seed: u64) -> Result<Self, andal_token::TokenError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7061_7373_706f_7274);
        let root = SigningKey::ed25519_from_seed("sandbox-root", &seed32(&mut rng))?;
        let now = unix_secs(SystemTime::now());
        // The old key issued until a day ago; tokens it issued before then still verify.
        let old = SigningKey::generate(Alg::ES256, "sandbox-2025")?
            .with_validity(Some(0), Some(now.saturating_sub(86_400)));
        let current = SigningKey::ed25519_from_seed("sandbox-2026", &seed32(&mut rng))?
            .with_validity(Some(now.saturating_sub(86_400)), None);
        let authority = Authority::new(ISSUER, root);
        let keyset_doc = authority.sign_keyset(now, &[old.public_jwk(), current.public_jwk()])?;
        Ok(SandboxIssuer {
            authority,
            current: Issuer::new(ISSUER, current),
            keyset_doc,
            state: Mutex::new(State {
                revoked_jti: Vec::new(),
                revoked_subjects: Vec::new(),
                list_iat: now,
            }),
        })
    }

    /// The root key partners pin (JWK JSON).
    pub fn root_key_json(&self) -> String {
        self.authority.signing_key().public_jwk().to_json()
    }

    /// The root key partners pin.
    pub fn root_key(&self) -> RootKey {
        self.authority.root_key()
    }

    /// Mint an attestation for a registry record, for these partners.
    pub fn mint(&self, person: &Person, audience: &[String]) -> Option<String> {
        let nik = person.nik_digits();
        let name = andal::normalize_name(&person.full_name);
        let birth_date = format_date(person.birth_date);
        let iat = unix_secs(SystemTime::now());
        let req = MintRequest {
            fields: FieldValues {
                nik,
                name: &name,
                birth_date: &birth_date,
            },
            audience: audience.to_vec(),
            iat,
            nbf: None,
            exp: iat + TOKEN_VALIDITY.as_secs(),
            jti: None,
        };
        match self.current.mint(&req) {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(reason = e.reason(), "cannot mint attestation");
                None
            }
        }
    }

    /// Revoke one token by its id; the list is re-signed on the next fetch.
    pub fn revoke_token(&self, jti: &str) {
        let mut s = self.state.lock();
        if !s.revoked_jti.iter().any(|j| j == jti) {
            s.revoked_jti.push(jti.to_owned());
        }
        s.list_iat = unix_secs(SystemTime::now());
    }

    /// Revoke every token of a person (by subject digest, no token id needed).
    pub fn revoke_person(&self, nik_digits: &str) {
        let d = andal_token::subject_digest(nik_digits);
        let mut s = self.state.lock();
        if !s.revoked_subjects.contains(&d) {
            s.revoked_subjects.push(d);
        }
        s.list_iat = unix_secs(SystemTime::now());
    }

    fn revocation_doc(&self) -> Option<String> {
        let s = self.state.lock();
        let iat = unix_secs(SystemTime::now()).max(s.list_iat);
        self.authority
            .sign_revocation_list(
                iat,
                iat + REVOCATION_NEXT_UPDATE.as_secs(),
                &s.revoked_jti,
                &s.revoked_subjects,
            )
            .ok()
    }
}

impl Attester for SandboxIssuer {
    fn attest(&self, partner: &str, person: &Person) -> Option<String> {
        self.mint(person, &[partner.to_owned()])
    }
    fn keys_document(&self) -> Option<String> {
        Some(self.keyset_doc.clone())
    }
    fn revocations_document(&self) -> Option<String> {
        self.revocation_doc()
    }
}
