//! Platform-supplied HTTP: a foreign trait implemented in Kotlin/Swift (OkHttp,
//! java.net.http, URLSession...), adapted here into the core's [`andal::Transport`].
//!
//! The client keeps every check it applies to responses (status mapping, content type,
//! size), whatever the transport; the adapter also enforces `max_body` itself, so a
//! foreign transport that forgets the limit cannot hand the core an oversized body.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::millis;
use crate::types::FailureKind;

/// HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum HttpMethod {
    /// GET
    Get,
    /// POST
    Post,
}

/// One header (order kept; names are case-insensitive).
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpHeader {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
}

impl fmt::Debug for HttpHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.eq_ignore_ascii_case("authorization") {
            write!(f, "{}: <redacted>", self.name)
        } else {
            write!(f, "{}: {}", self.name, self.value)
        }
    }
}

/// A request the core wants sent. The body holds personal data (JSON) and the headers a
/// credential: never log them.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpRequest {
    /// Method.
    pub method: HttpMethod,
    /// Absolute URL.
    pub url: String,
    /// Headers to send, in order.
    pub headers: Vec<HttpHeader>,
    /// Body bytes (empty for GET).
    pub body: Vec<u8>,
}

/// The response, whatever its status (the core maps statuses; do not throw on 4xx/5xx).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<HttpHeader>,
    /// Body bytes (at most `maxBody`).
    pub body: Vec<u8>,
}

/// A transport-level failure, classified (Kotlin `TransportException.Failed`, Swift
/// `TransportError.failed`). Anything else a foreign transport throws becomes `Protocol`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)] // Swift `errorDescription`, Kotlin `toString()`
pub enum TransportError {
    /// The request failed below HTTP.
    #[error("{kind:?}: {detail}")]
    Failed {
        /// Classification: drives retries, the breaker and the outage record. Use
        /// `Refused`, `Dns`, `ConnectTimeout`, `ReadTimeout`, `Tls`, `Reset`, `Protocol` or
        /// `TooLarge`.
        kind: FailureKind,
        /// Short technical detail (no bodies, no credentials).
        detail: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for TransportError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        TransportError::Failed {
            kind: FailureKind::Protocol,
            detail: format!("transport threw an unexpected exception: {}", e.reason),
        }
    }
}

/// An HTTP stack supplied by the app, blocking form (for Java implementers). Send one
/// request within `timeout_ms` (connect + send + full response), read at most `max_body`
/// bytes of body, never retry (the client owns retries), never follow redirects, and return
/// any HTTP status as a response. Called from a background thread, never the main thread;
/// must be thread-safe. Each request in flight occupies a thread of the client's blocking
/// pool: prefer [`AsyncHttpTransport`], which occupies none.
#[uniffi::export(foreign)]
pub trait HttpTransport: Send + Sync {
    /// Send one request.
    fn send(
        &self,
        request: HttpRequest,
        timeout_ms: u64,
        max_body: u64,
    ) -> Result<HttpResponse, TransportError>;
}

/// An HTTP stack supplied by the app, async form: a Kotlin `suspend fun` (OkHttp
/// `enqueue`, `java.net.http` `sendAsync`) or a Swift `async` function (`URLSession`), so
/// that no thread waits while a request is in flight. The contract of [`HttpTransport`]
/// holds (one attempt, `timeout_ms`, `max_body`, no redirects, any status returned);
/// cancelling the call (the check was cancelled) must abandon the request.
#[uniffi::export(foreign)]
#[async_trait::async_trait]
pub trait AsyncHttpTransport: Send + Sync {
    /// Send one request.
    async fn send(
        &self,
        request: HttpRequest,
        timeout_ms: u64,
        max_body: u64,
    ) -> Result<HttpResponse, TransportError>;
}

