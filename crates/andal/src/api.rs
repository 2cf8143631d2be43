//! Wire types of the identity-check API v1, shared by the client and the sandbox.
//! See `docs/api.md` and `docs/api/openapi.yaml`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::decision::{FieldResults, Verdict};
use crate::query::Query;

/// Path of the check endpoint.
pub const CHECKS_PATH: &str = "/v1/checks";
/// Path of the signed keyset.
pub const KEYS_PATH: &str = "/v1/keys";
/// Path of the signed revocation list.
pub const REVOCATIONS_PATH: &str = "/v1/revocations";
/// Path of the health endpoint.
pub const HEALTH_PATH: &str = "/v1/health";
/// Header carrying the idempotency key; one key for every attempt of one check.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// Header naming the partner the API key belongs to, sent on every request. The registry
/// answers 403 [`ProblemCode::PartnerMismatch`] when key and partner do not belong together,
/// so a wrong partner id (which would make every offline token fail as `wrong_audience`
/// during an outage) shows at the first online request instead.
pub const PARTNER_ID_HEADER: &str = "X-Partner-Id";
/// Content type of problem details (RFC 9457).
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";
/// Maximum accepted length of an idempotency key.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 128;

/// `POST /v1/checks` body. Carries personal data: `Debug` redacts it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// 16-digit NIK.
    pub nik: String,
    /// Full name as the partner holds it.
    pub full_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// Optional birth place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_place: Option<String>,
}

impl CheckRequest {
    /// The wire form of a query.
    pub fn from_query(q: &Query) -> Self {
        CheckRequest {
            nik: q.nik().expose_digits().to_owned(),
            full_name: q.full_name().to_owned(),
            birth_date: q.birth_date_iso(),
            birth_place: q.birth_place().map(str::to_owned),
        }
    }
}

impl fmt::Debug for CheckRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckRequest")
            .field("nik", &crate::nik::mask_str(&self.nik))
            .field("full_name", &"<redacted>")
            .field("birth_date", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// `POST /v1/checks` success body (HTTP 200, for every verdict).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResponse {
    /// Registry request id.
    pub request_id: String,
    /// Overall verdict.
    pub verdict: Verdict,
    /// Per-field results.
    pub fields: FieldResults,
    /// Registry time (RFC 3339, UTC).
    pub registry_time: String,
    /// Signed attestation token (JWS compact), when the registry issues one (match only).
    #[serde(default)]
    pub attestation: Option<String>,
}

/// Stable problem codes (RFC 9457 `code` extension member).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProblemCode {
    /// 400: the body is not a valid query.
    InvalidInput,
    /// 401: missing or unknown API key.
    Unauthorized,
    /// 403: key valid but not allowed for this partner/operation.
    Forbidden,
    /// 403: the `X-Partner-Id` header names another partner than the one the API key
    /// belongs to.
    PartnerMismatch,
    /// 404: no such endpoint.
    NotFound,
    /// 405: wrong method.
    MethodNotAllowed,
    /// 409: idempotency key reused with a different body.
    IdempotencyKeyReused,
    /// 413: body too large.
    PayloadTooLarge,
    /// 415: body is not JSON.
    UnsupportedMediaType,
    /// 429: throttled; see Retry-After.
    RateLimited,
    /// 500: internal error.
    Internal,
    /// 502/503/504: registry back end unavailable.
    Unavailable,
    /// Any code this version does not know.
    #[serde(other)]
    Unknown,
}

impl ProblemCode {
    /// Stable snake_case label.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCode::InvalidInput => "invalid_input",
            ProblemCode::Unauthorized => "unauthorized",
            ProblemCode::Forbidden => "forbidden",
            ProblemCode::PartnerMismatch => "partner_mismatch",
            ProblemCode::NotFound => "not_found",
            ProblemCode::MethodNotAllowed => "method_not_allowed",
            ProblemCode::IdempotencyKeyReused => "idempotency_key_reused",
            ProblemCode::PayloadTooLarge => "payload_too_large",
            ProblemCode::UnsupportedMediaType => "unsupported_media_type",
            ProblemCode::RateLimited => "rate_limited",
            ProblemCode::Internal => "internal",
            ProblemCode::Unavailable => "unavailable",
            ProblemCode::Unknown => "unknown",
        }
    }

    /// What the code means for the caller, in one phrase (no personal data); used in
    /// error messages.
    pub fn meaning(self) -> &'static str {
        match self {
            ProblemCode::InvalidInput => "the request is not a valid query",
            ProblemCode::Unauthorized => "the API key is missing or unknown",
            ProblemCode::Forbidden => "the API key is not allowed this operation",
            ProblemCode::PartnerMismatch => {
                "the partner id does not match the API key (check the client's partner_id)"
            }
            ProblemCode::NotFound => "no such endpoint",
            ProblemCode::MethodNotAllowed => "wrong method",
            ProblemCode::IdempotencyKeyReused => {
                "the idempotency key was used before with a different request"
            }
            ProblemCode::PayloadTooLarge => "the request is too large",
            ProblemCode::UnsupportedMediaType => "the request is not JSON",
            ProblemCode::RateLimited => "throttled",
            ProblemCode::Internal => "registry internal error",
            ProblemCode::Unavailable => "registry back end unavailable",
            ProblemCode::Unknown => "no problem code the client knows",
        }
    }
}

