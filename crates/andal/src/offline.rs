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
    /// The client's adaptive throttle shed the check locally (the registry is failing
    /// most calls).
    LoadShed,
}

impl FallbackTrigger {
    /// The trigger a cause falls under.
    pub fn of(cause: &UnavailableCause) -> Self {
        match cause {
            UnavailableCause::BreakerOpen { .. } => FallbackTrigger::BreakerOpen,
            UnavailableCause::DeadlineExceeded => FallbackTrigger::DeadlineExceeded,
            UnavailableCause::RetryBudgetExhausted(_) => FallbackTrigger::RetryBudgetExhausted,
            UnavailableCause::LoadShed => FallbackTrigger::LoadShed,
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
                FallbackTrigger::LoadShed,
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

/// A trust document the client holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TrustDocument {
    /// The signed keyset (token-signing keys).
    Keyset,
    /// The signed revocation list.
    RevocationList,
}

impl TrustDocument {
    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TrustDocument::Keyset => "keyset",
            TrustDocument::RevocationList => "revocation_list",
        }
    }
}

impl std::fmt::Display for TrustDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a trust document whose signature verified was nevertheless not installed. Shown in
/// [`TrustStatus`] (what [`crate::Client::refresh_trust`] returns) and logged as a warning
/// (target `andal::offline`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TrustRefusal {
    /// Older than the newest one this client has held (its high-water mark, kept in the
    /// encrypted journal so cache files cannot roll it back), or as old but different (a
    /// revocation list as old as the held one is accepted when it revokes at least as much).
    #[error(
        "{document} issued at {offered_issued_at} refused: {held_issued_at} was already held (rollback)"
    )]
    Rollback {
        /// Which document.
        document: TrustDocument,
        /// Issued-at of the newest one held.
        held_issued_at: u64,
        /// Issued-at of the one offered.
        offered_issued_at: u64,
    },
    /// Signed by a pinned root, but for another issuer than the one this client trusts.
    #[error("{document} refused: it is for another issuer")]
    WrongIssuer {
        /// Which document.
        document: TrustDocument,
    },
}

impl TrustRefusal {
    /// Stable snake_case code.
    pub fn reason(&self) -> &'static str {
        match self {
            TrustRefusal::Rollback { .. } => "rollback",
            TrustRefusal::WrongIssuer { .. } => "wrong_issuer",
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
    /// The issuer keysets and revocation lists are bound to (the issuer of the first
    /// keyset this client installed, remembered in the journal).
    pub issuer: Option<String>,
    /// The last keyset refused since one was installed (rollback, other issuer).
    pub keyset_refused: Option<TrustRefusal>,
    /// The last revocation list refused since one was installed.
    pub revocations_refused: Option<TrustRefusal>,
}

const KEYSET_FILE: &str = "andal-keyset.jws";
const REVOCATIONS_FILE: &str = "andal-revocations.jws";

/// The newest version of one trust document seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DocMark {
    /// Issued-at (unix seconds).
    pub iat: u64,
    /// base64url SHA-256 of the signed document (tells two documents of the same
    /// issued-at apart).
    pub sha256: String,
}

impl DocMark {
    fn of(doc: &str, iat: u64) -> Self {
        DocMark {
            iat,
            sha256: andal_token::document_fingerprint(doc),
        }
    }
}

/// The trust high-water mark, appended to the encrypted journal each time it rises (a
/// record kind of its own, skipped by journal readers that list offline decisions). The
/// latest one is read when the client starts, so replacing the cache files while the
/// application is stopped cannot install older trust.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TrustMark {
    pub v: u8,
    /// Issuer the documents are bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyset: Option<DocMark>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocations: Option<DocMark>,
}

/// Version of [`TrustMark`] records.
pub(crate) const TRUST_MARK_VERSION: u8 = 1;

#[derive(Default)]
struct TrustState {
    keyset: Option<(Arc<TrustStore>, u64, usize)>,
    revocations: Option<Arc<RevocationList>>,
    /// Highest documents seen (held now or earlier, in this run or a previous one).
    mark: TrustMark,
    keyset_refused: Option<TrustRefusal>,
    revocations_refused: Option<TrustRefusal>,
}

