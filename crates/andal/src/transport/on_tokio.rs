//! The `tokio` feature's defaults for [`AsyncClient`](crate::AsyncClient): a hyper 1
//! transport (hyper-rustls on ring, WebPKI roots or a [`TlsConfig`], optional HTTP proxy,
//! HTTP/1.1, pooled, no redirects) and a timer on tokio's clock.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use andal_resilience::{AsyncSleep, Sleep};
use base64::Engine as _;
use http::Uri;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tower_service::Service;

use super::{
    AsyncTransport, FailureKind, HttpRequest, HttpResponse, InvalidProxy, Method, SendFuture,
    TransportError,
};
use crate::tls::{TlsConfig, TlsConfigError};

type Connector = hyper_rustls::HttpsConnector<Route>;

/// Default async transport (feature `tokio`): hyper 1 with rustls on ring, HTTP/1.1 with
/// connection pooling, redirects never followed (hyper has none). Trusts the WebPKI roots
/// unless built with other [`TlsConfig`] settings (a bank's private CA, a client
/// certificate for mutual TLS, the platform verifier), and can send every request through
/// an HTTP proxy: the same options as [`UreqTransport::builder`](super::UreqTransport::builder).
/// Plain `http://` is only reachable when the client builder allows it. Needs a tokio
/// runtime (with I/O and time enabled) when a request is sent.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use andal::tls::TlsConfig;
/// use andal::transport::HyperTransport;
///
/// // The registry gateway presents a certificate of the bank's private CA, wants the
/// // bank's client certificate, and is reached through the bank's egress proxy.
/// let tls = TlsConfig::builder()
///     .root_certificates_pem(std::fs::read("/etc/bank/registry-ca.pem")?)
///     .client_identity_pem(
///         std::fs::read("/etc/bank/client.pem")?,
///         std::fs::read("/etc/bank/client.key")?,
///     )
///     .build()?;
/// let transport = HyperTransport::builder()
///     .connect_timeout(Duration::from_millis(500))
///     .tls(tls)
///     .proxy("http://egress.bank.internal:3128")
///     .build()?;
/// let client = andal::Client::builder("https://registry.example")
///     .partner_id("bank-a")
///     .api_key("secret")
///     .async_transport(Arc::new(transport))
///     .build_async()?;
/// # let _ = client;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub struct HyperTransport {
    client: HyperClient<Connector, Full<Bytes>>,
    connect_timeout: Duration,
    /// The proxy's `host:port` (never its credentials), for `Debug`.
    proxy_addr: Option<String>,
    /// `Proxy-Authorization` for plain-http requests sent through the proxy (https ones
    /// carry it in the CONNECT request). Marked sensitive.
    proxy_auth: Option<http::HeaderValue>,
}

