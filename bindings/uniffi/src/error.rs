//! The one error type of the bindings: a Kotlin sealed exception hierarchy
//! (`AndalException.InvalidInput`, ...), a Swift `Error` enum.
//!
//! Field names avoid `message` and `cause`, which Kotlin's `Throwable` already has.
//!
//! `Display` is exported: the sentence a person reads comes from Rust, once, for every
//! binding (Swift `description` / `errorDescription`, Kotlin `toString()`).

use crate::types::{FailureKind, UnavailableReason};

/// Every error an Andal call can raise. Messages never contain personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum AndalError {
    /// Input rejected offline (malformed NIK, bad date, empty name...): no request was
    /// sent and no fee charged.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What is wrong, as a sentence (names the part, never echoes the value).
        reason: String,
        /// The field at fault: `nik`, `full_name`, `birth_date`, `birth_place`...
        field: String,
        /// For `nik`: the part at fault (`length`, `non_digit`, `province`, `regency`,
        /// `birth_day`, `birth_month`, `birth_date`, `serial`); for other fields the
        /// problem (`empty`, `too_long`, `control_character`, `invalid_date`).
        part: String,
        /// For `nik`: the 1-based position of the first non-digit (`non_digit`) or the
        /// number of characters found (`length`); otherwise absent.
        position: Option<u32>,
    },
    /// The registry could not answer within the deadline (an honest answer, not a bug).
    #[error("registry unavailable ({label}) after {attempts} attempt(s) in {elapsed_ms} ms")]
    Unavailable {
        /// Structured reason.
        reason: UnavailableReason,
        /// Stable snake_case label of the reason (`refused`, `http_503`, `breaker_open`...).
        label: String,
        /// Attempts sent upstream for this check.
        attempts: u32,
        /// How the last attempt sent upstream failed (kept when the check stopped for
        /// another reason: breaker, budget, deadline).
        last_failure: Option<FailureKind>,
        /// Time spent, in milliseconds.
        elapsed_ms: u64,
        /// Why no offline answer was given, when offline answers are configured (stable
        /// code: `no_token`, `token_too_old`, `revoked`, `revocation_list_stale`...).
        fallback_refusal: Option<String>,
    },
    /// API key missing, unknown or not allowed (HTTP 401/403).
    #[error("authentication failed: HTTP {status} {code}")]
    Auth {
        /// 401 or 403.
        status: u16,
        /// Problem code (`unauthorized`, `forbidden`).
        code: String,
    },
    /// The registry rejected the request itself (400, 409, 413...).
    #[error("registry rejected the request: HTTP {status} {code}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Problem code (`invalid_input`, `idempotency_key_reused`...).
        code: String,
    },
    /// The client is misconfigured (base URL, missing key, plain http...).
    #[error("configuration error: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// The registry answered something that is not a valid API v1 response.
    #[error("protocol error: {reason}")]
    Protocol {
        /// What is wrong.
        reason: String,
    },
    /// A trust document (keyset, revocation list) or an offline token was rejected: bad
    /// signature, wrong issuer, expired, malformed... The online path is unaffected.
    #[error("trust document or token rejected: {reason}")]
    Token {
        /// What was wrong (never the token's contents).
        reason: String,
    },
    /// The offline journal could not be opened, read or written (wrong key, I/O error,
    /// corruption). Offline answers need it; online checks go on.
    #[error("offline journal: {reason}")]
    Journal {
        /// What happened.
        reason: String,
    },
    /// A bug or an unexpected condition inside the library (including a caught panic).
    #[error("internal error: {reason}")]
    Internal {
        /// What happened.
        reason: String,
    },
}

impl From<andal::Error> for AndalError {
    fn from(e: andal::Error) -> Self {
        use andal::Error as E;
        match e {
            E::InvalidInput(i) => i.into(),
            E::Config(c) => AndalError::Config {
                reason: c.to_string(),
            },
            E::Auth { status, code } => AndalError::Auth {
                status,
                code: code.as_str().to_owned(),
            },
            E::Rejected(r) => AndalError::Rejected {
                status: r.status,
                code: r.code.as_str().to_owned(),
            },
            E::Unavailable(u) => AndalError::Unavailable {
                label: u.cause.label(),
                reason: UnavailableReason::from(&u.cause),
                attempts: u.attempts,
                last_failure: u.last_failure.map(Into::into),
                elapsed_ms: millis(u.elapsed),
                fallback_refusal: u.fallback.as_ref().map(|f| f.reason().to_owned()),
            },
            E::Protocol(reason) => AndalError::Protocol { reason },
            E::Token(t) => AndalError::Token {
                reason: t.reason().to_string(),
            },
            E::Journal(j) => AndalError::Journal {
                reason: j.to_string(),
            },
            other => AndalError::Internal {
                reason: format!("unmapped error ({}): {other}", other.code()),
            },
        }
    }
}

impl From<andal::InputError> for AndalError {
    fn from(e: andal::InputError) -> Self {
        use andal::InputError as I;
        let (field, part, position) = match &e {
            I::Nik(n) => {
                let (part, position) = nik_part(n);
                ("nik", part, position)
            }
            I::BirthDate => ("birth_date", "invalid_date", None),
            I::EmptyField { field } => (*field, "empty", None),
            I::TooLong { field, .. } => (*field, "too_long", None),
            I::ControlCharacter { field } => (*field, "control_character", None),
            _ => ("unknown", "invalid", None),
        };
        AndalError::InvalidInput {
            reason: e.to_string(),
            field: field.to_owned(),
            part: part.to_owned(),
            position: position.map(|p| u32::try_from(p).unwrap_or(u32::MAX)),
        }
    }
}

impl From<andal::NikError> for AndalError {
    fn from(e: andal::NikError) -> Self {
        andal::InputError::Nik(e).into()
    }
}

/// The part of a NIK at fault, with the same names as Python's `InvalidNik.part`.
fn nik_part(e: &andal::NikError) -> (&'static str, Option<usize>) {
    use andal::NikError as N;
    match e {
        N::Length { found } => ("length", Some(*found)),
        N::NonDigit { position } => ("non_digit", Some(*position)),
        N::UnknownProvince => ("province", None),
        N::UnknownRegency => ("regency", None),
        N::BirthDay => ("birth_day", None),
        N::BirthMonth => ("birth_month", None),
        N::BirthDate => ("birth_date", None),
        N::Serial => ("serial", None),
        _ => ("unknown", None),
    }
}

/// Saturating milliseconds.
pub(crate) fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl AndalError {
    /// Stable snake_case code, the same as the core's `Error::code`.
    pub fn code(&self) -> &'static str {
        match self {
            AndalError::InvalidInput { .. } => "invalid_input",
            AndalError::Unavailable { .. } => "unavailable",
            AndalError::Auth { .. } => "auth",
            AndalError::Rejected { .. } => "rejected",
            AndalError::Config { .. } => "config",
            AndalError::Protocol { .. } => "protocol",
            AndalError::Token { .. } => "token",
            AndalError::Journal { .. } => "journal",
            AndalError::Internal { .. } => "internal",
        }
    }
}