/// What installing a verified document came to.
enum Judgement {
    /// Newer than the mark: install it and raise the mark.
    Newer,
    /// The very document of the mark: install it if nothing is held, else nothing to do.
    Same,
    /// Refused.
    Refused(TrustRefusal),
}

fn judge(mark: Option<&DocMark>, offered: &DocMark, document: TrustDocument) -> Judgement {
    match mark {
        None => Judgement::Newer,
        Some(m) if offered.iat > m.iat => Judgement::Newer,
        Some(m) if offered.iat == m.iat && offered.sha256 == m.sha256 => Judgement::Same,
        Some(m) => Judgement::Refused(TrustRefusal::Rollback {
            document,
            held_issued_at: m.iat,
            offered_issued_at: offered.iat,
        }),
    }
}

/// Whether `new` revokes every token id and subject `old` does.
fn revokes_at_least(new: &RevocationList, old: &RevocationList) -> bool {
    let (n, o) = (new.payload(), old.payload());
    o.revoked_jti.iter().all(|j| n.revoked_jti.contains(j))
        && o.revoked_subjects
            .iter()
            .all(|d| n.revoked_subjects.contains(d))
}

/// Pinned roots plus the verified keyset and revocation list, cached on disk; the
/// high-water mark in the journal when there is one.
pub(crate) struct Trust {
    roots: Vec<RootKey>,
    cache_dir: Option<PathBuf>,
    journal: Option<Arc<andal_journal::Journal>>,
    state: RwLock<TrustState>,
}

/// The trust mark in a journal: the highest document of each kind over every mark record
/// (records of other kinds are not decoded). Taking the highest rather than the last makes
/// the result independent of the order two concurrent refreshes' records reached the
/// journal in.
fn latest_mark(journal: &andal_journal::Journal) -> Option<TrustMark> {
    let records = match journal.records() {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(target: "andal::offline", error = %e, "cannot read the trust high-water mark from the journal");
            return None;
        }
    };
    let marks = records.iter().filter_map(|r| {
        if !r.payload.starts_with(crate::reconcile::TRUST_MARK_PREFIX) {
            return None;
        }
        match serde_json::from_slice::<crate::reconcile::Entry>(&r.payload) {
            Ok(crate::reconcile::Entry::TrustMark(m)) => Some(m),
            _ => None,
        }
    });
    marks.reduce(|held, m| TrustMark {
        v: held.v.max(m.v),
        // Bound once, by the first keyset; a later record can only repeat it.
        issuer: held.issuer.or(m.issuer),
        keyset: higher(held.keyset, m.keyset),
        revocations: higher(held.revocations, m.revocations),
    })
}

/// The higher of two marks of one document (the later one on a tie).
fn higher(a: Option<DocMark>, b: Option<DocMark>) -> Option<DocMark> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if a.iat > b.iat { a } else { b }),
        (a, b) => b.or(a),
    }
}

impl Trust {
    /// Read the high-water mark from the journal, then load what the cache holds,
    /// verifying it again (a cache is never trusted as such) and refusing anything older
    /// than the mark.
    pub(crate) fn new(
        roots: Vec<RootKey>,
        cache_dir: Option<PathBuf>,
        now: u64,
        journal: Option<Arc<andal_journal::Journal>>,
    ) -> Self {
        let mark = journal.as_deref().and_then(latest_mark).unwrap_or_default();
        let trust = Trust {
            roots,
            cache_dir,
            journal,
            state: RwLock::new(TrustState {
                mark,
                ..TrustState::default()
            }),
        };
        if let Some(dir) = trust.cache_dir.clone() {
            for (file, keys) in [(KEYSET_FILE, true), (REVOCATIONS_FILE, false)] {
                let Ok(doc) = std::fs::read_to_string(dir.join(file)) else {
                    continue;
                };
                match trust.install(doc.trim(), keys, now) {
                    // A cached document newer than the mark raises it; the cache file
                    // already holds it, so only the mark is written.
                    Ok(installed) => {
                        let mark = Installed {
                            cache: None,
                            ..installed
                        };
                        journaled_mark(mark.write(trust.journal.as_deref()));
                    }
                    Err(e) => {
                        tracing::warn!(target: "andal::offline", file, reason = e.reason(), "ignoring cached trust document");
                    }
                }
            }
        }
        trust
    }

