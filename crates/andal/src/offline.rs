//! Offline fallback: the policy that decides whether a signed attestation token may answer
//! when the registry cannot, and the trust state (pinned roots, keyset, revocation list)
//! it verifies tokens against.
//!
//! A token is accepted only if its signature verifies under a key of a keyset signed by a
//! pinned root (the key fixes the algorithm), it is inside its validity window (with a
//! leeway), it is meant for this partner, it is not too old for the policy, it is not
//! revoked under a revocation list fresh enough for the policy, and its salted per-field
//! digests are compared with the query field by field.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

pub use andal_journal::JournalKey;
pub use andal_token::{Field, RevocationList, RootKey, TokenError, TrustStore};

use crate::error::UnavailableCause;
use crate::transport::FailureKind;

/// Which online failures may be answered offline. A registry verdict (mismatch, not
/// found, inactive) is an answer, never a failure: it is never overridden offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FallbackTrigger {
    /// The breaker is open: the registry is known to be down.
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
}

impl FallbackTrigger {
    /// The trigger a cause falls under.
    pub fn of(cause: &UnavailableCause) -> Self {
        match cause {
            UnavailableCause::BreakerOpen { .. } => FallbackTrigger::BreakerOpen,
            UnavailableCause::DeadlineExceeded => FallbackTrigger::DeadlineExceeded,
            UnavailableCause::RetryBudgetExhausted(_) => FallbackTrigger::RetryBudgetExhausted,
            UnavailableCause::Upstream(FailureKind::Throttled)
            | UnavailableCause::Upstream(FailureKind::HttpStatus(429)) => {
                FallbackTrigger::Throttled
            }
            UnavailableCause::Upstream(FailureKind::HttpStatus(_)) => FallbackTrigger::ServerError,
            UnavailableCause::Upstream(_) => FallbackTrigger::TransportFailure,
        }
    }
}

/// When an offline answer is allowed. Per client, overridable per call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FallbackPolicy {
    /// Whether offline answers are allowed at all (default true once trust roots and a
    /// journal are configured).
    pub allow_offline: bool,
    /// Oldest token accepted, measured from its issued-at (default 30 days).
    pub max_token_age: Duration,
    /// Oldest revocation list accepted, measured from its issued-at (default 24 h).
    pub max_revocation_staleness: Duration,
    /// Refuse offline answers when no revocation list is held (default true).
    pub require_revocation_list: bool,
    /// Fields that must match for an offline `match` (default: NIK, name, birth date).
    pub required_fields: Vec<Field>,
    /// Online failures that permit a fallback (default: all of them).
    pub triggers: Vec<FallbackTrigger>,
    /// Clock skew tolerated on token validity (default 60 s).
    pub leeway: Duration,
}

impl Default for FallbackPolicy {
    fn default() -> Self {
        FallbackPolicy {
            allow_offline: true,
            max_token_age: Duration::from_secs(30 * 24 * 3600),
            max_revocation_staleness: Duration::from_secs(24 * 3600),
            require_revocation_list: true,
            required_fields: vec![Field::Nik, Field::Name, Field::BirthDate],
            triggers: vec![
                FallbackTrigger::BreakerOpen,
                FallbackTrigger::DeadlineExceeded,
                FallbackTrigger::RetryBudgetExhausted,
                FallbackTrigger::TransportFailure,
                FallbackTrigger::ServerError,
                FallbackTrigger::Throttled,
            ],
            leeway: Duration::from_secs(60),
        }
    }
}

