//! Reaching the ledger database: a PostgreSQL URL whose `sslmode` is honoured as libpq
//! does, over rustls (ring), with the CA certificates a bank's database is signed by.
//!
//! | `sslmode` | TLS | server certificate |
//! |---|---|---|
//! | `disable` | never | – |
//! | `prefer` (the default) | when the server offers it | chain checked against the CA when one is configured, else not checked |
//! | `require` | always | as `prefer` |
//! | `verify-ca` | always | chain to the configured CA (required) |
//! | `verify-full` | always | chain to the configured CA (required) and the host name |
//!
//! Only `verify-full` protects against an active attacker in the network; `prefer` and
//! `require` without a CA only against eavesdropping (libpq's meaning of them).

use std::path::PathBuf;
use std::sync::Arc;

use postgres::config::SslMode;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::LedgerError;

/// libpq's `sslmode`, as this crate honours it (table in the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SslPolicy {
    /// `disable`: plain TCP.
    Disable,
    /// `prefer`: TLS when the server offers it (the default).
    Prefer,
    /// `require`: TLS or no connection.
    Require,
    /// `verify-ca`: TLS, the server's certificate chains to the configured CA.
    VerifyCa,
    /// `verify-full`: as `verify-ca`, and the certificate names the host connected to.
    VerifyFull,
}

impl SslPolicy {
    /// The `sslmode` value.
    pub fn as_str(self) -> &'static str {
        match self {
            SslPolicy::Disable => "disable",
            SslPolicy::Prefer => "prefer",
            SslPolicy::Require => "require",
            SslPolicy::VerifyCa => "verify-ca",
            SslPolicy::VerifyFull => "verify-full",
        }
    }

    fn parse(v: &str) -> Result<Self, LedgerError> {
        Ok(match v {
            "disable" => SslPolicy::Disable,
            "prefer" => SslPolicy::Prefer,
            "require" => SslPolicy::Require,
            "verify-ca" => SslPolicy::VerifyCa,
            "verify-full" => SslPolicy::VerifyFull,
            other => {
                return Err(LedgerError::Config(format!(
                    "sslmode={other} is not one of disable, prefer, require, verify-ca, verify-full"
                )));
            }
        })
    }
}

/// Where the ledger database is and how to reach it: a PostgreSQL URL
/// (`postgres://user@host:port/db?sslmode=verify-full`, or libpq's `key=value` form) and the
/// CA certificates its server certificate chains to. `Debug` never shows the password.
///
/// ```
/// use andal_ledger::LedgerDb;
/// let db = LedgerDb::new("postgres://andal:secret@db.bank.example/andal?sslmode=verify-full")
///     .ca_file("/etc/bank/postgres-ca.pem");
/// assert!(!format!("{db:?}").contains("secret"));
/// ```
#[derive(Clone)]
pub struct LedgerDb {
    url: String,
    ca_file: Option<PathBuf>,
    ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for LedgerDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerDb")
            .field("url", &redact(&self.url))
            .field("ca_file", &self.ca_file)
            .field("ca_pem", &self.ca_pem.as_ref().map(Vec::len))
            .finish()
    }
}

impl From<&str> for LedgerDb {
    fn from(url: &str) -> Self {
        LedgerDb::new(url)
    }
}

impl From<String> for LedgerDb {
    fn from(url: String) -> Self {
        LedgerDb::new(url)
    }
}

impl From<&String> for LedgerDb {
    fn from(url: &String) -> Self {
        LedgerDb::new(url.as_str())
    }
}

impl From<&LedgerDb> for LedgerDb {
    fn from(db: &LedgerDb) -> Self {
        db.clone()
    }
}

impl LedgerDb {
    /// The database at `url` (its `sslmode` honoured; `prefer` when absent).
    pub fn new(url: impl Into<String>) -> Self {
        LedgerDb {
            url: url.into(),
            ca_file: None,
            ca_pem: None,
        }
    }

