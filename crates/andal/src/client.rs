//! `Client`: composes validation, transport and (as they land) the resilience pieces in
//! the order of one check.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::api::{self, CheckRequest, CheckResponse, Problem, ProblemCode};
use crate::decision::{Decision, Provenance};
use crate::error::{ConfigError, Error, Rejected, Unavailable, UnavailableCause};
use crate::query::Query;
use crate::transport::{
    DEFAULT_MAX_RESPONSE_BYTES, FailureKind, HttpRequest, HttpResponse, Method, Transport,
    TransportError, UreqTransport,
};

/// Default total deadline for one check, across all attempts.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(5);
/// Default cap on one attempt.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// Per-call options.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CheckOptions {
    /// Idempotency key to use instead of a fresh random one (e.g. the bank's own
    /// transaction id, so that a retry after a crash is not charged twice).
    pub idempotency_key: Option<String>,
    /// Deadline for this call instead of the client's.
    pub deadline: Option<Duration>,
}

impl CheckOptions {
    /// Use this idempotency key.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
    /// Use this total deadline.
    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = Some(d);
        self
    }
}

/// Builder for [`Client`].
///
/// ```no_run
/// use std::time::Duration;
/// let client = andal::Client::builder("https://registry.example")
///     .partner_id("bank-a")
///     .api_key("secret")
///     .deadline(Duration::from_secs(5))
///     .build()?;
/// # Ok::<(), andal::Error>(())
/// ```
pub struct ClientBuilder {
    base_url: String,
    partner_id: Option<String>,
    api_key: Option<String>,
    allow_http: bool,
    deadline: Duration,
    attempt_timeout: Duration,
    max_response_bytes: u64,
    transport: Option<Arc<dyn Transport>>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("partner_id", &self.partner_id)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Partner id the API key belongs to.
    pub fn partner_id(mut self, id: impl Into<String>) -> Self {
        self.partner_id = Some(id.into());
        self
    }
    /// API key sent as `Authorization: Bearer`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }
    /// Allow plain `http://` (the local sandbox only; never for a real registry).
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }
    /// Total deadline per check, across all attempts (default 5 s).
    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = d;
        self
    }
    /// Cap on one attempt (default 2 s; always also capped by what remains of the deadline).
    pub fn attempt_timeout(mut self, d: Duration) -> Self {
        self.attempt_timeout = d;
        self
    }
    /// Largest response body accepted (default 256 KiB).
    pub fn max_response_bytes(mut self, n: u64) -> Self {
        self.max_response_bytes = n;
        self
    }
    /// Use this transport instead of the default ureq/rustls one.
    pub fn transport(mut self, t: Arc<dyn Transport>) -> Self {
        self.transport = Some(t);
        self
    }

    /// Validate the settings and build the client.
    pub fn build(self) -> Result<Client, Error> {
        let base = self.base_url.trim().trim_end_matches('/').to_owned();
        let (scheme, rest) = base
            .split_once("://")
            .ok_or_else(|| ConfigError::BaseUrl("missing scheme".into()))?;
        match scheme {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err(ConfigError::InsecureHttp.into()),
            _ => return Err(ConfigError::BaseUrl("scheme must be https".into()).into()),
        }
        if rest.is_empty() || rest.contains(char::is_whitespace) {
            return Err(ConfigError::BaseUrl("missing or invalid host".into()).into());
        }
        let host = rest.split('/').next().unwrap_or_default().to_owned();
        let partner_id = self
            .partner_id
            .filter(|s| !s.is_empty())
            .ok_or(ConfigError::Missing("partner_id"))?;
        let api_key = self
            .api_key
            .filter(|s| !s.is_empty())
            .ok_or(ConfigError::Missing("api_key"))?;
        if self.deadline.is_zero() {
            return Err(ConfigError::Invalid {
                name: "deadline",
                reason: "must be greater than zero".into(),
            }
            .into());
        }
        Ok(Client {
            inner: Arc::new(Inner {
                checks_url: format!("{base}{}", api::CHECKS_PATH),
                base_url: base,
                host,
                partner_id,
                auth_header: format!("Bearer {api_key}"),
                deadline: self.deadline,
                attempt_timeout: self.attempt_timeout,
                max_response_bytes: self.max_response_bytes,
                transport: self
                    .transport
                    .unwrap_or_else(|| Arc::new(UreqTransport::default())),
            }),
        })
    }
}

struct Inner {
    base_url: String,
    checks_url: String,
    host: String,
    partner_id: String,
    auth_header: String,
    deadline: Duration,
    attempt_timeout: Duration,
    max_response_bytes: u64,
    transport: Arc<dyn Transport>,
}

/// The identity-check client. Cheap to clone; `Send + Sync`; share one per registry.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("partner_id", &self.inner.partner_id)
            .finish_non_exhaustive()
    }
}

/// What one attempt produced.
enum AttemptResult {
    Answer(CheckResponse),
    Fail {
        failure: TransportError,
        retry_after: Option<Duration>,
    },
    Final(Error),
}