/// RFC 9457 problem details. `detail` never contains personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// URI reference identifying the problem type.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short summary.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// Stable code.
    pub code: ProblemCode,
    /// Human explanation (no personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Problem {
    /// Build a problem of a code with its canonical status and title.
    pub fn new(code: ProblemCode, detail: impl Into<String>) -> Self {
        let (status, title) = match code {
            ProblemCode::InvalidInput => (400, "Invalid input"),
            ProblemCode::Unauthorized => (401, "Unauthorized"),
            ProblemCode::Forbidden => (403, "Forbidden"),
            ProblemCode::PartnerMismatch => (403, "Partner id does not match the API key"),
            ProblemCode::NotFound => (404, "Not found"),
            ProblemCode::MethodNotAllowed => (405, "Method not allowed"),
            ProblemCode::IdempotencyKeyReused => (409, "Idempotency key reused"),
            ProblemCode::PayloadTooLarge => (413, "Payload too large"),
            ProblemCode::UnsupportedMediaType => (415, "Unsupported media type"),
            ProblemCode::RateLimited => (429, "Too many requests"),
            ProblemCode::Internal => (500, "Internal error"),
            ProblemCode::Unavailable | ProblemCode::Unknown => (503, "Service unavailable"),
        };
        Problem {
            type_uri: format!("https://andal.invalid/problems/{}", code.as_str()),
            title: title.to_owned(),
            status,
            code,
            detail: Some(detail.into()),
        }
    }
}

/// `GET /v1/health` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `"ok"` when serving.
    pub status: String,
    /// Service version.
    pub version: String,
}

/// A signed document (`GET /v1/keys`, `GET /v1/revocations`): a JWS compact string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedDocument {
    /// JWS compact serialisation.
    pub jws: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::FieldMatch;

    #[test]
    fn wire_types_round_trip() {
        let q = Query::parse("3316094507990001", "Siti Aminah", "1999-07-05").unwrap();
        let req = CheckRequest::from_query(&q);
        let json = serde_json::to_string(&req).unwrap();
        assert_eq!(serde_json::from_str::<CheckRequest>(&json).unwrap(), req);
        assert!(!format!("{req:?}").contains("Aminah"));
        assert!(!format!("{req:?}").contains("3316094507990001"));

        let resp = CheckResponse {
            request_id: "r-1".into(),
            verdict: Verdict::Mismatch,
            fields: FieldResults {
                nik: FieldMatch::Sesuai,
                full_name: FieldMatch::TidakSesuai,
                birth_date: FieldMatch::Sesuai,
                birth_place: FieldMatch::NotChecked,
            },
            registry_time: "2026-01-01T00:00:00Z".into(),
            attestation: None,
        };
        let json = serde_json::to_string(&resp).unwrap();
        assert!(json.contains("\"TIDAK_SESUAI\""));
        assert_eq!(serde_json::from_str::<CheckResponse>(&json).unwrap(), resp);

        let p = Problem::new(ProblemCode::RateLimited, "slow down");
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains("\"type\""));
        assert_eq!(serde_json::from_str::<Problem>(&json).unwrap(), p);
        let unknown: Problem =
            serde_json::from_str(r#"{"type":"x","title":"t","status":418,"code":"teapot"}"#)
                .unwrap();
        assert_eq!(unknown.code, ProblemCode::Unknown);
    }

    #[test]
    fn unknown_request_fields_rejected() {
        let r = serde_json::from_str::<CheckRequest>(
            r#"{"nik":"1","full_name":"a","birth_date":"b","extra":1}"#,
        );
        assert!(r.is_err());
    }
}