    /// Trust the CA certificate(s) in this PEM file for the server's certificate (read at
    /// each connection, so a renewed CA file is picked up).
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Trust the CA certificate(s) in this PEM text.
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pem = Some(pem.into());
        self
    }

    /// The URL's `sslmode` (`prefer` when absent).
    pub fn ssl_policy(&self) -> Result<SslPolicy, LedgerError> {
        split_sslmode(&self.url).map(|(_, p)| p)
    }

    /// Open a connection (no schema check: see [`crate::schema::connect`]).
    pub fn connect(&self) -> Result<postgres::Client, LedgerError> {
        let (rest, policy) = split_sslmode(&self.url)?;
        let mut config: postgres::Config = rest.parse()?;
        config.ssl_mode(match policy {
            SslPolicy::Disable => SslMode::Disable,
            SslPolicy::Prefer => SslMode::Prefer,
            _ => SslMode::Require,
        });
        if policy == SslPolicy::Disable {
            return Ok(config.connect(postgres::NoTls)?);
        }
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(self.rustls_config(policy)?);
        config
            .connect(tls)
            .map_err(|e| tls_error(e, policy, self.has_ca()))
    }

    fn has_ca(&self) -> bool {
        self.ca_file.is_some() || self.ca_pem.is_some()
    }

    fn roots(&self) -> Result<Option<RootCertStore>, LedgerError> {
        let (pem, source) = match (&self.ca_pem, &self.ca_file) {
            (Some(pem), _) => (pem.clone(), "the CA PEM".to_owned()),
            (None, Some(path)) => (
                std::fs::read(path)
                    .map_err(|e| LedgerError::Config(format!("CA file {}: {e}", path.display())))?,
                format!("CA file {}", path.display()),
            ),
            (None, None) => return Ok(None),
        };
        let parsed = andal::tls::TlsConfig::builder()
            .root_certificates_pem(&pem)
            .build()
            .map_err(|e| LedgerError::Config(format!("{source}: {e}")))?;
        let andal::tls::TrustRoots::Custom(ders) = parsed.roots() else {
            return Err(LedgerError::Config(format!("{source}: no CA certificate")));
        };
        let mut roots = RootCertStore::empty();
        for der in ders {
            roots
                .add(CertificateDer::from(der.clone()))
                .map_err(|e| LedgerError::Config(format!("{source}: {e}")))?;
        }
        Ok(Some(roots))
    }

    fn rustls_config(&self, policy: SslPolicy) -> Result<rustls::ClientConfig, LedgerError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match (policy, self.roots()?) {
            (SslPolicy::VerifyFull, Some(roots)) => webpki(roots, &provider)?,
            // libpq: with a root CA, `require` (and `prefer`) check the chain like verify-ca.
            (_, Some(roots)) => Arc::new(ChainOnly(webpki(roots, &provider)?)),
            (SslPolicy::VerifyCa | SslPolicy::VerifyFull, None) => {
                return Err(LedgerError::Config(format!(
                    "sslmode={} needs the CA certificate the database's server certificate \
                     chains to: LedgerDb::ca_file, or --ledger-ca FILE",
                    policy.as_str()
                )));
            }
            (_, None) => Arc::new(EncryptOnly(provider.clone())),
        };
        Ok(rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| LedgerError::Config(format!("TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth())
    }
}

fn webpki(
    roots: RootCertStore,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, LedgerError> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| LedgerError::Config(format!("TLS verifier: {e}")))
}

/// The URL without its `sslmode` (tokio-postgres knows only disable/prefer/require, so the
/// mode is set on the parsed config instead) and the mode.
fn split_sslmode(url: &str) -> Result<(String, SslPolicy), LedgerError> {
    let mut mode = None;
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut kept = Vec::new();
        for kv in query.split('&').filter(|kv| !kv.is_empty()) {
            match kv.strip_prefix("sslmode=") {
                Some(v) => mode = Some(SslPolicy::parse(v)?),
                None => kept.push(kv),
            }
        }
        if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        }
    } else {
        // key=value form: values with spaces are quoted, sslmode's never are.
        let mut out = String::with_capacity(url.len());
        let mut rest = url;
        while let Some(i) = find_key(rest, "sslmode") {
            out.push_str(&rest[..i]);
            let after = rest[i + "sslmode".len()..].trim_start();
            let after = after.strip_prefix('=').unwrap_or(after).trim_start();
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            mode = Some(SslPolicy::parse(after[..end].trim_matches('\''))?);
            rest = &after[end..];
        }
        out.push_str(rest);
        out
    };
    Ok((rest, mode.unwrap_or(SslPolicy::Prefer)))
}

/// Position of `key` as a key (at the start or after whitespace) in a key=value string.
fn find_key(s: &str, key: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find(key).map(|i| i + from) {
        let at_start = i == 0 || s[..i].ends_with(char::is_whitespace);
        let next = s[i + key.len()..].trim_start();
        if at_start && next.starts_with('=') {
            return Some(i);
        }
        from = i + key.len();
    }
    None
}