impl Client {
    /// Start building a client for a registry base URL.
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            partner_id: None,
            api_key: None,
            allow_http: false,
            deadline: DEFAULT_DEADLINE,
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            transport: None,
        }
    }

    /// The partner id.
    pub fn partner_id(&self) -> &str {
        &self.inner.partner_id
    }

    /// Upstream host (`host:port`) this client talks to.
    pub fn host(&self) -> &str {
        &self.inner.host
    }

    /// Check one query with default options.
    pub fn verify(&self, query: &Query) -> Result<Decision, Error> {
        self.verify_with(query, &CheckOptions::default())
    }

    /// Check one query.
    pub fn verify_with(&self, query: &Query, opts: &CheckOptions) -> Result<Decision, Error> {
        let started = Instant::now();
        let total = opts.deadline.unwrap_or(self.inner.deadline);
        let key = match &opts.idempotency_key {
            Some(k) => validate_idempotency_key(k)?,
            None => new_idempotency_key(),
        };
        let body = serde_json::to_vec(&CheckRequest::from_query(query))
            .map_err(|e| Error::Protocol(format!("cannot encode request: {e}")))?;
        let request = HttpRequest {
            method: Method::Post,
            url: self.inner.checks_url.clone(),
            headers: vec![
                ("Authorization".into(), self.inner.auth_header.clone()),
                ("Content-Type".into(), "application/json".into()),
                ("Accept".into(), "application/json".into()),
                (api::IDEMPOTENCY_KEY_HEADER.into(), key),
            ],
            body,
        };
        let remaining = total.saturating_sub(started.elapsed());
        let timeout = remaining.min(self.inner.attempt_timeout);
        match self.attempt(&request, timeout) {
            AttemptResult::Answer(resp) => Ok(decision_from(query, resp, 1, started)),
            AttemptResult::Final(e) => Err(e),
            AttemptResult::Fail { failure, .. } => Err(Unavailable {
                cause: UnavailableCause::Upstream(failure.kind),
                attempts: 1,
                elapsed: started.elapsed(),
            }
            .into()),
        }
    }

    fn attempt(&self, request: &HttpRequest, timeout: Duration) -> AttemptResult {
        match self
            .inner
            .transport
            .send(request, timeout, self.inner.max_response_bytes)
        {
            Ok(resp) => interpret(resp),
            Err(failure) => AttemptResult::Fail {
                failure,
                retry_after: None,
            },
        }
    }
}

/// Turn an HTTP response into an answer, a retryable failure or a final error.
fn interpret(resp: HttpResponse) -> AttemptResult {
    let status = resp.status;
    if status == 200 {
        if !is_json(&resp, "application/json") {
            return AttemptResult::Fail {
                failure: TransportError::new(FailureKind::Malformed, "200 without a JSON body"),
                retry_after: None,
            };
        }
        return match serde_json::from_slice::<CheckResponse>(&resp.body) {
            Ok(r) => AttemptResult::Answer(r),
            Err(e) => AttemptResult::Fail {
                failure: TransportError::new(
                    FailureKind::Malformed,
                    format!(
                        "undecodable check response at line {} column {}",
                        e.line(),
                        e.column()
                    ),
                ),
                retry_after: None,
            },
        };
    }
    let problem = if is_json(&resp, api::PROBLEM_CONTENT_TYPE) || is_json(&resp, "application/json")
    {
        serde_json::from_slice::<Problem>(&resp.body).ok()
    } else {
        None
    };
    let code = problem.as_ref().map_or(ProblemCode::Unknown, |p| p.code);
    let retry_after = resp
        .header("retry-after")
        .and_then(|v| andal_resilience::parse_retry_after(v, std::time::SystemTime::now()));
    match status {
        401 | 403 => AttemptResult::Final(Error::Auth { status, code }),
        408 | 429 | 500..=599 => AttemptResult::Fail {
            failure: TransportError::new(
                FailureKind::from_status(status).unwrap_or(FailureKind::HttpStatus(status)),
                format!("HTTP {status} {}", code.as_str()),
            ),
            retry_after,
        },
        400..=499 => AttemptResult::Final(Rejected { status, code }.into()),
        _ => AttemptResult::Fail {
            failure: TransportError::new(
                FailureKind::Protocol,
                format!("unexpected HTTP status {status}"),
            ),
            retry_after: None,
        },
    }
}

fn is_json(resp: &HttpResponse, expected: &str) -> bool {
    resp.header("content-type").is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case(expected))
    })
}

fn decision_from(query: &Query, resp: CheckResponse, attempts: u32, started: Instant) -> Decision {
    Decision {
        verdict: resp.verdict,
        fields: resp.fields,
        provenance: Provenance::Online {
            request_id: resp.request_id,
            registry_time: resp.registry_time,
            attempts,
        },
        nik_masked: query.nik().masked(),
        attestation: resp.attestation,
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}

/// A fresh random idempotency key (128 bits, hex).
pub fn new_idempotency_key() -> String {
    let v: u128 = rand::random();
    format!("{v:032x}")
}

fn validate_idempotency_key(k: &str) -> Result<String, Error> {
    let ok = !k.is_empty()
        && k.len() <= api::MAX_IDEMPOTENCY_KEY_LEN
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if ok {
        Ok(k.to_owned())
    } else {
        Err(ConfigError::Invalid {
            name: "idempotency_key",
            reason: format!(
                "1-{} characters of A-Z a-z 0-9 - _ . :",
                api::MAX_IDEMPOTENCY_KEY_LEN
            ),
        }
        .into())
    }
}
