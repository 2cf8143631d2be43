//! TLS settings for the built-in transports: which server certificates to trust (the public
//! WebPKI roots, a bank's private CA, or the operating system's verifier) and an optional
//! client certificate for gateways that require mutual TLS.
//!
//! The type holds parsed DER only (no transport types), so every built-in transport can
//! apply it: [`UreqTransport::builder`](crate::transport::UreqTransport::builder) (blocking)
//! and, with the `tokio` feature, `HyperTransport::builder` (async). With either transport
//! in the build, [`TlsConfigBuilder::build`] also checks the inputs the way rustls will use
//! them (the key matches the client certificate, each root is a usable trust anchor), so
//! a wrong file is refused here rather than at the first handshake.
//!
//! ```no_run
//! use andal::tls::TlsConfig;
//! // Trust only the bank's private CA for the registry gateway, and present the bank's
//! // client certificate to it (mutual TLS).
//! let tls = TlsConfig::builder()
//!     .root_certificates_pem(std::fs::read("/etc/bank/registry-ca.pem")?)
//!     .client_identity_pem(
//!         std::fs::read("/etc/bank/client.pem")?,
//!         std::fs::read("/etc/bank/client.key")?,
//!     )
//!     .build()?;
//! assert_eq!(tls.root_certificate_count(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::{self, PemObject, SectionKind};

/// Which server certificates the transport accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustRoots {
    /// Mozilla's root programme (the `webpki-roots` crate), the same on every machine.
    /// The default.
    WebPki,
    /// Only certificates that chain to these roots (DER), e.g. a bank's private CA. The
    /// public roots are no longer trusted, like `requests`' `verify="/path/ca.pem"`.
    Custom(Vec<Vec<u8>>),
    /// The operating system's verifier and trust store (`rustls-platform-verifier`): the
    /// roots an administrator installed, revocation where the platform checks it. Needs
    /// the cargo feature `platform-verifier`.
    Platform,
}

/// A client certificate chain and its private key (mutual TLS). `Debug` never shows the key.
#[derive(PartialEq, Eq)]
pub struct ClientIdentity {
    chain: Vec<Vec<u8>>,
    key: PrivateKeyDer<'static>,
    /// The key's PEM as given (ureq takes keys as PEM or as DER of a kind it does not export).
    key_pem: Vec<u8>,
}

impl ClientIdentity {
    /// The certificate chain (DER), leaf first.
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// The private key (PKCS#8, PKCS#1 or SEC1 DER).
    pub fn private_key(&self) -> &PrivateKeyDer<'static> {
        &self.key
    }

    /// The private key as the PEM it was read from.
    pub fn private_key_pem(&self) -> &[u8] {
        &self.key_pem
    }
}

impl Clone for ClientIdentity {
    fn clone(&self) -> Self {
        ClientIdentity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
            key_pem: self.key_pem.clone(),
        }
    }
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("chain_len", &self.chain.len())
            .field("key", &"<redacted>")
            .finish()
    }
}

/// TLS settings of a built-in transport. Build one with [`TlsConfig::builder`]; the
/// default trusts the WebPKI roots and sends no client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    roots: TrustRoots,
    client: Option<ClientIdentity>,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            roots: TrustRoots::WebPki,
            client: None,
        }
    }
}

impl TlsConfig {
    /// A builder (WebPKI roots, no client certificate until set).
    pub fn builder() -> TlsConfigBuilder {
        TlsConfigBuilder::default()
    }

    /// The trusted roots.
    pub fn roots(&self) -> &TrustRoots {
        &self.roots
    }

    /// Number of custom root certificates (0 unless [`TrustRoots::Custom`]).
    pub fn root_certificate_count(&self) -> usize {
        match &self.roots {
            TrustRoots::Custom(c) => c.len(),
            _ => 0,
        }
    }

    /// The client certificate for mutual TLS, if any.
    pub fn client_identity(&self) -> Option<&ClientIdentity> {
        self.client.as_ref()
    }
}

/// Builder of [`TlsConfig`]. PEM is parsed in [`build`](TlsConfigBuilder::build), which
/// says what was wrong with which input.
#[derive(Default)]
pub struct TlsConfigBuilder {
    root_pems: Vec<Vec<u8>>,
    platform: bool,
    client: Option<(Vec<u8>, Vec<u8>)>,
}

impl fmt::Debug for TlsConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfigBuilder")
            .field("root_pems", &self.root_pems.len())
            .field("platform", &self.platform)
            .field("client_identity", &self.client.is_some())
            .finish()
    }
}