    pub(crate) fn has_roots(&self) -> bool {
        !self.roots.is_empty()
    }

    /// Whether verified documents are cached on disk.
    pub(crate) fn has_cache_dir(&self) -> bool {
        self.cache_dir.is_some()
    }

    /// Verify and install a keyset (`keys`) or revocation list in memory; what must then be
    /// written to disk (the raised mark to the journal, then the document to the cache) is
    /// returned for the caller to write, so no disk write happens under the trust lock or on
    /// the caller's thread (an async driver hands it to its writer thread).
    ///
    /// Refused, with the refusal in [`TrustStatus`] and a warning: a document for another
    /// issuer than the one held or remembered (`Err(WrongIssuer)`), and one older than the
    /// high-water mark, or as old but different (rollback, `Ok` with nothing to write: the
    /// newer trust stays).
    pub(crate) fn install(&self, doc: &str, keys: bool, now: u64) -> Result<Installed, TokenError> {
        let document = if keys {
            TrustDocument::Keyset
        } else {
            TrustDocument::RevocationList
        };
        // Verify outside the lock (signatures, and revocation lists can be large).
        enum Doc {
            Keys(andal_token::Keyset),
            Revocations(RevocationList),
        }
        let (parsed, iss, iat) = if keys {
            let ks = andal_token::Keyset::verify_signed(doc, &self.roots, now)?;
            let (iss, iat) = (ks.iss().to_owned(), ks.iat());
            (Doc::Keys(ks), iss, iat)
        } else {
            let rl = RevocationList::verify_signed(doc, &self.roots, now)?;
            let (iss, iat) = (rl.iss().to_owned(), rl.iat());
            (Doc::Revocations(rl), iss, iat)
        };
        let offered = DocMark::of(doc, iat);
        let mut st = self.state.write();
        let refuse = |st: &mut TrustState, r: TrustRefusal| {
            tracing::warn!(target: "andal::offline", document = document.as_str(), reason = r.reason(), refusal = %r, "trust document refused");
            match document {
                TrustDocument::Keyset => st.keyset_refused = Some(r),
                TrustDocument::RevocationList => st.revocations_refused = Some(r),
            }
        };
        if let Some(expected) = &st.mark.issuer
            && *expected != iss
        {
            refuse(&mut st, TrustRefusal::WrongIssuer { document });
            return Err(TokenError::WrongIssuer);
        }
        let mark = match document {
            TrustDocument::Keyset => st.mark.keyset.as_ref(),
            TrustDocument::RevocationList => st.mark.revocations.as_ref(),
        };
        let held = match document {
            TrustDocument::Keyset => st.keyset.is_some(),
            TrustDocument::RevocationList => st.revocations.is_some(),
        };
        let mut judgement = judge(mark, &offered, document);
        // Two lists with the same issued-at (an issuer revoking twice within a second):
        // the later one may replace the held one only if it revokes everything the held one
        // does, so an older list of that second can never un-revoke.
        if let (
            Judgement::Refused(TrustRefusal::Rollback { held_issued_at, .. }),
            Doc::Revocations(new),
            Some(old),
        ) = (&judgement, &parsed, st.revocations.as_ref())
            && *held_issued_at == iat
            && old.iat() == iat
            && revokes_at_least(new, old)
        {
            judgement = Judgement::Newer;
        }
        let raise = match judgement {
            Judgement::Refused(r) => {
                refuse(&mut st, r);
                return Ok(Installed::default());
            }
            Judgement::Same if held => {
                match document {
                    TrustDocument::Keyset => st.keyset_refused = None,
                    TrustDocument::RevocationList => st.revocations_refused = None,
                }
                return Ok(Installed::default());
            }
            Judgement::Same => false,
            Judgement::Newer => true,
        };
        match parsed {
            Doc::Keys(ks) => {
                st.keyset = Some((
                    Arc::new(TrustStore::from_keyset(&ks)),
                    ks.iat(),
                    ks.keys().len(),
                ));
                st.keyset_refused = None;
                // A list of another issuer held from before the first keyset: drop it.
                if st.revocations.as_ref().is_some_and(|r| r.iss() != iss) {
                    tracing::warn!(target: "andal::offline", "revocation list of another issuer dropped");
                    st.revocations = None;
                    st.mark.revocations = None;
                }
            }
            Doc::Revocations(rl) => {
                st.revocations = Some(Arc::new(rl));
                st.revocations_refused = None;
            }
        }
        if raise {
            match document {
                TrustDocument::Keyset => {
                    st.mark.keyset = Some(offered);
                    // The first keyset binds the client to its issuer.
                    st.mark.issuer = Some(iss);
                }
                TrustDocument::RevocationList => st.mark.revocations = Some(offered),
            }
            st.mark.v = TRUST_MARK_VERSION;
        }
        // Serialised under the lock, so the record is this very mark; written after it.
        let mark_record = if raise && self.journal.is_some() {
            // Strings and numbers only: encoding cannot fail.
            serde_json::to_vec(&crate::reconcile::Entry::TrustMark(st.mark.clone())).ok()
        } else {
            None
        };
        drop(st);
        let cache = self.cache_dir.as_ref().map(|dir| CacheWrite {
            dir: dir.clone(),
            file: if keys { KEYSET_FILE } else { REVOCATIONS_FILE },
            contents: doc.to_owned(),
        });
        Ok(Installed { mark_record, cache })
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
            issuer: st.mark.issuer.clone(),
            keyset_refused: st.keyset_refused.clone(),
            revocations_refused: st.revocations_refused.clone(),
        }
    }
}

