//! What a check concludes: verdict, field-by-field results, and where the answer came from.

use serde::{Deserialize, Serialize};

/// Overall verdict, as the registry gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
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

impl Verdict {
    /// Stable snake_case label.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Match => "match",
            Verdict::Mismatch => "mismatch",
            Verdict::NotFound => "not_found",
            Verdict::InactiveRecord => "inactive_record",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One field's result, like the registry's SESUAI / TIDAK SESUAI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum FieldMatch {
    /// Matches (SESUAI).
    Sesuai,
    /// Does not match (TIDAK SESUAI).
    TidakSesuai,
    /// Not compared (field not supplied, or no record to compare with).
    NotChecked,
}

impl FieldMatch {
    /// From a boolean comparison.
    pub fn from_bool(matches: bool) -> Self {
        if matches {
            FieldMatch::Sesuai
        } else {
            FieldMatch::TidakSesuai
        }
    }
    /// Registry wording.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldMatch::Sesuai => "SESUAI",
            FieldMatch::TidakSesuai => "TIDAK_SESUAI",
            FieldMatch::NotChecked => "NOT_CHECKED",
        }
    }
}

/// Field-by-field results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

impl FieldResults {
    /// Nothing compared (not found).
    pub fn not_checked() -> Self {
        FieldResults {
            nik: FieldMatch::NotChecked,
            full_name: FieldMatch::NotChecked,
            birth_date: FieldMatch::NotChecked,
            birth_place: FieldMatch::NotChecked,
        }
    }
}

/// Where the answer came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
#[non_exhaustive]
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
    Offline(OfflineProvenance),
}

/// The evidence behind an offline decision, stated plainly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineProvenance {
    /// Token id (`jti`).
    pub token_id: String,
    /// Key id that verified the token.
    pub key_id: String,
    /// Seconds since the token was issued.
    pub token_age_secs: u64,
    /// Seconds since the revocation list in use was issued (None: no list held).
    pub revocation_staleness_secs: Option<u64>,
    /// Why the online path could not answer (stable label, e.g. `breaker_open`).
    pub online_failure: String,
    /// Journal sequence number of the recorded decision.
    pub journal_seq: u64,
    /// Attempts the online path sent to the registry before the fallback answered (0 when
    /// none was sent, e.g. breaker open).
    #[serde(default)]
    pub online_attempts: u32,
}

/// The outcome of one check. Carries the NIK only masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
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
}

impl Decision {
    /// True for an online or offline match.
    pub fn is_match(&self) -> bool {
        self.verdict == Verdict::Match
    }
    /// True when answered from offline evidence.
    pub fn is_offline(&self) -> bool {
        matches!(self.provenance, Provenance::Offline(_))
    }
}
