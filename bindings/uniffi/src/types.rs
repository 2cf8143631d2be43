//! FFI mirrors of the core's decision types.

use crate::error::{AndalError, millis};

/// Overall verdict, as the registry gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Verdict {
    /// NIK found, record active, every supplied field matches.
    Match,
    /// NIK found and active, but at least one field does not match.
    Mismatch,
    /// No record with this NIK.
    NotFound,
    /// Record exists but is inactive (e.g. deceased).
    InactiveRecord,
}

impl TryFrom<andal::Verdict> for Verdict {
    type Error = AndalError;
    fn try_from(v: andal::Verdict) -> Result<Self, AndalError> {
        Ok(match v {
            andal::Verdict::Match => Verdict::Match,
            andal::Verdict::Mismatch => Verdict::Mismatch,
            andal::Verdict::NotFound => Verdict::NotFound,
            andal::Verdict::InactiveRecord => Verdict::InactiveRecord,
            other => {
                return Err(AndalError::Internal {
                    reason: format!("verdict `{other}` unknown to these bindings"),
                });
            }
        })
    }
}

/// One field's result, like the registry's SESUAI / TIDAK SESUAI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum FieldMatch {
    /// Matches (SESUAI).
    Sesuai,
    /// Does not match (TIDAK SESUAI).
    TidakSesuai,
    /// Not compared (not supplied, or no record to compare with).
    NotChecked,
}

impl From<andal::FieldMatch> for FieldMatch {
    fn from(m: andal::FieldMatch) -> Self {
        match m {
            andal::FieldMatch::Sesuai => FieldMatch::Sesuai,
            andal::FieldMatch::TidakSesuai => FieldMatch::TidakSesuai,
            // NotChecked, and any future variant: no claim is made.
            _ => FieldMatch::NotChecked,
        }
    }
}

/// Field-by-field results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct FieldResults {
    /// Whether a record with this NIK exists.
    pub nik: FieldMatch,
    /// Full name, after normalisation on both sides.
    pub full_name: FieldMatch,
    /// Birth date.
    pub birth_date: FieldMatch,
    /// Birth place (NOT_CHECKED when not supplied).
    pub birth_place: FieldMatch,
}

impl From<andal::FieldResults> for FieldResults {
    fn from(f: andal::FieldResults) -> Self {
        FieldResults {
            nik: f.nik.into(),
            full_name: f.full_name.into(),
            birth_date: f.birth_date.into(),
            birth_place: f.birth_place.into(),
        }
    }
}

/// Where the answer came from.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Provenance {
    /// The registry answered this check.
    Online {
        /// The registry's request id.
        request_id: String,
        /// The registry's timestamp (RFC 3339).
        registry_time: String,
        /// Attempts made (1 when no retry was needed).
        attempts: u32,
    },
    /// Answered from an issuer-signed attestation token while the registry could not answer.
    Offline {
        /// Token id (`jti`).
        token_id: String,
        /// Key id that verified the token.
        key_id: String,
        /// Seconds since the token was issued.
        token_age_secs: u64,
        /// Seconds since the revocation list in use was issued (null: no list held).
        revocation_staleness_secs: Option<u64>,
        /// Why the online path could not answer (stable label, e.g. `breaker_open`).
        online_failure: String,
        /// Journal sequence number of the recorded decision.
        journal_seq: u64,
    },
}

impl TryFrom<andal::Provenance> for Provenance {
    type Error = AndalError;
    fn try_from(p: andal::Provenance) -> Result<Self, AndalError> {
        Ok(match p {
            andal::Provenance::Online {
                request_id,
                registry_time,
                attempts,
            } => Provenance::Online {
                request_id,
                registry_time,
                attempts,
            },
            andal::Provenance::Offline(o) => Provenance::Offline {
                token_id: o.token_id,
                key_id: o.key_id,
                token_age_secs: o.token_age_secs,
                revocation_staleness_secs: o.revocation_staleness_secs,
                online_failure: o.online_failure,
                journal_seq: o.journal_seq,
            },
            _ => {
                return Err(AndalError::Internal {
                    reason: "provenance unknown to these bindings".into(),
                });
            }
        })
    }
}

/// The outcome of one check. Carries the NIK only masked.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Decision {
    /// Overall verdict.
    pub verdict: Verdict,
    /// Field-by-field results.
    pub fields: FieldResults,
    /// Online or offline, with details.
    pub provenance: Provenance,
    /// Masked NIK (`3316**********01`), for receipts and logs.
    pub nik_masked: String,
    /// Signed attestation token the partner may keep (online answers, when issued).
    pub attestation: Option<String>,
    /// Wall time the check took, in milliseconds.
    pub elapsed_ms: u64,
    /// True for an online or offline match.
    pub is_match: bool,
    /// True when answered from offline evidence.
    pub is_offline: bool,
}

