//! Notices for the person at the counter (`andal::notice`): a stable code and a short
//! sentence in Bahasa Indonesia or English. Translation only: the choice of code and every
//! word come from the core.

use std::time::{Duration, UNIX_EPOCH};

use crate::client::AndalClient;
use crate::offline::ReconcileOutcome;
use crate::types::{Decision, FailureKind, Provenance};

/// A stable notice code (`code_text` of [`Notice`] is its `ANDAL-...` string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum NoticeCode {
    /// `ANDAL-OFFLINE-ANSWERED`: answered from offline evidence, re-confirmed later.
    OfflineAnswered,
    /// `ANDAL-UNAVAILABLE`: turned away, the registry is unavailable.
    Unavailable,
    /// `ANDAL-UNAVAILABLE-QUOTA`: turned away, the registry is limiting requests.
    UnavailableQuota,
    /// `ANDAL-CONFIRMED`: an earlier offline answer was confirmed.
    Confirmed,
    /// `ANDAL-CONTRADICTED`: an earlier offline answer was contradicted.
    Contradicted,
}

impl From<NoticeCode> for andal::NoticeCode {
    fn from(c: NoticeCode) -> Self {
        match c {
            NoticeCode::OfflineAnswered => andal::NoticeCode::OfflineAnswered,
            NoticeCode::Unavailable => andal::NoticeCode::Unavailable,
            NoticeCode::UnavailableQuota => andal::NoticeCode::UnavailableQuota,
            NoticeCode::Confirmed => andal::NoticeCode::Confirmed,
            NoticeCode::Contradicted => andal::NoticeCode::Contradicted,
        }
    }
}

impl NoticeCode {
    fn from_core(c: andal::NoticeCode) -> Self {
        match c {
            andal::NoticeCode::OfflineAnswered => NoticeCode::OfflineAnswered,
            andal::NoticeCode::UnavailableQuota => NoticeCode::UnavailableQuota,
            andal::NoticeCode::Confirmed => NoticeCode::Confirmed,
            andal::NoticeCode::Contradicted => NoticeCode::Contradicted,
            _ => NoticeCode::Unavailable,
        }
    }
}

/// The language of a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum NoticeLanguage {
    /// Bahasa Indonesia.
    Indonesian,
    /// English.
    English,
}

impl From<NoticeLanguage> for andal::Language {
    fn from(l: NoticeLanguage) -> Self {
        match l {
            NoticeLanguage::Indonesian => andal::Language::Indonesian,
            NoticeLanguage::English => andal::Language::English,
        }
    }
}

/// The office's time zone (times in notices are written in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum OfficeZone {
    /// UTC+7.
    Wib,
    /// UTC+8.
    Wita,
    /// UTC+9.
    Wit,
}

impl From<OfficeZone> for andal::OfficeZone {
    fn from(z: OfficeZone) -> Self {
        match z {
            OfficeZone::Wib => andal::OfficeZone::Wib,
            OfficeZone::Wita => andal::OfficeZone::Wita,
            OfficeZone::Wit => andal::OfficeZone::Wit,
        }
    }
}

/// A notice, ready to show or print. No personal data.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Notice {
    /// The code.
    pub code: NoticeCode,
    /// The stable code string (`ANDAL-OFFLINE-ANSWERED`, ...).
    pub code_text: String,
    /// A few words for a screen or a receipt line.
    pub title: String,
    /// The sentence for the person at the counter and for a receipt.
    pub text: String,
}

fn render(
    n: andal::Notice,
    since_unix_ms: Option<i64>,
    language: NoticeLanguage,
    zone: OfficeZone,
) -> Notice {
    let since = since_unix_ms
        .and_then(|ms| u64::try_from(ms).ok())
        .map(|ms| UNIX_EPOCH + Duration::from_millis(ms));
    let n = n.since(since);
    Notice {
        code: NoticeCode::from_core(n.code()),
        code_text: n.code().as_str().to_owned(),
        title: n.title(language.into()).to_owned(),
        text: n.message(language.into(), zone.into()),
    }
}