impl TlsConfigBuilder {
    /// Trust only the certificates in this PEM bundle (one or more `CERTIFICATE`
    /// sections; other sections are ignored). May be called more than once.
    pub fn root_certificates_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.root_pems.push(pem.as_ref().to_vec());
        self
    }

    /// Verify server certificates with the operating system's verifier and trust store.
    /// Exclusive with [`root_certificates_pem`](Self::root_certificates_pem).
    pub fn platform_verifier(mut self, on: bool) -> Self {
        self.platform = on;
        self
    }

    /// Present this client certificate chain (PEM, leaf first) and private key (PEM:
    /// PKCS#8, PKCS#1 RSA or SEC1 EC) to servers that ask for one (mutual TLS).
    pub fn client_identity_pem(
        mut self,
        cert_chain_pem: impl AsRef<[u8]>,
        key_pem: impl AsRef<[u8]>,
    ) -> Self {
        self.client = Some((cert_chain_pem.as_ref().to_vec(), key_pem.as_ref().to_vec()));
        self
    }

    /// Parse and check everything.
    pub fn build(self) -> Result<TlsConfig, TlsConfigError> {
        let roots = if self.root_pems.is_empty() {
            if self.platform {
                if !cfg!(feature = "platform-verifier") {
                    return Err(TlsConfigError::PlatformVerifierUnavailable);
                }
                TrustRoots::Platform
            } else {
                TrustRoots::WebPki
            }
        } else {
            if self.platform {
                return Err(TlsConfigError::ConflictingRoots);
            }
            let mut certs = Vec::new();
            for pem in &self.root_pems {
                certs.extend(certificates(pem, PemInput::RootCertificates)?);
            }
            TrustRoots::Custom(certs)
        };
        let client = match self.client {
            None => None,
            Some((chain_pem, key_pem)) => {
                let chain = certificates(&chain_pem, PemInput::ClientCertificate)?;
                let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
                    TlsConfigError::BadPem {
                        input: PemInput::ClientKey,
                        reason: pem_reason(&e, "no PRIVATE KEY section"),
                    }
                })?;
                Some(ClientIdentity {
                    chain,
                    key,
                    key_pem,
                })
            }
        };
        let config = TlsConfig { roots, client };
        #[cfg(any(feature = "https", feature = "tokio"))]
        {
            if let TrustRoots::Custom(ders) = &config.roots {
                on_rustls::root_store(ders)?;
            }
            if let Some(id) = &config.client {
                on_rustls::certified_key(id)?;
            }
        }
        Ok(config)
    }
}

/// The rustls form of a [`TlsConfig`] (ring provider, as in both built-in transports).
/// ureq builds its own rustls configuration from its own TLS type, so the blocking
/// transport uses these functions to check inputs in [`TlsConfigBuilder::build`]; the
/// async transport builds its whole client configuration here.
#[cfg(any(feature = "https", feature = "tokio"))]
mod on_rustls {
    use std::sync::Arc;

    use rustls::crypto::CryptoProvider;
    use rustls::sign::CertifiedKey;
    use rustls_pki_types::CertificateDer;

    use super::{ClientIdentity, PemInput, TlsConfigError};

    pub(super) fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    /// A root store of exactly these roots; a certificate rustls cannot use as a trust
    /// anchor is an error (rustls' `add_parsable_certificates` would skip it silently).
    pub(super) fn root_store(ders: &[Vec<u8>]) -> Result<rustls::RootCertStore, TlsConfigError> {
        let mut store = rustls::RootCertStore::empty();
        for der in ders {
            store
                .add(CertificateDer::from(der.clone()))
                .map_err(|_| TlsConfigError::BadPem {
                    input: PemInput::RootCertificates,
                    reason: "a certificate cannot be used as a trust anchor".into(),
                })?;
        }
        Ok(store)
    }

    /// The client certificate and key as rustls signs with them: the key must be of a
    /// supported kind and belong to the leaf certificate (ureq would panic on a mismatch
    /// at the first handshake).
    pub(super) fn certified_key(id: &ClientIdentity) -> Result<CertifiedKey, TlsConfigError> {
        let chain = id
            .chain
            .iter()
            .map(|d| CertificateDer::from(d.clone()))
            .collect();
        CertifiedKey::from_der(chain, id.key.clone_key(), &provider()).map_err(|e| {
            let reason = match e {
                rustls::Error::InconsistentKeys(_) => "does not match the client certificate",
                _ => "is of a kind this build cannot sign with",
            };
            TlsConfigError::BadPem {
                input: PemInput::ClientKey,
                reason: reason.into(),
            }
        })
    }

