//! The HTTP transport: a small trait the client sends requests through, and the default
//! HTTPS implementation on ureq 3 + rustls (ring). Apps may supply their own (OkHttp,
//! URLSession, java.net.http) through the bindings; the client applies the same checks
//! (status mapping, content type, size) whatever the transport.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

#[cfg(feature = "tokio")]
mod on_tokio;
#[cfg(feature = "https")]
mod resolve;
#[cfg(feature = "tokio")]
pub use on_tokio::{HyperTransport, HyperTransportBuilder, HyperTransportError, TokioTimer};

pub use andal_resilience::FailureKind;

/// Default maximum response body accepted, in bytes. A check response is < 4 KiB; anything
/// near this limit is a faulty or hostile upstream.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 256 * 1024;

/// HTTP method (the API needs only these two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
}

impl Method {
    /// Upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// One request. `Debug` redacts the body (personal data) and credential headers.
#[derive(Clone)]
pub struct HttpRequest {
    /// Method.
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    /// Header name/value pairs.
    pub headers: Vec<(String, String)>,
    /// Body bytes (JSON), empty for GET.
    pub body: Vec<u8>,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<_> = self
            .headers
            .iter()
            .map(|(k, v)| {
                if k.eq_ignore_ascii_case("authorization") {
                    (k.as_str(), "<redacted>")
                } else {
                    (k.as_str(), v.as_str())
                }
            })
            .collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl HttpRequest {
    /// Value of a header (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// One response. `Debug` shows only status, headers and body length.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header name/value pairs.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl HttpResponse {
    /// Value of a header (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A transport-level failure, classified. `detail` is for operators and never contains
/// request bodies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} ({detail})", kind.label())]
pub struct TransportError {
    /// Classification (drives retries, the breaker and the outage record).
    pub kind: FailureKind,
    /// Short technical detail.
    pub detail: String,
}

impl TransportError {
    /// Build one.
    pub fn new(kind: FailureKind, detail: impl Into<String>) -> Self {
        TransportError {
            kind,
            detail: detail.into(),
        }
    }
}

/// Sends one HTTP request within `timeout` (connect + send + full response). Must enforce
/// `max_body` on the response body and classify failures. Implementations must be cheap to
/// share between threads.
pub trait Transport: Send + Sync + fmt::Debug {
    /// Send one request; never retry internally (the client owns retries).
    fn send(
        &self,
        request: &HttpRequest,
        timeout: Duration,
        max_body: u64,
    ) -> Result<HttpResponse, TransportError>;
}

/// The future an [`AsyncTransport`] returns.
pub type SendFuture<'a> =
    Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send + 'a>>;

/// The async [`Transport`]: sends one request within `timeout` (connect + send + full
/// response), enforces `max_body` and classifies failures, without blocking a thread.
/// Object-safe and runtime-agnostic: a bank implements it over its own HTTP client and
/// pool; the `tokio` feature ships [`HyperTransport`].
///
/// The timeout is the transport's to enforce (as for the blocking trait): the
/// [`AsyncClient`](crate::AsyncClient) counts on the future resolving within it, with
/// `ReadTimeout` / `ConnectTimeout` when it cannot. Dropping the future must abandon the
/// request (the client does so when its caller cancels a check).
pub trait AsyncTransport: Send + Sync + fmt::Debug {
    /// Send one request; never retry internally (the client owns retries).
    fn send<'a>(
        &'a self,
        request: &'a HttpRequest,
        timeout: Duration,
        max_body: u64,
    ) -> SendFuture<'a>;
}

/// Default transport (feature `https`, on by default): ureq 3 with rustls on ring, WebPKI roots, no redirects, connection
/// pooling. Plain `http://` is only reachable when the client builder allows it.
#[cfg(feature = "https")]
#[cfg_attr(docsrs, doc(cfg(feature = "https")))]
pub struct UreqTransport {
    agent: ureq::Agent,
    connect_timeout: Duration,
}

#[cfg(feature = "https")]
impl fmt::Debug for UreqTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UreqTransport")
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "https")]
impl Default for UreqTransport {
    /// Connection setup capped at 1 s (a registry that cannot complete a handshake on
    /// the same network in a second is unreachable, not slow).
    fn default() -> Self {
        Self::new(Duration::from_secs(1))
    }
}