impl FallbackPolicy {
    /// A policy that never answers offline.
    pub fn disabled() -> Self {
        FallbackPolicy {
            allow_offline: false,
            ..Self::default()
        }
    }
    /// Oldest token accepted.
    pub fn max_token_age(mut self, d: Duration) -> Self {
        self.max_token_age = d;
        self
    }
    /// Oldest revocation list accepted.
    pub fn max_revocation_staleness(mut self, d: Duration) -> Self {
        self.max_revocation_staleness = d;
        self
    }
    /// Whether a revocation list must be held.
    pub fn require_revocation_list(mut self, yes: bool) -> Self {
        self.require_revocation_list = yes;
        self
    }
    /// Fields that must match for an offline `match`.
    pub fn required_fields(mut self, fields: Vec<Field>) -> Self {
        self.required_fields = fields;
        self
    }
    /// Online failures that permit a fallback.
    pub fn triggers(mut self, triggers: Vec<FallbackTrigger>) -> Self {
        self.triggers = triggers;
        self
    }
    /// Clock skew tolerated on token validity.
    pub fn leeway(mut self, d: Duration) -> Self {
        self.leeway = d;
        self
    }
}

/// Why an offline answer was not given. Carried in [`crate::Unavailable::fallback`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FallbackRefusal {
    /// The policy does not allow offline answers.
    #[error("offline answers are not allowed by policy")]
    NotAllowed,
    /// The policy does not allow a fallback after this kind of failure.
    #[error("offline answers are not allowed after this failure")]
    NotTriggered,
    /// No attestation token was offered with the check.
    #[error("no attestation token was offered")]
    NoToken,
    /// No trust roots, or no verified keyset held yet (call `refresh_trust` online).
    #[error("no verified issuer keys are held")]
    NoTrustedKeys,
    /// No journal to record the decision in (offline decisions are always journaled).
    #[error("no journal configured for offline decisions")]
    NoJournal,
    /// The token failed verification.
    #[error("attestation token rejected: {}", .0.reason())]
    Token(TokenError),
    /// The token is older than the policy allows.
    #[error("attestation token is {age_secs} s old; policy allows {max_secs} s")]
    TokenTooOld {
        /// Token age.
        age_secs: u64,
        /// Policy maximum.
        max_secs: u64,
    },
    /// No revocation list is held and the policy requires one.
    #[error("no revocation list is held")]
    NoRevocationList,
    /// The revocation list is older than the policy allows.
    #[error("revocation list is {age_secs} s old; policy allows {max_secs} s")]
    RevocationListStale {
        /// List age.
        age_secs: u64,
        /// Policy maximum.
        max_secs: u64,
    },
    /// The decision could not be journaled, so it is not given.
    #[error("offline decision could not be journaled: {0}")]
    Journal(String),
}

impl FallbackRefusal {
    /// Stable snake_case code.
    pub fn reason(&self) -> &'static str {
        match self {
            FallbackRefusal::NotAllowed => "not_allowed",
            FallbackRefusal::NotTriggered => "not_triggered",
            FallbackRefusal::NoToken => "no_token",
            FallbackRefusal::NoTrustedKeys => "no_trusted_keys",
            FallbackRefusal::NoJournal => "no_journal",
            FallbackRefusal::Token(e) => e.reason(),
            FallbackRefusal::TokenTooOld { .. } => "token_too_old",
            FallbackRefusal::NoRevocationList => "no_revocation_list",
            FallbackRefusal::RevocationListStale { .. } => "revocation_list_stale",
            FallbackRefusal::Journal(_) => "journal_failed",
        }
    }
}

/// What trust state the client holds, for operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TrustStatus {
    /// Pinned root keys.
    pub roots: usize,
    /// Issuing keys in the verified keyset (0: none held).
    pub keys: usize,
    /// Keyset issued-at (unix seconds).
    pub keyset_issued_at: Option<u64>,
    /// Revocation list issued-at (unix seconds).
    pub revocations_issued_at: Option<u64>,
    /// Revocation list age in seconds at the time of the call.
    pub revocations_age_secs: Option<u64>,
    /// Whether the list is past its promised next update.
    pub revocations_overdue: bool,
}

const KEYSET_FILE: &str = "andal-keyset.jws";
const REVOCATIONS_FILE: &str = "andal-revocations.jws";