fn to_foreign(request: &andal::HttpRequest) -> HttpRequest {
    HttpRequest {
        method: match request.method {
            andal::Method::Get => HttpMethod::Get,
            _ => HttpMethod::Post,
        },
        url: request.url.clone(),
        headers: request
            .headers
            .iter()
            .map(|(name, value)| HttpHeader {
                name: name.clone(),
                value: value.clone(),
            })
            .collect(),
        body: request.body.clone(),
    }
}

/// The foreign answer as the core's, enforcing `max_body` whatever the transport did.
fn from_foreign(
    result: Result<HttpResponse, TransportError>,
    max_body: u64,
) -> Result<andal::HttpResponse, andal::TransportError> {
    match result {
        Ok(resp) => {
            if resp.body.len() as u64 > max_body {
                return Err(andal::TransportError::new(
                    andal::FailureKind::TooLarge,
                    format!("foreign transport returned more than {max_body} body bytes"),
                ));
            }
            Ok(andal::HttpResponse {
                status: resp.status,
                headers: resp
                    .headers
                    .into_iter()
                    .map(|h| (h.name, h.value))
                    .collect(),
                body: resp.body,
            })
        }
        Err(TransportError::Failed { kind, detail }) => {
            Err(andal::TransportError::new(kind.into(), detail))
        }
    }
}

fn panicked() -> andal::TransportError {
    andal::TransportError::new(andal::FailureKind::Protocol, "foreign transport panicked")
}

/// Adapts a foreign blocking [`HttpTransport`] into the core's transport traits.
pub(crate) struct ForeignTransport(pub(crate) Arc<dyn HttpTransport>);

impl fmt::Debug for ForeignTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ForeignTransport")
    }
}

impl andal::Transport for ForeignTransport {
    fn send(
        &self,
        request: &andal::HttpRequest,
        timeout: Duration,
        max_body: u64,
    ) -> Result<andal::HttpResponse, andal::TransportError> {
        let req = to_foreign(request);
        let transport = self.0.clone();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            transport.send(req, millis(timeout).max(1), max_body)
        }));
        match result {
            Ok(r) => from_foreign(r, max_body),
            Err(_) => Err(panicked()),
        }
    }
}

/// The async engine over a blocking foreign transport: each request runs on the runtime's
/// blocking pool (bounded), so a worker never blocks.
impl andal::AsyncTransport for ForeignTransport {
    fn send<'a>(
        &'a self,
        request: &'a andal::HttpRequest,
        timeout: Duration,
        max_body: u64,
    ) -> andal::transport::SendFuture<'a> {
        let req = to_foreign(request);
        let transport = self.0.clone();
        Box::pin(async move {
            let joined = tokio::task::spawn_blocking(move || {
                transport.send(req, millis(timeout).max(1), max_body)
            })
            .await;
            match joined {
                Ok(r) => from_foreign(r, max_body),
                Err(_) => Err(panicked()),
            }
        })
    }
}

/// Adapts a foreign [`AsyncHttpTransport`] into the core's [`andal::AsyncTransport`].
pub(crate) struct ForeignAsyncTransport(pub(crate) Arc<dyn AsyncHttpTransport>);

impl fmt::Debug for ForeignAsyncTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ForeignAsyncTransport")
    }
}

impl andal::AsyncTransport for ForeignAsyncTransport {
    fn send<'a>(
        &'a self,
        request: &'a andal::HttpRequest,
        timeout: Duration,
        max_body: u64,
    ) -> andal::transport::SendFuture<'a> {
        let req = to_foreign(request);
        let transport = self.0.clone();
        Box::pin(async move {
            let sent = transport.send(req, millis(timeout).max(1), max_body);
            // The foreign side owns the timeout; this bound only guarantees that one which
            // forgets it cannot hold a check past its attempt.
            match tokio::time::timeout(timeout, sent).await {
                Ok(r) => from_foreign(r, max_body),
                Err(_) => Err(andal::TransportError::new(
                    andal::FailureKind::ReadTimeout,
                    format!(
                        "foreign transport gave no response within {} ms",
                        timeout.as_millis()
                    ),
                )),
            }
        })
    }
}