/// The connect cap for an attempt of `timeout`: the transport's own cap, and always
/// strictly below the attempt timeout (at most 80 % of it). When both were equal they
/// fired together and the overall timeout usually won, so an unreachable registry (a
/// connection stuck in SYN-SENT) was recorded as `read_timeout`, i.e. as slow.
#[cfg(feature = "https")]
fn connect_cap(connect_timeout: Duration, timeout: Duration) -> Duration {
    connect_timeout.min(timeout.mul_f64(0.8))
}

#[cfg(feature = "https")]
impl UreqTransport {
    /// A transport whose connection setup is capped at `connect_timeout` (and at 80 % of
    /// each attempt's timeout, so a connect that never completes is classified as
    /// `connect_timeout`, not as a slow read).
    pub fn new(connect_timeout: Duration) -> Self {
        Self::with_settings(connect_timeout, &crate::tls::TlsConfig::default(), None)
    }

    /// A builder: TLS settings (private CA, client certificate, platform verifier) and an
    /// HTTP(S) proxy.
    pub fn builder() -> UreqTransportBuilder {
        UreqTransportBuilder {
            connect_timeout: Duration::from_secs(1),
            tls: crate::tls::TlsConfig::default(),
            proxy: None,
        }
    }

    fn with_settings(
        connect_timeout: Duration,
        tls: &crate::tls::TlsConfig,
        proxy: Option<ureq::Proxy>,
    ) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .save_redirect_history(false)
            .user_agent(concat!("andal/", env!("CARGO_PKG_VERSION")))
            .max_idle_connections_per_host(16)
            .tls_config(ureq_tls(tls))
            .proxy(proxy)
            .build();
        // ureq's own resolver starts a thread per request (see `resolve`).
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::default(),
            resolve::LiteralFirstResolver::default(),
        );
        UreqTransport {
            agent,
            connect_timeout,
        }
    }
}

/// Builder of [`UreqTransport`].
#[cfg(feature = "https")]
#[cfg_attr(docsrs, doc(cfg(feature = "https")))]
#[derive(Debug)]
pub struct UreqTransportBuilder {
    connect_timeout: Duration,
    tls: crate::tls::TlsConfig,
    proxy: Option<String>,
}

#[cfg(feature = "https")]
impl UreqTransportBuilder {
    /// Cap on connection setup (default 1 s; also at most 80 % of each attempt's timeout).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// TLS settings (default: WebPKI roots, no client certificate).
    pub fn tls(mut self, tls: crate::tls::TlsConfig) -> Self {
        self.tls = tls;
        self
    }

    /// Send every request through this proxy: `http://host:port` (CONNECT for HTTPS),
    /// optionally with `user:password@`. No proxy unless set: `HTTPS_PROXY` and friends
    /// are not read, so a stray environment variable never reroutes identity checks.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// The transport; fails on a proxy URL ureq cannot use.
    pub fn build(self) -> Result<UreqTransport, InvalidProxy> {
        let proxy = match &self.proxy {
            None => None,
            // The URL may carry credentials: the error never repeats it.
            Some(url) => Some(ureq::Proxy::new(url).map_err(|_| InvalidProxy)?),
        };
        Ok(UreqTransport::with_settings(
            self.connect_timeout,
            &self.tls,
            proxy,
        ))
    }
}

/// A proxy URL that cannot be used (the message never repeats it: it may hold a password).
#[cfg(any(feature = "https", feature = "tokio"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "https", feature = "tokio"))))]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid proxy URL (expected http://[user:password@]host:port)")]
#[non_exhaustive]
pub struct InvalidProxy;