    #[cfg(feature = "tokio")]
    impl super::TlsConfig {
        /// The rustls client configuration of these settings, for `HyperTransport`.
        pub(crate) fn rustls_client_config(&self) -> Result<rustls::ClientConfig, TlsConfigError> {
            use super::TrustRoots;
            let provider = provider();
            let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
                .with_safe_default_protocol_versions()
                .expect("ring supports the default protocol versions");
            let builder = match &self.roots {
                TrustRoots::Custom(ders) => builder.with_root_certificates(root_store(ders)?),
                #[cfg(feature = "platform-verifier")]
                TrustRoots::Platform => {
                    let verifier = rustls_platform_verifier::Verifier::new(provider)
                        .map_err(|e| TlsConfigError::PlatformVerifierFailed(e.to_string()))?;
                    builder
                        .dangerous() // the platform's verifier replaces WebPKI's, it is not "no verification"
                        .with_custom_certificate_verifier(Arc::new(verifier))
                }
                #[cfg(not(feature = "platform-verifier"))]
                TrustRoots::Platform => return Err(TlsConfigError::PlatformVerifierUnavailable),
                TrustRoots::WebPki => builder.with_root_certificates(rustls::RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                }),
            };
            Ok(match &self.client {
                None => builder.with_no_client_auth(),
                Some(id) => builder.with_client_cert_resolver(Arc::new(
                    rustls::sign::SingleCertAndKey::from(certified_key(id)?),
                )),
            })
        }
    }
}

fn certificates(pem: &[u8], input: PemInput) -> Result<Vec<Vec<u8>>, TlsConfigError> {
    let mut certs = Vec::new();
    for item in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem) {
        match item {
            Ok((SectionKind::Certificate, der)) => certs.push(der),
            Ok(_) => {}
            Err(e) => {
                return Err(TlsConfigError::BadPem {
                    input,
                    reason: pem_reason(&e, ""),
                });
            }
        }
    }
    if certs.is_empty() {
        return Err(TlsConfigError::BadPem {
            input,
            reason: "no CERTIFICATE section".into(),
        });
    }
    // Parsing the DER here (not at the first handshake) reports a corrupt certificate now.
    for der in &certs {
        der_shape_check(der).map_err(|reason| TlsConfigError::BadPem { input, reason })?;
    }
    Ok(certs)
}

/// A minimal structural check of a DER certificate: one SEQUENCE that spans the input.
fn der_shape_check(der: &[u8]) -> Result<(), String> {
    match der {
        [0x30, 0x82, hi, lo, rest @ ..]
            if usize::from(*hi) << 8 | usize::from(*lo) == rest.len() =>
        {
            Ok(())
        }
        [0x30, 0x81, len, rest @ ..] if usize::from(*len) == rest.len() => Ok(()),
        _ => Err("a CERTIFICATE section does not hold a DER certificate".into()),
    }
}

/// Why a PEM input was refused, without echoing its contents (a key file must never end
/// up in a log).
fn pem_reason(e: &pem::Error, none_found: &str) -> String {
    match e {
        pem::Error::NoItemsFound if !none_found.is_empty() => none_found.into(),
        pem::Error::MissingSectionEnd { .. } => "a section has no END line".into(),
        pem::Error::IllegalSectionStart { .. } => "a BEGIN line is malformed".into(),
        pem::Error::Base64Decode(_) => "a section is not valid base64".into(),
        _ => "not a PEM file".into(),
    }
}

/// Which PEM input an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PemInput {
    /// The trusted root certificates (CA bundle).
    RootCertificates,
    /// The client certificate chain.
    ClientCertificate,
    /// The client private key.
    ClientKey,
}

impl fmt::Display for PemInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PemInput::RootCertificates => "root certificates (CA bundle)",
            PemInput::ClientCertificate => "client certificate",
            PemInput::ClientKey => "client private key",
        })
    }
}

/// A TLS setting that cannot be used. Messages never contain certificate or key bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// A PEM input could not be used.
    #[error("TLS {input}: {reason}")]
    BadPem {
        /// Which input.
        input: PemInput,
        /// What was wrong.
        reason: String,
    },
    /// Both custom roots and the platform verifier were asked for.
    #[error("TLS: choose either custom root certificates or the platform verifier, not both")]
    ConflictingRoots,
    /// The platform verifier was asked for but this build leaves it out.
    #[error("TLS: the platform verifier is not in this build (cargo feature `platform-verifier`)")]
    PlatformVerifierUnavailable,
    /// The operating system's verifier could not be set up (e.g. no trust store found).
    #[error("TLS: the platform verifier cannot start: {0}")]
    PlatformVerifierFailed(String),
}