impl TryFrom<andal::Decision> for Decision {
    type Error = AndalError;
    fn try_from(d: andal::Decision) -> Result<Self, AndalError> {
        let is_match = d.is_match();
        let is_offline = d.is_offline();
        Ok(Decision {
            verdict: d.verdict.try_into()?,
            fields: d.fields.into(),
            provenance: d.provenance.try_into()?,
            nik_masked: d.nik_masked,
            attestation: d.attestation,
            elapsed_ms: d.elapsed_ms,
            is_match,
            is_offline,
        })
    }
}

/// How one attempt failed (the core's shared failure vocabulary). Transports report the
/// first eight; the client derives the others from responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum FailureKind {
    /// TCP connection refused.
    Refused,
    /// Host name could not be resolved.
    Dns,
    /// Connection not established within the attempt timeout.
    ConnectTimeout,
    /// Connected, but no full response within the attempt timeout.
    ReadTimeout,
    /// TLS handshake or certificate validation failed.
    Tls,
    /// Connection reset or closed mid-request / mid-body.
    Reset,
    /// The peer spoke broken HTTP.
    Protocol,
    /// Response body over the size limit.
    TooLarge,
    /// Well-formed HTTP, but the body could not be understood.
    Malformed,
    /// A non-success HTTP status (other than 429).
    HttpStatus {
        /// The status.
        status: u16,
    },
    /// HTTP 429.
    Throttled,
    /// The check's total deadline ran out.
    DeadlineExceeded,
}

impl From<andal::FailureKind> for FailureKind {
    fn from(k: andal::FailureKind) -> Self {
        use andal::FailureKind as K;
        match k {
            K::Refused => FailureKind::Refused,
            K::Dns => FailureKind::Dns,
            K::ConnectTimeout => FailureKind::ConnectTimeout,
            K::ReadTimeout => FailureKind::ReadTimeout,
            K::Tls => FailureKind::Tls,
            K::Reset => FailureKind::Reset,
            K::Protocol => FailureKind::Protocol,
            K::TooLarge => FailureKind::TooLarge,
            K::Malformed => FailureKind::Malformed,
            K::HttpStatus(status) => FailureKind::HttpStatus { status },
            K::Throttled => FailureKind::Throttled,
            K::DeadlineExceeded => FailureKind::DeadlineExceeded,
            _ => FailureKind::Protocol,
        }
    }
}

impl From<FailureKind> for andal::FailureKind {
    fn from(k: FailureKind) -> Self {
        use andal::FailureKind as K;
        match k {
            FailureKind::Refused => K::Refused,
            FailureKind::Dns => K::Dns,
            FailureKind::ConnectTimeout => K::ConnectTimeout,
            FailureKind::ReadTimeout => K::ReadTimeout,
            FailureKind::Tls => K::Tls,
            FailureKind::Reset => K::Reset,
            FailureKind::Protocol => K::Protocol,
            FailureKind::TooLarge => K::TooLarge,
            FailureKind::Malformed => K::Malformed,
            FailureKind::HttpStatus { status } => K::HttpStatus(status),
            FailureKind::Throttled => K::Throttled,
            FailureKind::DeadlineExceeded => K::DeadlineExceeded,
        }
    }
}

/// Why the registry could not answer for this check.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum UnavailableReason {
    /// An attempt failed and no retry was possible.
    Upstream {
        /// The last failure.
        failure: FailureKind,
    },
    /// The circuit breaker is open; no request was sent.
    BreakerOpen {
        /// Milliseconds until the breaker lets a probe through, when known.
        retry_in_ms: Option<u64>,
    },
    /// The total deadline passed.
    DeadlineExceeded,
    /// Retries were needed but the retry budget is spent.
    RetryBudgetExhausted {
        /// The last failure.
        failure: FailureKind,
    },
    /// Shed locally by the adaptive throttle (the registry fails most calls); nothing sent.
    LoadShed,
    /// A reason these bindings do not know yet (see the error's `label`).
    Other,
}

impl From<&andal::UnavailableCause> for UnavailableReason {
    fn from(c: &andal::UnavailableCause) -> Self {
        use andal::UnavailableCause as C;
        match c {
            C::Upstream(k) => UnavailableReason::Upstream {
                failure: (*k).into(),
            },
            C::BreakerOpen { retry_in } => UnavailableReason::BreakerOpen {
                retry_in_ms: retry_in.map(millis),
            },
            C::DeadlineExceeded => UnavailableReason::DeadlineExceeded,
            C::RetryBudgetExhausted(k) => UnavailableReason::RetryBudgetExhausted {
                failure: (*k).into(),
            },
            C::LoadShed => UnavailableReason::LoadShed,
            _ => UnavailableReason::Other,
        }
    }
}