impl fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperTransport")
            .field("connect_timeout", &self.connect_timeout)
            // host:port only: the proxy URL's credentials never reach a log.
            .field("proxy", &self.proxy_addr)
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
    /// WebPKI roots, no client certificate, no proxy; [`builder`](Self::builder) for more.
    ///
    /// Unlike [`UreqTransport`](super::UreqTransport), the cap is per transport, not also
    /// 80 % of each attempt's timeout (hyper-util's connector has no per-request connect
    /// timeout): with attempts shorter than `connect_timeout`, a connection that never
    /// completes is reported as `read_timeout`. Pick `connect_timeout` below the attempt
    /// timeout (the default 1 s is below the default 2 s attempt).
    pub fn new(connect_timeout: Duration) -> Self {
        Self::builder()
            .connect_timeout(connect_timeout)
            .build()
            .expect("the default TLS settings and no proxy always build")
    }

    /// A builder: connect timeout, TLS settings (private CA, client certificate, platform
    /// verifier) and an HTTP proxy.
    pub fn builder() -> HyperTransportBuilder {
        HyperTransportBuilder {
            connect_timeout: Duration::from_secs(1),
            tls: TlsConfig::default(),
            proxy: None,
        }
    }

    fn with_settings(
        connect_timeout: Duration,
        tls: &TlsConfig,
        proxy: Option<ProxySpec>,
    ) -> Result<Self, HyperTransportError> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        let (route, proxy_addr, proxy_auth) = match proxy {
            None => (Route::direct(http), None, None),
            Some(p) => {
                let addr = p.addr.clone();
                let auth = p.auth.clone();
                (Route::through(http, p), Some(addr), auth)
            }
        };
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls.rustls_client_config()?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(route);
        let client = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(HyperTransport {
            client,
            connect_timeout,
            proxy_addr,
            proxy_auth,
        })
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
        if let Some(auth) = &self.proxy_auth {
            // A plain-http request goes to the proxy in absolute form and carries the
            // credentials itself; an https one is tunnelled (CONNECT carries them).
            if request
                .url
                .get(..7)
                .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
            {
                b = b.header(http::header::PROXY_AUTHORIZATION, auth.clone());
            }
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
                Ok(Ok(response)) => {
                    // hyper-util hands the connection back to its pool from a task it
                    // spawned, which runs once hyper has seen the end of the body. A
                    // caller that sends its next check at once (a batch worker, a loop)
                    // would find the pool empty, and the pool would open one more
                    // connection (it races a new connect against waiting for an idle
                    // one), ~28 KiB of hyper buffers and tasks each: 1,690 connections
                    // instead of 1,160 at 1,000 checks in flight. One yield lets that
                    // task run first.
                    tokio::task::yield_now().await;
                    Ok(response)
                }
                Ok(Err(e)) => Err(e),
                Err(_) => Err(TransportError::new(
                    FailureKind::ReadTimeout,
                    format!("no complete response within {timeout:?}"),
                )),
            }
        })
    }
}

/// Builder of [`HyperTransport`].
#[derive(Debug)]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub struct HyperTransportBuilder {
    connect_timeout: Duration,
    tls: TlsConfig,
    proxy: Option<Redacted>,
}

/// A proxy URL as given, kept out of `Debug` (it may hold a password).
struct Redacted(String);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<proxy URL>")
    }
}

impl HyperTransportBuilder {
    /// Cap on connection setup (TCP, to the registry or to the proxy); default 1 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// TLS settings (default: WebPKI roots, no client certificate).
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = tls;
        self
    }

    /// Send every request through this HTTP proxy: `http://host:port` (port 80 when
    /// left out; the scheme may be left out too), optionally with `user:password@`
    /// (percent-encoded, sent as Basic `Proxy-Authorization`). `https://` registries are
    /// reached through a `CONNECT` tunnel (TLS stays end to end), `http://` ones (test
    /// setups) by absolute-form requests to the proxy. No proxy unless set:
    /// `HTTPS_PROXY` and friends are not read, so a stray environment variable never
    /// reroutes identity checks.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(Redacted(url.into()));
        self
    }

    /// The transport; fails on a proxy URL it cannot use and on TLS settings rustls
    /// refuses (or a platform verifier that cannot start).
    pub fn build(self) -> Result<HyperTransport, HyperTransportError> {
        let proxy = match &self.proxy {
            None => None,
            Some(Redacted(url)) => Some(ProxySpec::parse(url)?),
        };
        HyperTransport::with_settings(self.connect_timeout, &self.tls, proxy)
    }
}

/// Why a [`HyperTransportBuilder`] could not build. Messages never repeat the proxy URL
/// or key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub enum HyperTransportError {
    /// The proxy URL cannot be used.
    #[error(transparent)]
    Proxy(#[from] InvalidProxy),
    /// The TLS settings cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsConfigError),
}

/// A parsed HTTP proxy.
#[derive(Clone)]
struct ProxySpec {
    /// `host:port`.
    addr: String,
    /// `http://host:port/`, what the connector dials.
    uri: Uri,
    auth: Option<http::HeaderValue>,
}