/// The ureq form of [`TlsConfig`](crate::tls::TlsConfig).
#[cfg(feature = "https")]
fn ureq_tls(tls: &crate::tls::TlsConfig) -> ureq::tls::TlsConfig {
    use crate::tls::TrustRoots;
    use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts};
    let roots = match tls.roots() {
        TrustRoots::Custom(ders) => RootCerts::new_with_certs(
            &ders
                .iter()
                .map(|d| Certificate::from_der(d).to_owned())
                .collect::<Vec<_>>(),
        ),
        TrustRoots::Platform => RootCerts::PlatformVerifier,
        _ => RootCerts::WebPki,
    };
    let client = tls.client_identity().and_then(|id| {
        let chain: Vec<_> = id
            .chain()
            .iter()
            .map(|d| Certificate::from_der(d).to_owned())
            .collect();
        // Parsed and checked when the TlsConfig was built.
        let key = PrivateKey::from_pem(id.private_key_pem()).ok()?;
        Some(ClientCert::new_with_certs(&chain, key))
    });
    ureq::tls::TlsConfig::builder()
        .root_certs(roots)
        .client_cert(client)
        .build()
}

#[cfg(feature = "https")]
impl Transport for UreqTransport {
    fn send(
        &self,
        request: &HttpRequest,
        timeout: Duration,
        max_body: u64,
    ) -> Result<HttpResponse, TransportError> {
        let connect = connect_cap(self.connect_timeout, timeout);
        let result = match request.method {
            Method::Get => {
                let mut b = self.agent.get(&request.url);
                for (k, v) in &request.headers {
                    b = b.header(k, v);
                }
                b.config()
                    .timeout_global(Some(timeout))
                    .timeout_connect(Some(connect))
                    .build()
                    .call()
            }
            Method::Post => {
                let mut b = self.agent.post(&request.url);
                for (k, v) in &request.headers {
                    b = b.header(k, v);
                }
                b.config()
                    .timeout_global(Some(timeout))
                    .timeout_connect(Some(connect))
                    .build()
                    .send(&request.body[..])
            }
        };
        let mut resp = result.map_err(classify)?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = resp
            .body_mut()
            .with_config()
            .limit(max_body)
            .read_to_vec()
            .map_err(classify)?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

#[cfg(feature = "https")]
/// Map a ureq error onto the shared failure vocabulary.
fn classify(e: ureq::Error) -> TransportError {
    use ureq::Error as E;
    use ureq::Timeout as T;
    let kind = match &e {
        E::Io(io) => classify_io(io),
        E::Timeout(T::Connect | T::Resolve) => FailureKind::ConnectTimeout,
        E::Timeout(_) | E::BodyStalled => FailureKind::ReadTimeout,
        E::HostNotFound => FailureKind::Dns,
        E::ConnectionFailed => FailureKind::Refused,
        E::Tls(_) | E::Rustls(_) | E::Pem(_) | E::TlsRequired => FailureKind::Tls,
        E::BodyExceedsLimit(_) | E::LargeResponseHeader(..) => FailureKind::TooLarge,
        _ => FailureKind::Protocol,
    };
    // Details come from ureq and describe sockets, TLS and framing, never bodies.
    TransportError::new(kind, e.to_string())
}

#[cfg(feature = "https")]
fn classify_io(e: &std::io::Error) -> FailureKind {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => FailureKind::Refused,
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            FailureKind::Reset
        }
        K::TimedOut | K::WouldBlock => FailureKind::ReadTimeout,
        _ => {
            // std's resolver and rustls surface their failures as uncategorised io errors;
            // their messages are stable enough to classify.
            let msg = e.to_string().to_ascii_lowercase();
            if msg.contains("lookup address") || msg.contains("name or service not known") {
                FailureKind::Dns
            } else if msg.contains("certificate") {
                FailureKind::Tls
            } else {
                FailureKind::Protocol
            }
        }
    }
}
