//! The `tokio` feature's defaults for [`AsyncClient`](crate::AsyncClient): a hyper 1
//! transport (hyper-rustls on ring, WebPKI roots, HTTP/1.1, pooled, no redirects) and a
//! timer on tokio's clock.

use std::error::Error as StdError;
use std::fmt;
use std::time::{Duration, Instant};

use andal_resilience::{AsyncSleep, Sleep};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::{
    AsyncTransport, FailureKind, HttpRequest, HttpResponse, Method, SendFuture, TransportError,
};

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// Default async transport (feature `tokio`): hyper 1 with rustls on ring and the WebPKI
/// roots, HTTP/1.1 with connection pooling, redirects never followed (hyper has none).
/// Plain `http://` is only reachable when the client builder allows it. Needs a tokio
/// runtime (with I/O and time enabled) when a request is sent.
#[derive(Clone)]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub struct HyperTransport {
    client: HyperClient<Connector, Full<Bytes>>,
    connect_timeout: Duration,
}

impl fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperTransport")
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

impl Default for HyperTransport {
    /// Connection setup capped at 1 s, as for the blocking transport.
    fn default() -> Self {
        Self::new(Duration::from_secs(1))
    }
}

impl HyperTransport {
    /// A transport whose connection setup (TCP) is capped at `connect_timeout`, so that
    /// an unreachable registry is classified as `connect_timeout`, not as a slow read.
    ///
    /// Unlike [`UreqTransport`](super::UreqTransport), the cap is per transport, not also
    /// 80 % of each attempt's timeout (hyper-util's connector has no per-request connect
    /// timeout): with attempts shorter than `connect_timeout`, a connection that never
    /// completes is reported as `read_timeout`. Pick `connect_timeout` below the attempt
    /// timeout (the default 1 s is below the default 2 s attempt).
    pub fn new(connect_timeout: Duration) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_root_certificates(rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            })
            .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        HyperTransport {
            client,
            connect_timeout,
        }
    }

    async fn send_inner(
        &self,
        request: &HttpRequest,
        max_body: u64,
    ) -> Result<HttpResponse, TransportError> {
        let method = match request.method {
            Method::Get => http::Method::GET,
            Method::Post => http::Method::POST,
        };
        let mut b = http::Request::builder()
            .method(method)
            .uri(&request.url)
            .header("user-agent", concat!("andal/", env!("CARGO_PKG_VERSION")));
        for (k, v) in &request.headers {
            b = b.header(k.as_str(), v.as_str());
        }
        let req = b
            .body(Full::new(Bytes::from(request.body.clone())))
            .map_err(|e| TransportError::new(FailureKind::Protocol, e.to_string()))?;
        let resp = self.client.request(req).await.map_err(classify)?;
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
        if resp
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .is_some_and(|n| n > max_body)
        {
            return Err(TransportError::new(
                FailureKind::TooLarge,
                format!("declared body above {max_body} bytes"),
            ));
        }
        let limit = usize::try_from(max_body).unwrap_or(usize::MAX);
        let body = Limited::new(resp.into_body(), limit)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    TransportError::new(
                        FailureKind::TooLarge,
                        format!("body above {max_body} bytes"),
                    )
                } else {
                    classify_chain(e.as_ref())
                }
            })?
            .to_bytes()
            .to_vec();
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

impl AsyncTransport for HyperTransport {
    fn send<'a>(
        &'a self,
        request: &'a HttpRequest,
        timeout: Duration,
        max_body: u64,
    ) -> SendFuture<'a> {
        Box::pin(async move {
            match tokio::time::timeout(timeout, self.send_inner(request, max_body)).await {
                Ok(r) => r,
                Err(_) => Err(TransportError::new(
                    FailureKind::ReadTimeout,
                    format!("no complete response within {timeout:?}"),
                )),
            }
        })
    }
}

/// Map a hyper-util error onto the shared failure vocabulary.
fn classify(e: hyper_util::client::legacy::Error) -> TransportError {
    let mut t = classify_chain(&e);
    if e.is_connect() && t.kind == FailureKind::Protocol {
        t.kind = FailureKind::Refused;
    }
    t
}

fn classify_chain(e: &(dyn StdError + 'static)) -> TransportError {
    let mut kind = None;
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            kind = Some(classify_io(io));
            break;
        }
        if err.downcast_ref::<rustls::Error>().is_some() {
            kind = Some(FailureKind::Tls);
            break;
        }
        if let Some(h) = err.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_canceled() || h.is_closed() {
                kind = Some(FailureKind::Reset);
                break;
            }
            if h.is_parse() || h.is_parse_status() {
                kind = Some(FailureKind::Protocol);
                break;
            }
            if h.is_timeout() {
                kind = Some(FailureKind::ReadTimeout);
                break;
            }
        }
        let msg = err.to_string().to_ascii_lowercase();
        if msg.contains("dns error") || msg.contains("failed to lookup address") {
            kind = Some(FailureKind::Dns);
            break;
        }
        if msg.contains("tcp connect error") && msg.contains("timed out") {
            kind = Some(FailureKind::ConnectTimeout);
            break;
        }
        cur = err.source();
    }
    // Details describe sockets, TLS and framing, never bodies.
    TransportError::new(kind.unwrap_or(FailureKind::Protocol), full_message(e))
}

fn full_message(e: &(dyn StdError + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(err) = cur {
        s.push_str(": ");
        s.push_str(&err.to_string());
        cur = err.source();
    }
    s
}

fn classify_io(e: &std::io::Error) -> FailureKind {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => FailureKind::Refused,
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            FailureKind::Reset
        }
        K::TimedOut => FailureKind::ConnectTimeout,
        K::WouldBlock => FailureKind::ReadTimeout,
        K::InvalidData => {
            if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
                FailureKind::Tls
            } else {
                FailureKind::Protocol
            }
        }
        _ => {
            let msg = e.to_string().to_ascii_lowercase();
            if msg.contains("certificate") || msg.contains("tls") {
                FailureKind::Tls
            } else {
                FailureKind::Protocol
            }
        }
    }
}

/// [`AsyncSleep`] on tokio's timer, for the system clock (the default timer of
/// [`AsyncClient`](crate::AsyncClient) with the `tokio` feature).
#[derive(Debug, Default, Clone, Copy)]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub struct TokioTimer;

impl AsyncSleep for TokioTimer {
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        Box::pin(tokio::time::sleep_until(tokio::time::Instant::from_std(
            deadline,
        )))
    }
}
