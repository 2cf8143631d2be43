//! Offline fallback settings, trust status and reconciliation.

use std::time::Duration;

use crate::error::AndalError;
use crate::types::Verdict;

/// Online failures that may be answered offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum FallbackTrigger {
    /// The breaker is open.
    BreakerOpen,
    /// The total deadline passed.
    DeadlineExceeded,
    /// Retries were needed but the retry budget is spent.
    RetryBudgetExhausted,
    /// Refused, DNS, timeouts, TLS, reset, protocol, malformed or oversized answers.
    TransportFailure,
    /// HTTP 5xx (and 408).
    ServerError,
    /// HTTP 429.
    Throttled,
    /// Shed locally by the adaptive throttle.
    LoadShed,
}

impl From<FallbackTrigger> for andal::FallbackTrigger {
    fn from(t: FallbackTrigger) -> Self {
        match t {
            FallbackTrigger::BreakerOpen => andal::FallbackTrigger::BreakerOpen,
            FallbackTrigger::DeadlineExceeded => andal::FallbackTrigger::DeadlineExceeded,
            FallbackTrigger::RetryBudgetExhausted => andal::FallbackTrigger::RetryBudgetExhausted,
            FallbackTrigger::TransportFailure => andal::FallbackTrigger::TransportFailure,
            FallbackTrigger::ServerError => andal::FallbackTrigger::ServerError,
            FallbackTrigger::Throttled => andal::FallbackTrigger::Throttled,
            FallbackTrigger::LoadShed => andal::FallbackTrigger::LoadShed,
        }
    }
}

/// When an offline answer is allowed. Unset fields keep the core's defaults (tokens up to
/// 30 days old, revocation list required and at most 24 h old, every trigger).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FallbackSettings {
    /// Whether offline answers are allowed at all.
    #[uniffi(default = true)]
    pub allow_offline: bool,
    /// Oldest token accepted, in seconds since its issue.
    #[uniffi(default = None)]
    pub max_token_age_secs: Option<u64>,
    /// Oldest revocation list accepted, in seconds since its issue.
    #[uniffi(default = None)]
    pub max_revocation_staleness_secs: Option<u64>,
    /// Refuse offline answers when no revocation list is held.
    #[uniffi(default = None)]
    pub require_revocation_list: Option<bool>,
    /// Online failures that permit a fallback (null: all).
    #[uniffi(default = None)]
    pub triggers: Option<Vec<FallbackTrigger>>,
    /// Clock skew tolerated on token validity, in seconds.
    #[uniffi(default = None)]
    pub leeway_secs: Option<u64>,
}

impl From<&FallbackSettings> for andal::FallbackPolicy {
    fn from(s: &FallbackSettings) -> Self {
        let mut p = if s.allow_offline {
            andal::FallbackPolicy::default()
        } else {
            andal::FallbackPolicy::disabled()
        };
        if let Some(v) = s.max_token_age_secs {
            p = p.max_token_age(Duration::from_secs(v));
        }
        if let Some(v) = s.max_revocation_staleness_secs {
            p = p.max_revocation_staleness(Duration::from_secs(v));
        }
        if let Some(v) = s.require_revocation_list {
            p = p.require_revocation_list(v);
        }
        if let Some(t) = &s.triggers {
            p = p.triggers(t.iter().copied().map(Into::into).collect());
        }
        if let Some(v) = s.leeway_secs {
            p = p.leeway(Duration::from_secs(v));
        }
        p
    }
}

/// What offline answers need: pinned issuer root keys, an encrypted journal for the
/// decisions, and (optionally) a folder caching the verified keyset and revocation list.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct OfflineSettings {
    /// Root public keys (JWK JSON) that sign keysets and revocation lists. Without them no
    /// token is ever accepted.
    pub trust_roots_jwk: Vec<String>,
    /// Journal file for offline decisions (app storage).
    pub journal_path: String,
    /// 32-byte journal key, from Android Keystore, iOS Keychain or a KMS. Never logged.
    pub journal_key: Vec<u8>,
    /// Folder caching the verified keyset and revocation list (re-verified on load).
    #[uniffi(default = None)]
    pub trust_cache_dir: Option<String>,
    /// Fallback policy (null: the core's defaults).
    #[uniffi(default = None)]
    pub policy: Option<FallbackSettings>,
}

impl std::fmt::Debug for OfflineSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineSettings")
            .field("trust_roots", &self.trust_roots_jwk.len())
            .field("journal_path", &self.journal_path)
            .field("journal_key", &"<redacted>")
            .field("trust_cache_dir", &self.trust_cache_dir)
            .field("policy", &self.policy)
            .finish()
    }
}