impl ProxySpec {
    /// `[http://][user[:password]@]host[:port][/]`; anything else (another scheme, a
    /// path, a query) is refused. Errors never repeat the input.
    fn parse(url: &str) -> Result<ProxySpec, InvalidProxy> {
        let rest = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some(_) => return Err(InvalidProxy),
            None => url,
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (userinfo, host_port) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        if host_port.is_empty() || host_port.contains(['/', '?', '#', '@']) {
            return Err(InvalidProxy);
        }
        let authority: http::uri::Authority = host_port.parse().map_err(|_| InvalidProxy)?;
        if authority.host().is_empty() {
            return Err(InvalidProxy);
        }
        let addr = format!(
            "{}:{}",
            authority.host(),
            authority.port_u16().unwrap_or(80)
        );
        let uri = Uri::builder()
            .scheme("http")
            .authority(addr.as_str())
            .path_and_query("/")
            .build()
            .map_err(|_| InvalidProxy)?;
        let auth = match userinfo {
            None => None,
            Some(userinfo) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                let credentials = [
                    percent_decode(user)?,
                    b":".to_vec(),
                    percent_decode(password)?,
                ]
                .concat();
                let mut value = http::HeaderValue::try_from(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(credentials)
                ))
                .map_err(|_| InvalidProxy)?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        Ok(ProxySpec { addr, uri, auth })
    }
}

/// RFC 3986 percent-decoding of a URL's user or password.
fn percent_decode(s: &str) -> Result<Vec<u8>, InvalidProxy> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [
                bytes.next().ok_or(InvalidProxy)?,
                bytes.next().ok_or(InvalidProxy)?,
            ];
            let hex = std::str::from_utf8(&hex).map_err(|_| InvalidProxy)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| InvalidProxy)?);
        } else {
            out.push(b);
        }
    }
    Ok(out)
}

/// The TCP leg under hyper-rustls: straight to the registry, or through the proxy
/// (hyper-util's `Tunnel` for https targets; for http targets a connection to the proxy
/// marked as proxied, so hyper-util writes absolute-form request targets).
#[derive(Clone)]
struct Route {
    http: HttpConnector,
    proxy: Option<(Uri, Tunnel<HttpConnector>)>,
}

impl Route {
    fn direct(http: HttpConnector) -> Route {
        Route { http, proxy: None }
    }

    fn through(http: HttpConnector, proxy: ProxySpec) -> Route {
        let mut tunnel = Tunnel::new(proxy.uri.clone(), http.clone());
        if let Some(auth) = proxy.auth {
            tunnel = tunnel.with_auth(auth);
        }
        Route {
            http,
            proxy: Some((proxy.uri, tunnel)),
        }
    }
}

type BoxError = Box<dyn StdError + Send + Sync>;

impl Service<Uri> for Route {
    type Response = RouteIo;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<RouteIo, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        if let Some((_, tunnel)) = &mut self.proxy {
            ready!(tunnel.poll_ready(cx))?;
        }
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        match &mut self.proxy {
            None => {
                let connecting = self.http.call(dst);
                Box::pin(async move { Ok::<_, BoxError>(RouteIo::new(connecting.await?, false)) })
            }
            Some((_, tunnel)) if dst.scheme() == Some(&http::uri::Scheme::HTTPS) => {
                let tunnelling = tunnel.call(dst);
                Box::pin(async move { Ok::<_, BoxError>(RouteIo::new(tunnelling.await?, false)) })
            }
            Some((proxy, _)) => {
                let connecting = self.http.call(proxy.clone());
                Box::pin(async move { Ok::<_, BoxError>(RouteIo::new(connecting.await?, true)) })
            }
        }
    }
}

/// A TCP stream that tells hyper-util whether it leads to a proxy (absolute-form
/// requests) or to the registry (directly or through a tunnel: origin-form).
struct RouteIo {
    io: TokioIo<TcpStream>,
    proxied: bool,
}

impl RouteIo {
    fn new(io: TokioIo<TcpStream>, proxied: bool) -> RouteIo {
        RouteIo { io, proxied }
    }
}

impl Connection for RouteIo {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.proxied)
    }
}

impl hyper::rt::Read for RouteIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for RouteIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
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