/// The URL with its password replaced (for `Debug`).
fn redact(url: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let after = &url[scheme_end + 3..];
        let auth_end = after.find(['/', '?']).unwrap_or(after.len());
        if let Some(at) = after[..auth_end].rfind('@') {
            let userinfo = &after[..at];
            if let Some(colon) = userinfo.find(':') {
                return format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &after[at..]
                );
            }
        }
        return url.to_owned();
    }
    let mut out = url.to_owned();
    if let Some(i) = find_key(url, "password") {
        let after = &url[i..];
        let eq = after.find('=').map_or(after.len(), |e| e + 1);
        let value = after[eq..].trim_start();
        let skip = after.len() - value.len();
        let end = if value.starts_with('\'') {
            value[1..].find('\'').map_or(value.len(), |e| e + 2)
        } else {
            value.find(char::is_whitespace).unwrap_or(value.len())
        };
        out = format!("{}password=***{}", &url[..i], &url[i + skip + end..]);
    }
    out
}

/// A handshake that failed on the server's certificate becomes [`LedgerError::Tls`].
fn tls_error(e: postgres::Error, policy: SslPolicy, has_ca: bool) -> LedgerError {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = cur {
        let rustls_err = err.downcast_ref::<rustls::Error>().or_else(|| {
            err.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(t) = rustls_err {
            return LedgerError::Tls {
                sslmode: policy.as_str(),
                reason: format!("{t}{}", if has_ca { "" } else { " (no CA configured)" }),
            };
        }
        cur = err.source();
    }
    LedgerError::Db(e)
}

/// `verify-ca` (and `require`/`prefer` with a CA): the chain to the CA, any host name.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // WebPKI checks the name only after the chain verified, so a name error means the
        // chain is good.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `prefer`/`require` without a CA (libpq's meaning): encrypted, the server's certificate
/// not checked; the handshake signatures still are.
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_is_taken_out_of_both_url_forms() {
        let (rest, p) =
            split_sslmode("postgres://u@h:5432/db?sslmode=verify-full&hostaddr=127.0.0.1").unwrap();
        assert_eq!(
            (rest.as_str(), p),
            (
                "postgres://u@h:5432/db?hostaddr=127.0.0.1",
                SslPolicy::VerifyFull
            )
        );
        let (rest, p) = split_sslmode("postgresql://u@h/db?sslmode=disable").unwrap();
        assert_eq!(
            (rest.as_str(), p),
            ("postgresql://u@h/db", SslPolicy::Disable)
        );
        let (rest, p) = split_sslmode("postgres://u@h/db").unwrap();
        assert_eq!((rest.as_str(), p), ("postgres://u@h/db", SslPolicy::Prefer));
        let (rest, p) = split_sslmode("host=h sslmode = verify-ca user=u").unwrap();
        assert_eq!(
            (rest.trim(), p),
            ("host=h  user=u".trim(), SslPolicy::VerifyCa)
        );
        assert!(rest.parse::<postgres::Config>().is_ok());
        let e = split_sslmode("postgres://h/db?sslmode=allow-anything").unwrap_err();
        assert!(e.to_string().contains("sslmode=allow-anything"), "{e}");
    }

    #[test]
    fn debug_never_shows_the_password() {
        for url in [
            "postgres://andal:s3cret@db:5432/andal?sslmode=require",
            "postgresql://andal:s3cret@db/andal",
            "host=db user=andal password=s3cret sslmode=require",
            "host=db password='s3cret with space' user=andal",
        ] {
            let shown = format!("{:?}", LedgerDb::new(url).ca_file("/ca.pem"));
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("andal"), "{shown}");
        }
    }

    #[test]
    fn verify_modes_need_a_ca_and_a_bad_ca_file_is_a_clear_error() {
        let e = LedgerDb::new("postgres://u@127.0.0.1:1/db?sslmode=verify-full")
            .connect()
            .err()
            .unwrap();
        assert!(matches!(e, LedgerError::Config(_)), "{e}");
        assert!(e.to_string().contains("CA certificate"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("ca.pem");
        std::fs::write(&bad, "not a certificate").unwrap();
        let e = LedgerDb::new("postgres://u@127.0.0.1:1/db?sslmode=verify-ca")
            .ca_file(&bad)
            .connect()
            .err()
            .unwrap();
        assert!(matches!(e, LedgerError::Config(_)), "{e}");
        assert!(e.to_string().contains("ca.pem"), "{e}");
    }
}