/// Write `dir/file` via a temporary file and a rename, so a crash never leaves half a file.
/// What an installed trust document leaves to be written, in this order: the raised
/// high-water mark to the journal (journal first: a cache never runs ahead of the mark for
/// long), then the document to the cache directory.
#[derive(Debug, Default)]
pub(crate) struct Installed {
    /// The journal record of the raised mark (only with a journal).
    pub(crate) mark_record: Option<Vec<u8>>,
    /// The document for the cache (only with a cache directory).
    pub(crate) cache: Option<CacheWrite>,
}

impl Installed {
    /// Write it, on this thread: the mark to `journal`, then the document to the cache
    /// (the constructor, the blocking driver and the async driver's writer thread all use
    /// this). Returns how the journal append went; the cache write reports its own failure.
    pub(crate) fn write(&self, journal: Option<&andal_journal::Journal>) -> Result<(), String> {
        let journaled = match (&self.mark_record, journal) {
            (Some(record), Some(j)) => j.append(record).map(|_| ()).map_err(|e| e.to_string()),
            (Some(_), None) => Err("this client has no journal".to_owned()),
            (None, _) => Ok(()),
        };
        if let Some(cache) = &self.cache {
            cache.write();
        }
        journaled
    }
}

/// A trust document to write to the cache directory.
#[derive(Debug)]
pub(crate) struct CacheWrite {
    pub(crate) dir: PathBuf,
    pub(crate) file: &'static str,
    pub(crate) contents: String,
}

impl CacheWrite {
    /// Write it (atomically: temporary file, fsync, rename); a failure is a warning, as the
    /// cache only saves a fetch at the next start.
    pub(crate) fn write(&self) {
        if let Err(e) = write_atomically(&self.dir, self.file, &self.contents) {
            tracing::warn!(target: "andal::offline", file = self.file, error = %e, "cannot cache trust document");
        }
    }
}

/// Reports how appending a raised mark went: a failure is a warning (the mark in memory
/// still guards this run; only a restart could then accept older cached trust).
pub(crate) fn journaled_mark(result: Result<(), String>) {
    if let Err(e) = result {
        tracing::warn!(target: "andal::offline", error = %e, "cannot journal the trust high-water mark");
    }
}

fn write_atomically(dir: &Path, file: &str, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{file}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(file))
}