/// The notice with this code; `since_unix_ms` (when the outage began, see
/// `AndalClient.outageSinceUnixMs`) is shown by the unavailable codes.
#[uniffi::export]
pub fn notice_for_code(
    code: NoticeCode,
    since_unix_ms: Option<i64>,
    language: NoticeLanguage,
    zone: OfficeZone,
) -> Notice {
    render(
        andal::Notice::new(code.into()),
        since_unix_ms,
        language,
        zone,
    )
}

/// The notice for a decision: `ANDAL-OFFLINE-ANSWERED` for an offline answer, `null` /
/// `nil` for a plain online answer.
#[uniffi::export]
pub fn decision_notice(
    decision: Decision,
    language: NoticeLanguage,
    zone: OfficeZone,
) -> Option<Notice> {
    matches!(decision.provenance, Provenance::Offline { .. }).then(|| {
        render(
            andal::Notice::new(andal::NoticeCode::OfflineAnswered),
            None,
            language,
            zone,
        )
    })
}

/// The notice for a person turned away, from an `Unavailable` error's `label` and
/// `last_failure`: `ANDAL-UNAVAILABLE-QUOTA` when the registry is limiting requests, else
/// `ANDAL-UNAVAILABLE`.
#[uniffi::export]
pub fn unavailable_notice(
    label: String,
    last_failure: Option<FailureKind>,
    since_unix_ms: Option<i64>,
    language: NoticeLanguage,
    zone: OfficeZone,
) -> Notice {
    let last = last_failure.map(|k| andal::FailureKind::from(k).label().into_owned());
    render(
        andal::Notice::for_unavailable(&label, last.as_deref()),
        since_unix_ms,
        language,
        zone,
    )
}

/// The notice for a reconciliation outcome: `ANDAL-CONFIRMED`, `ANDAL-CONTRADICTED`, or
/// `ANDAL-OFFLINE-ANSWERED` while still pending.
#[uniffi::export]
pub fn reconcile_notice(
    outcome: ReconcileOutcome,
    language: NoticeLanguage,
    zone: OfficeZone,
) -> Notice {
    let code = match outcome {
        ReconcileOutcome::Confirmed => andal::NoticeCode::Confirmed,
        ReconcileOutcome::Contradicted { .. } => andal::NoticeCode::Contradicted,
        ReconcileOutcome::StillPending { .. } => andal::NoticeCode::OfflineAnswered,
    };
    render(andal::Notice::new(code), None, language, zone)
}

#[uniffi::export]
impl AndalClient {
    /// When the outage going on now began (Unix milliseconds), `null` / `nil` when none
    /// is: the "since when" of an unavailable notice.
    pub fn outage_since_unix_ms(&self) -> Option<i64> {
        self.inner
            .outage_recorder()
            .current_incident_start()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_millis()).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_translate_the_core() {
        let n = unavailable_notice(
            "breaker_open".into(),
            Some(FailureKind::Throttled),
            Some(1_795_943_700_000),
            NoticeLanguage::Indonesian,
            OfficeZone::Wib,
        );
        assert_eq!(n.code, NoticeCode::UnavailableQuota);
        assert_eq!(n.code_text, "ANDAL-UNAVAILABLE-QUOTA");
        assert!(
            n.text.contains("sejak 29 November 2026, 16.15 WIB"),
            "{}",
            n.text
        );
        let n = unavailable_notice(
            "refused".into(),
            None,
            None,
            NoticeLanguage::English,
            OfficeZone::Wit,
        );
        assert_eq!(n.code, NoticeCode::Unavailable);
        assert!(n.text.contains("down"));
        for code in [
            NoticeCode::OfflineAnswered,
            NoticeCode::Unavailable,
            NoticeCode::UnavailableQuota,
            NoticeCode::Confirmed,
            NoticeCode::Contradicted,
        ] {
            let n = notice_for_code(code, None, NoticeLanguage::English, OfficeZone::Wib);
            assert_eq!(n.code, code);
            assert!(n.code_text.starts_with("ANDAL-"));
        }
        let n = reconcile_notice(
            ReconcileOutcome::StillPending {
                label: "breaker_open".into(),
            },
            NoticeLanguage::Indonesian,
            OfficeZone::Wib,
        );
        assert_eq!(n.code, NoticeCode::OfflineAnswered);
    }
}