#[derive(Default)]
struct TrustState {
    keyset: Option<(Arc<TrustStore>, u64, usize)>,
    revocations: Option<Arc<RevocationList>>,
}

/// Pinned roots plus the verified keyset and revocation list, cached on disk.
pub(crate) struct Trust {
    roots: Vec<RootKey>,
    cache_dir: Option<PathBuf>,
    state: RwLock<TrustState>,
}

impl Trust {
    /// Load what the cache holds, verifying it again (a cache is never trusted as such).
    pub(crate) fn new(roots: Vec<RootKey>, cache_dir: Option<PathBuf>, now: u64) -> Self {
        let trust = Trust {
            roots,
            cache_dir,
            state: RwLock::new(TrustState::default()),
        };
        if let Some(dir) = trust.cache_dir.clone() {
            for (file, keys) in [(KEYSET_FILE, true), (REVOCATIONS_FILE, false)] {
                if let Ok(doc) = std::fs::read_to_string(dir.join(file))
                    && let Err(e) = trust.install(doc.trim(), keys, now, false)
                {
                    tracing::warn!(target: "andal::offline", file, reason = e.reason(), "ignoring cached trust document");
                }
            }
        }
        trust
    }

    pub(crate) fn has_roots(&self) -> bool {
        !self.roots.is_empty()
    }

    /// Verify and install a keyset (`keys`) or revocation list; refuse one older than what
    /// is held (rollback); write it to the cache.
    pub(crate) fn install(
        &self,
        doc: &str,
        keys: bool,
        now: u64,
        write_cache: bool,
    ) -> Result<(), TokenError> {
        if keys {
            let ks = andal_token::Keyset::verify_signed(doc, &self.roots, now)?;
            let mut st = self.state.write();
            if st
                .keyset
                .as_ref()
                .is_some_and(|(_, iat, _)| *iat > ks.iat())
            {
                return Ok(());
            }
            st.keyset = Some((
                Arc::new(TrustStore::from_keyset(&ks)),
                ks.iat(),
                ks.keys().len(),
            ));
        } else {
            let rl = RevocationList::verify_signed(doc, &self.roots, now)?;
            let mut st = self.state.write();
            if st.revocations.as_ref().is_some_and(|r| r.iat() > rl.iat()) {
                return Ok(());
            }
            st.revocations = Some(Arc::new(rl));
        }
        if write_cache && let Some(dir) = &self.cache_dir {
            let file = if keys { KEYSET_FILE } else { REVOCATIONS_FILE };
            if let Err(e) = write_atomically(dir, file, doc) {
                tracing::warn!(target: "andal::offline", file, error = %e, "cannot cache trust document");
            }
        }
        Ok(())
    }

    pub(crate) fn store(&self) -> Option<Arc<TrustStore>> {
        self.state.read().keyset.as_ref().map(|(s, _, _)| s.clone())
    }

    pub(crate) fn revocations(&self) -> Option<Arc<RevocationList>> {
        self.state.read().revocations.clone()
    }

    pub(crate) fn status(&self, now: u64) -> TrustStatus {
        let st = self.state.read();
        let staleness = st.revocations.as_ref().map(|r| r.staleness(now));
        TrustStatus {
            roots: self.roots.len(),
            keys: st.keyset.as_ref().map_or(0, |(_, _, n)| *n),
            keyset_issued_at: st.keyset.as_ref().map(|(_, iat, _)| *iat),
            revocations_issued_at: st.revocations.as_ref().map(|r| r.iat()),
            revocations_age_secs: staleness.map(|s| s.age_secs),
            revocations_overdue: staleness.is_some_and(|s| s.past_next_update),
        }
    }
}

/// Write `dir/file` via a temporary file and a rename, so a crash never leaves half a file.
fn write_atomically(dir: &Path, file: &str, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{file}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(file))
}
