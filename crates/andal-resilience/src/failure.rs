//! Why an attempt failed: the vocabulary shared by the retry schedule, the breaker,
//! the events and the outage record.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// Why one attempt against the registry failed.
///
/// The transport classifies; this crate decides what follows (retry or not, count
/// against the breaker or not). Carries no personal data.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The TCP connection was refused (nothing listening, or a load balancer with no backend).
    Refused,
    /// The host name could not be resolved.
    Dns,
    /// The connection could not be established within the attempt timeout.
    ConnectTimeout,
    /// Connected, but the response did not arrive within the attempt timeout.
    ReadTimeout,
    /// The TLS handshake or certificate validation failed.
    Tls,
    /// The connection was reset or closed mid-request / mid-body.
    Reset,
    /// The peer spoke broken HTTP.
    Protocol,
    /// The response body exceeded the configured size limit.
    TooLarge,
    /// The response was well-formed HTTP but its body could not be understood.
    Malformed,
    /// The registry answered with a non-success HTTP status (other than 429).
    HttpStatus(u16),
    /// The registry answered 429 Too Many Requests.
    Throttled,
    /// The check's total deadline ran out before or during the attempt.
    DeadlineExceeded,
}

impl FailureKind {
    /// Maps an HTTP status to a failure; `None` for 1xx/2xx/3xx. 429 becomes
    /// [`FailureKind::Throttled`].
    pub fn from_status(status: u16) -> Option<Self> {
        match status {
            429 => Some(Self::Throttled),
            s if s >= 400 => Some(Self::HttpStatus(s)),
            _ => None,
        }
    }

    /// Whether another attempt may succeed where this one failed.
    ///
    /// Every retry below is safe only because the client sends each check with an
    /// idempotency key (a check is a read, and the registry de-duplicates fees by key).
    pub fn is_retryable(&self) -> bool {
        match self {
            // Transient by nature: the request most likely never reached the registry's
            // application (refused, connect timeout) or its answer was lost on the way
            // (read timeout, reset). Another node or another moment can answer.
            Self::Refused | Self::ConnectTimeout | Self::ReadTimeout | Self::Reset => true,
            // 408 Request Timeout, 502/503/504 gateway and overload statuses: the
            // registry says "not now", not "no". 429 / Throttled: explicitly "later",
            // usually with a Retry-After that the schedule honours.
            Self::HttpStatus(408 | 429 | 502 | 503 | 504) | Self::Throttled => true,
            // Other statuses: 4xx (400, 401, 403, 404, 409, 413, ...) mean the request
            // itself is wrong (bad input, bad credentials, unknown resource, conflict,
            // too big); sending it again gives the same answer and may cost a fee.
            // 500 and other 5xx are bugs in the registry rather than overload:
            // repeating the same request mostly repeats the bug.
            Self::HttpStatus(_) => false,
            // Configuration or environment problems that a retry within seconds cannot
            // fix: DNS (name wrong or resolver down; resolvers already retry), TLS
            // (certificate or pinning mismatch: retrying is pointless and unsafe).
            Self::Dns | Self::Tls => false,
            // The registry answered, but with something broken or oversized:
            // deterministic for the same request, and re-reading a huge body wastes the
            // budget. Surface it instead.
            Self::Protocol | Self::TooLarge | Self::Malformed => false,
            // The total budget is spent: by definition, no time for another attempt.
            Self::DeadlineExceeded => false,
        }
    }

    /// Whether the failure happened below HTTP (the registry was not reached, or its
    /// answer could not be read).
    pub fn is_transport(&self) -> bool {
        matches!(
            self,
            Self::Refused
                | Self::Dns
                | Self::ConnectTimeout
                | Self::ReadTimeout
                | Self::Tls
                | Self::Reset
                | Self::Protocol
                | Self::TooLarge
                | Self::Malformed
        )
    }

    /// A stable snake_case label for metrics, logs and the outage record,
    /// e.g. `"refused"`, `"http_503"`, `"throttled"`.
    pub fn label(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            Self::Refused => "refused",
            Self::Dns => "dns",
            Self::ConnectTimeout => "connect_timeout",
            Self::ReadTimeout => "read_timeout",
            Self::Tls => "tls",
            Self::Reset => "reset",
            Self::Protocol => "protocol",
            Self::TooLarge => "too_large",
            Self::Malformed => "malformed",
            Self::Throttled => "throttled",
            Self::DeadlineExceeded => "deadline_exceeded",
            Self::HttpStatus(s) => return Cow::Owned(format!("http_{s}")),
        })
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// Parses an HTTP `Retry-After` value (RFC 9110 §10.2.3) into a delay from `now_wall`.
///
/// Accepts delta-seconds (`"120"`) and an HTTP-date (`"Wed, 21 Oct 2015 07:28:00 GMT"`,
/// plus the obsolete RFC 850 and asctime forms). A date in the past gives zero.
/// Delta-seconds too large for `u64` saturate to `Duration::MAX`: the server asked for a
/// very long wait, which no deadline fits, so the check stops instead of retrying early.
/// Anything else (negative, fractional, empty, garbage) gives `None`: the caller then
/// falls back to its own backoff, it never trusts a value it cannot read.
pub fn parse_retry_after(value: &str, now_wall: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if v.bytes().all(|b| b.is_ascii_digit()) {
        return Some(v.parse::<u64>().map_or(Duration::MAX, Duration::from_secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now_wall).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_groups() {
        use FailureKind::*;
        for k in [
            Refused,
            ConnectTimeout,
            ReadTimeout,
            Reset,
            Throttled,
            HttpStatus(408),
            HttpStatus(429),
            HttpStatus(502),
            HttpStatus(503),
            HttpStatus(504),
        ] {
            assert!(k.is_retryable(), "{k}");
        }
        for k in [
            Tls,
            Dns,
            Malformed,
            Protocol,
            TooLarge,
            DeadlineExceeded,
            HttpStatus(400),
            HttpStatus(401),
            HttpStatus(403),
            HttpStatus(404),
            HttpStatus(409),
            HttpStatus(413),
            HttpStatus(500),
        ] {
            assert!(!k.is_retryable(), "{k}");
        }
    }

    #[test]
    fn labels_and_serde_are_stable() {
        assert_eq!(FailureKind::HttpStatus(503).label(), "http_503");
        assert_eq!(FailureKind::ConnectTimeout.label(), "connect_timeout");
        assert_eq!(FailureKind::from_status(429), Some(FailureKind::Throttled));
        assert_eq!(FailureKind::from_status(200), None);
        assert_eq!(
            FailureKind::from_status(503),
            Some(FailureKind::HttpStatus(503))
        );
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480); // 2015-10-21T07:28:00Z
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        for bad in ["", "-5", "1.5", "soon", "Wed, 32 Oct 2015"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
        // Too large for u64 seconds: a very long wait, not an unreadable value (it used
        // to be ignored, and the retry came after normal jitter).
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::MAX)
        );
    }
}
