//! Error types, grouped by concern. None of them carries personal data: NIKs, names and
//! birth dates never appear in messages.

use std::sync::Arc;
use std::time::Duration;

use crate::api::ProblemCode;
pub use crate::nik::NikError;
use crate::transport::TransportError;

/// Bad input, caught offline before any network call or fee.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The NIK is malformed; says which part.
    #[error("invalid NIK: {0}")]
    Nik(#[from] NikError),
    /// Birth date is not a real `YYYY-MM-DD` date.
    #[error("invalid birth date: expected a real date as YYYY-MM-DD")]
    BirthDate,
    /// A required field is empty.
    #[error("{field} must not be empty")]
    EmptyField {
        /// Field name.
        field: &'static str,
    },
    /// A text field is longer than allowed.
    #[error("{field} is longer than {max} characters")]
    TooLong {
        /// Field name.
        field: &'static str,
        /// Maximum characters.
        max: usize,
    },
    /// A text field contains control characters.
    #[error("{field} contains control characters")]
    ControlCharacter {
        /// Field name.
        field: &'static str,
    },
}

/// The client could not be configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The base URL does not parse or has an unsupported scheme.
    #[error("invalid base URL: {0}")]
    BaseUrl(String),
    /// `http://` given without explicitly allowing plain HTTP.
    #[error("plain http:// is refused; allow it explicitly (sandbox only)")]
    InsecureHttp,
    /// A required setting is missing.
    #[error("missing setting: {0}")]
    Missing(&'static str),
    /// A setting is out of range.
    #[error("invalid setting {name}: {reason}")]
    Invalid {
        /// Setting name.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// Why the registry could not answer in time. The caller gets this (or an offline decision
/// when the fallback policy allows one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("registry unavailable ({}) after {attempts} attempt(s) in {elapsed:?}{}{}", cause.label(),
    last_failure.filter(|_| !cause.names_failure()).map(|k| format!("; last failure: {k}")).unwrap_or_default(),
    fallback.as_ref().map(|f| format!("; no offline answer: {f}")).unwrap_or_default())]
#[non_exhaustive]
pub struct Unavailable {
    /// The last cause.
    pub cause: UnavailableCause,
    /// Attempts sent upstream for this check.
    pub attempts: u32,
    /// How the last attempt sent upstream failed, if one was sent. `cause` says why the
    /// check stopped (breaker, budget, deadline); this keeps the real upstream failure
    /// (read timeout, reset, ...) that the stop reason would otherwise hide.
    pub last_failure: Option<andal_resilience::FailureKind>,
    /// Time spent.
    pub elapsed: Duration,
    /// Why no offline answer was given, when offline answers are configured.
    pub fallback: Option<crate::offline::FallbackRefusal>,
}

/// What made the registry unavailable for this check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnavailableCause {
    /// An attempt failed with this transport failure or status and no retry was possible.
    Upstream(andal_resilience::FailureKind),
    /// The circuit breaker is open: the registry is known to be down; no request was sent.
    BreakerOpen {
        /// Time until the breaker lets a probe through, when known.
        retry_in: Option<Duration>,
    },
    /// The total deadline passed.
    DeadlineExceeded,
    /// Retries were needed but the retry budget is spent.
    RetryBudgetExhausted(andal_resilience::FailureKind),
    /// The adaptive throttle shed this check locally: the registry is failing most
    /// calls (see [`AdaptiveThrottle`](andal_resilience::AdaptiveThrottle)); nothing sent.
    LoadShed,
}

impl UnavailableCause {
    /// Stable snake_case label (e.g. `refused`, `http_503`, `breaker_open`).
    pub fn label(&self) -> String {
        match self {
            UnavailableCause::Upstream(k) => k.label().to_string(),
            UnavailableCause::BreakerOpen { .. } => "breaker_open".into(),
            UnavailableCause::DeadlineExceeded => "deadline_exceeded".into(),
            UnavailableCause::RetryBudgetExhausted(_) => "retry_budget_exhausted".into(),
            UnavailableCause::LoadShed => "load_shed".into(),
        }
    }

    /// Whether the cause itself names the upstream failure (then `last_failure` adds
    /// nothing to the message).
    fn names_failure(&self) -> bool {
        matches!(self, UnavailableCause::Upstream(_))
    }
}

/// The registry refused the request itself (not an outage): auth, bad request, conflicts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("registry rejected the request: HTTP {status} {}", code.as_str())]
#[non_exhaustive]
pub struct Rejected {
    /// HTTP status.
    pub status: u16,
    /// Problem code.
    pub code: ProblemCode,
}

/// Every error a check can return.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Input rejected offline; no request was sent and no fee charged.
    #[error(transparent)]
    InvalidInput(#[from] InputError),
    /// Client misconfigured.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// API key missing, unknown or not allowed (401/403).
    #[error("authentication failed: HTTP {status} {}: {}", code.as_str(), code.meaning())]
    Auth {
        /// 401 or 403.
        status: u16,
        /// Problem code.
        code: ProblemCode,
    },
    /// The registry rejected the request (400, 409, 413, ...).
    #[error(transparent)]
    Rejected(#[from] Rejected),
    /// The registry could not answer within the deadline.
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    /// The registry answered something that is not a valid API v1 response.
    #[error("invalid response from registry: {0}")]
    Protocol(String),
    /// A trust document (keyset, revocation list) or token failed verification.
    #[error("trust document rejected: {}", .0.reason())]
    Token(#[from] andal_token::TokenError),
    /// The offline journal could not be opened, read or written.
    #[error("offline journal: {0}")]
    Journal(#[from] Arc<andal_journal::JournalError>),
}

impl Error {
    /// Stable snake_case code for bindings and exit codes.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidInput(_) => "invalid_input",
            Error::Config(_) => "config",
            Error::Auth { .. } => "auth",
            Error::Rejected(_) => "rejected",
            Error::Unavailable(_) => "unavailable",
            Error::Protocol(_) => "protocol",
            Error::Token(_) => "token",
            Error::Journal(_) => "journal",
        }
    }
}

impl From<NikError> for Error {
    fn from(e: NikError) -> Self {
        Error::InvalidInput(InputError::Nik(e))
    }
}

impl From<TransportError> for UnavailableCause {
    fn from(e: TransportError) -> Self {
        UnavailableCause::Upstream(e.kind)
    }
}