impl OfflineSettings {
    pub(crate) fn apply(
        &self,
        mut b: andal::ClientBuilder,
    ) -> Result<andal::ClientBuilder, AndalError> {
        let roots = self
            .trust_roots_jwk
            .iter()
            .map(|j| andal::RootKey::from_json(j))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| AndalError::Config {
                reason: format!("trust root: {}", e.reason()),
            })?;
        let key =
            andal::JournalKey::from_slice(&self.journal_key).map_err(|e| AndalError::Config {
                reason: format!("journal key: {e}"),
            })?;
        b = b.trust_roots(roots).journal(&self.journal_path, key);
        if let Some(dir) = &self.trust_cache_dir {
            b = b.trust_cache_dir(dir);
        }
        if let Some(p) = &self.policy {
            b = b.fallback_policy(p.into());
        }
        Ok(b)
    }
}

/// The trust state held, for operators.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TrustStatus {
    /// Pinned root keys.
    pub roots: u64,
    /// Issuing keys in the verified keyset (0: none held yet; call `refreshTrust` online).
    pub keys: u64,
    /// Keyset issued-at (unix seconds).
    pub keyset_issued_at: Option<u64>,
    /// Revocation list issued-at (unix seconds).
    pub revocations_issued_at: Option<u64>,
    /// Revocation list age in seconds.
    pub revocations_age_secs: Option<u64>,
    /// Whether the list is past its promised next update.
    pub revocations_overdue: bool,
}

impl From<andal::TrustStatus> for TrustStatus {
    fn from(s: andal::TrustStatus) -> Self {
        TrustStatus {
            roots: s.roots as u64,
            keys: s.keys as u64,
            keyset_issued_at: s.keyset_issued_at,
            revocations_issued_at: s.revocations_issued_at,
            revocations_age_secs: s.revocations_age_secs,
            revocations_overdue: s.revocations_overdue,
        }
    }
}

/// Why reconciliation contradicted an offline decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Contradiction {
    /// The registry's fields differ from the offline answer.
    Mismatch,
    /// The token was revoked.
    Revoked,
    /// The registry has no such NIK.
    NotFound,
    /// The record is inactive (e.g. deceased).
    Inactive,
    /// A reason these bindings do not know.
    Other,
}

/// What reconciliation concluded for one offline decision.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ReconcileOutcome {
    /// The registry agrees.
    Confirmed,
    /// The registry disagrees.
    Contradicted {
        /// Why.
        reason: Contradiction,
    },
    /// Could not be checked yet.
    StillPending {
        /// Why (stable label, e.g. `breaker_open`).
        label: String,
    },
}

/// One offline decision, re-checked.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReconcileItem {
    /// Journal sequence number of the decision.
    pub journal_seq: u64,
    /// Token id (`jti`).
    pub token_id: String,
    /// Masked NIK.
    pub nik_masked: String,
    /// When the offline decision was made (unix seconds).
    pub decided_at: u64,
    /// The offline verdict.
    pub offline_verdict: Verdict,
    /// The outcome.
    pub outcome: ReconcileOutcome,
}

/// What one reconciliation run did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReconcileReport {
    /// Pending decisions examined.
    pub examined: u64,
    /// Confirmed by the registry.
    pub confirmed: u64,
    /// Contradicted by the registry.
    pub contradicted: u64,
    /// Still pending (registry unavailable again).
    pub still_pending: u64,
    /// Already resolved by an earlier run (skipped).
    pub previously_resolved: u64,
    /// Each decision examined.
    pub items: Vec<ReconcileItem>,
}

impl TryFrom<andal::ReconcileReport> for ReconcileReport {
    type Error = AndalError;
    fn try_from(r: andal::ReconcileReport) -> Result<Self, AndalError> {
        let items = r
            .items
            .into_iter()
            .map(|i| {
                Ok(ReconcileItem {
                    journal_seq: i.journal_seq,
                    token_id: i.token_id,
                    nik_masked: i.nik_masked,
                    decided_at: i.decided_at,
                    offline_verdict: i.offline_verdict.try_into()?,
                    outcome: match i.outcome {
                        andal::ReconcileOutcome::Confirmed => ReconcileOutcome::Confirmed,
                        andal::ReconcileOutcome::Contradicted { reason } => {
                            ReconcileOutcome::Contradicted {
                                reason: match reason {
                                    andal::Contradiction::Mismatch => Contradiction::Mismatch,
                                    andal::Contradiction::Revoked => Contradiction::Revoked,
                                    andal::Contradiction::NotFound => Contradiction::NotFound,
                                    andal::Contradiction::Inactive => Contradiction::Inactive,
                                    _ => Contradiction::Other,
                                },
                            }
                        }
                        andal::ReconcileOutcome::StillPending { cause } => {
                            ReconcileOutcome::StillPending { label: cause }
                        }
                        _ => ReconcileOutcome::StillPending {
                            label: "unknown".into(),
                        },
                    },
                })
            })
            .collect::<Result<Vec<_>, AndalError>>()?;
        Ok(ReconcileReport {
            examined: r.examined as u64,
            confirmed: r.confirmed as u64,
            contradicted: r.contradicted as u64,
            still_pending: r.still_pending as u64,
            previously_resolved: r.previously_resolved as u64,
            items,
        })
    }
}
