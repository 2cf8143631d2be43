//! Offline attestation tokens for Andal.
//!
//! An attestation token is a JWS compact serialisation (RFC 7515) signed by
//! the registry-side issuer with Ed25519 (`EdDSA`, RFC 8037) or P-256
//! (`ES256`). It says "the registry matched an active record" and carries
//! salted per-field digests so a verifier can check a query's NIK, name and
//! birth date offline without the token revealing them.
//!
//! Trust flows from pinned [`RootKey`]s: a root signs a [`Keyset`] (the token
//! keys, each with a validity window) and a [`RevocationList`]. A
//! [`TrustStore`] built from a verified keyset verifies tokens. The trusted
//! key fixes the algorithm; `kid` only selects candidates; `none`, HS*, RS*
//! are never accepted. See `docs/tokens.md`.
//!
//! ```
//! # #[cfg(feature = "issue")] {
//! use andal_token::{*, issue::*};
//! let root = Authority::new("issuer", SigningKey::generate(Alg::EdDSA, "root").unwrap());
//! let issuer = Issuer::new("issuer", SigningKey::generate(Alg::EdDSA, "k1").unwrap());
//! let keyset_doc = root.sign_keyset(1_000, &[issuer.key().public_jwk()]).unwrap();
//! let keyset = Keyset::verify_signed(&keyset_doc, &[root.root_key()], 1_000).unwrap();
//! let store = TrustStore::from_keyset(&keyset);
//! let fields = FieldValues { nik: "3201010101900001", name: "BUDI", birth_date: "1990-01-01" };
//! let token = issuer.mint(&MintRequest {
//!     fields, audience: vec!["bpjs".into()], iat: 1_000, nbf: None, exp: 90_000, jti: None,
//! }).unwrap();
//! let v = store.verify(&token, &VerifyOptions::new("bpjs", 2_000)).unwrap();
//! assert!(v.claims.match_fields(&fields).all());
//! # }
//! ```

#![forbid(unsafe_code)]
// docs.rs builds with `--cfg docsrs` on nightly: feature-gated items show their feature.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod b64;
mod claims;
mod error;
mod json;
mod jwk;
pub mod jws;
mod keyset;
mod revocation;
mod verify;

#[cfg(feature = "issue")]
#[cfg_attr(docsrs, doc(cfg(feature = "issue")))]
pub mod issue;

pub use b64::encode as b64url_encode;
pub use claims::{
    ATTESTATION_TYP, Claims, FIELD_DIGEST_DOMAIN, Field, FieldDigest, FieldDigests, FieldMatches,
    FieldValues, MAX_SALT_BYTES, MIN_SALT_BYTES, STATUS_ACTIVE_MATCH, field_digest,
};
pub use error::{Part, RevokedBy, TokenError};
pub use jwk::{Alg, Jwk, RootKey, VerifyingKey};
pub use jws::{MAX_KEYSET_BYTES, MAX_REVOCATION_BYTES, MAX_TOKEN_BYTES, verify_compact};
pub use keyset::{KEYSET_TYP, Keyset, KeysetPayload};
pub use revocation::{
    REVOCATION_TYP, RevocationList, RevocationPayload, SUBJECT_DIGEST_DOMAIN, Staleness,
    document_fingerprint, subject_digest,
};
pub use verify::{DEFAULT_LEEWAY_SECS, TrustStore, VerifiedToken, VerifyOptions, unix_secs};
