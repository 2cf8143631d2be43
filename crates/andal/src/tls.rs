//! TLS settings for the built-in transports: which server certificates to trust (the public
//! WebPKI roots, a bank's private CA, or the operating system's verifier) and an optional
//! client certificate for gateways that require mutual TLS.
//!
//! The type holds parsed DER only (no transport types), so every built-in transport can
//! apply it: [`UreqTransport::builder`](crate::transport::UreqTransport::builder) today.
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
        Ok(TlsConfig { roots, client })
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
}
