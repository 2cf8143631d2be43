//! Notices for the person at the counter: a stable code and a short sentence, in Bahasa
//! Indonesia and English, for every outcome that is not a plain online answer.
//!
//! | code | when | reachable from |
//! |---|---|---|
//! | `ANDAL-OFFLINE-ANSWERED` | the registry could not answer; signed offline evidence did, and the answer will be re-confirmed automatically | [`Decision::notice`] |
//! | `ANDAL-UNAVAILABLE` | turned away: the registry is down, unreachable or not answering in time | [`Error::notice`] |
//! | `ANDAL-UNAVAILABLE-QUOTA` | turned away: the registry is limiting requests (quota, throttling) | [`Error::notice`] |
//! | `ANDAL-CONFIRMED` | reconciliation confirmed an earlier offline answer | [`ReconcileOutcome::notice`] |
//! | `ANDAL-CONTRADICTED` | reconciliation contradicted an earlier offline answer | [`ReconcileOutcome::notice`] |
//!
//! Codes never change meaning; new ones may be added ([`NoticeCode`] is non-exhaustive).
//! A notice holds no personal data: its sentence is built from fixed text and, for
//! `ANDAL-UNAVAILABLE*`, the time the outage began ([`Notice::since`], e.g. from
//! [`OutageRecorder::current_incident_start`](crate::outage::OutageRecorder::current_incident_start)).
//!
//! ```
//! use andal::notice::{Notice, NoticeCode};
//! use andal::locale::{Language, OfficeZone};
//! let n = Notice::new(NoticeCode::OfflineAnswered);
//! assert_eq!(n.code().as_str(), "ANDAL-OFFLINE-ANSWERED");
//! assert!(n.message(Language::Indonesian, OfficeZone::Wib).contains("otomatis"));
//! assert!(n.message(Language::English, OfficeZone::Wib).contains("automatically"));
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use crate::locale::{Language, OfficeZone, format_datetime};
use crate::reconcile::ReconcileOutcome;
use crate::{Decision, Error, UnavailableCause};

/// A stable notice code (`ANDAL-...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NoticeCode {
    /// `ANDAL-OFFLINE-ANSWERED`: answered from offline evidence, re-confirmed later.
    OfflineAnswered,
    /// `ANDAL-UNAVAILABLE`: turned away, the registry is unavailable.
    Unavailable,
    /// `ANDAL-UNAVAILABLE-QUOTA`: turned away, the registry is limiting requests.
    UnavailableQuota,
    /// `ANDAL-CONFIRMED`: an earlier offline answer was confirmed online.
    Confirmed,
    /// `ANDAL-CONTRADICTED`: an earlier offline answer was contradicted online.
    Contradicted,
}

impl NoticeCode {
    /// Every code, in documentation order.
    pub const ALL: [NoticeCode; 5] = [
        NoticeCode::OfflineAnswered,
        NoticeCode::Unavailable,
        NoticeCode::UnavailableQuota,
        NoticeCode::Confirmed,
        NoticeCode::Contradicted,
    ];

    /// The stable code string.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeCode::OfflineAnswered => "ANDAL-OFFLINE-ANSWERED",
            NoticeCode::Unavailable => "ANDAL-UNAVAILABLE",
            NoticeCode::UnavailableQuota => "ANDAL-UNAVAILABLE-QUOTA",
            NoticeCode::Confirmed => "ANDAL-CONFIRMED",
            NoticeCode::Contradicted => "ANDAL-CONTRADICTED",
        }
    }

    /// Whether the person was turned away (no answer given).
    pub fn is_turned_away(self) -> bool {
        matches!(self, NoticeCode::Unavailable | NoticeCode::UnavailableQuota)
    }
}

impl fmt::Display for NoticeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not a notice code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown notice code")]
pub struct UnknownNoticeCode;

impl FromStr for NoticeCode {
    type Err = UnknownNoticeCode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NoticeCode::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or(UnknownNoticeCode)
    }
}

/// A notice: a code, and for the unavailable codes optionally when the outage began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notice {
    code: NoticeCode,
    since: Option<SystemTime>,
}

impl Notice {
    /// A notice with this code.
    pub fn new(code: NoticeCode) -> Self {
        Notice { code, since: None }
    }

    /// The same notice, saying since when the registry has been unavailable (shown only by
    /// the unavailable codes).
    pub fn since(mut self, started: Option<SystemTime>) -> Self {
        self.since = started;
        self
    }

    /// The code.
    pub fn code(&self) -> NoticeCode {
        self.code
    }

    /// When the outage began, if known.
    pub fn started(&self) -> Option<SystemTime> {
        self.since
    }

    /// A short title (a few words) for a screen or a receipt line.
    pub fn title(&self, lang: Language) -> &'static str {
        use NoticeCode::*;
        match (lang, self.code) {
            (Language::Indonesian, OfflineAnswered) => "Diperiksa dengan data cadangan",
            (Language::Indonesian, Unavailable) => "Layanan Dukcapil sedang terganggu",
            (Language::Indonesian, UnavailableQuota) => "Layanan Dukcapil sedang dibatasi",
            (Language::Indonesian, Confirmed) => "Hasil pemeriksaan dibenarkan",
            (Language::Indonesian, Contradicted) => "Hasil pemeriksaan perlu diulang",
            (Language::English, OfflineAnswered) => "Checked with backup evidence",
            (Language::English, Unavailable) => "The registry service is down",
            (Language::English, UnavailableQuota) => "The registry service is limiting checks",
            (Language::English, Confirmed) => "Check result confirmed",
            (Language::English, Contradicted) => "Check result must be redone",
        }
    }

    /// The sentence for the person at the counter and for a receipt. Times are written in
    /// the office's zone.
    pub fn message(&self, lang: Language, zone: OfficeZone) -> String {
        use NoticeCode::*;
        let since = self.since.map(|t| format_datetime(t, zone, lang));
        match (lang, self.code) {
            (Language::Indonesian, OfflineAnswered) => "Server Dukcapil tidak dapat menjawab saat ini, jadi data Anda diperiksa dengan bukti resmi bertanda tangan digital yang tersimpan. Hasil ini akan dicocokkan ulang dengan Dukcapil secara otomatis setelah layanan pulih; Anda tidak perlu datang lagi kecuali dihubungi.".into(),
            (Language::English, OfflineAnswered) => "The population registry cannot answer right now, so your details were checked against stored, digitally signed official evidence. This result will be re-confirmed with the registry automatically once it is back; you need not come back unless you are contacted.".into(),
            (Language::Indonesian, Unavailable) => format!(
                "Data Anda belum dapat diperiksa karena layanan Dukcapil sedang terganggu{}. Ini bukan kesalahan data Anda. Silakan coba lagi nanti atau tanyakan kepada petugas kapan layanan dapat dilanjutkan.",
                since.map(|s| format!(" sejak {s}")).unwrap_or_default()
            ),
            (Language::English, Unavailable) => format!(
                "Your details cannot be checked because the population registry service is down{}. This is not a problem with your details. Please try again later, or ask the staff when service can resume.",
                since.map(|s| format!(" (since {s})")).unwrap_or_default()
            ),
            (Language::Indonesian, UnavailableQuota) => format!(
                "Data Anda belum dapat diperiksa karena Dukcapil sedang membatasi jumlah pemeriksaan (kuota){}. Ini bukan kesalahan data Anda. Silakan coba lagi beberapa saat lagi.",
                since.map(|s| format!(" sejak {s}")).unwrap_or_default()
            ),
            (Language::English, UnavailableQuota) => format!(
                "Your details cannot be checked because the population registry is limiting the number of checks (quota){}. This is not a problem with your details. Please try again in a little while.",
                since.map(|s| format!(" since {s}")).unwrap_or_default()
            ),
            (Language::Indonesian, Confirmed) => "Pemeriksaan ulang dengan Dukcapil membenarkan hasil yang diberikan saat layanan terganggu. Tidak ada yang perlu Anda lakukan.".into(),
            (Language::English, Confirmed) => "A later check with the population registry confirmed the result given during the outage. You need not do anything.".into(),
            (Language::Indonesian, Contradicted) => "Pemeriksaan ulang dengan Dukcapil tidak membenarkan hasil yang diberikan saat layanan terganggu. Mohon datang kembali dengan e-KTP agar data Anda diperiksa ulang.".into(),
            (Language::English, Contradicted) => "A later check with the population registry did not confirm the result given during the outage. Please come back with your e-KTP so your details can be checked again.".into(),
        }
    }
}

impl Decision {
    /// The notice for this decision: `ANDAL-OFFLINE-ANSWERED` for an offline answer,
    /// `None` for a plain online answer.
    pub fn notice(&self) -> Option<Notice> {
        self.is_offline()
            .then(|| Notice::new(NoticeCode::OfflineAnswered))
    }
}

impl Notice {
    /// The notice for a person turned away, from the stable labels an unavailable error
    /// carries (`cause`: `UnavailableCause::label`, e.g. `breaker_open`, `throttled`,
    /// `http_429`; `last_failure`: the last upstream failure's label). The bindings pass
    /// the labels their error types expose; [`Error::notice`] passes its own.
    pub fn for_unavailable(cause: &str, last_failure: Option<&str>) -> Notice {
        let quota = |l: &str| matches!(l, "throttled" | "http_429");
        // The stop reason names no failure (breaker, budget, deadline): the last upstream
        // failure says whether the registry was limiting requests.
        let quota =
            quota(cause) || (!cause.starts_with("http_") && last_failure.is_some_and(quota));
        Notice::new(if quota {
            NoticeCode::UnavailableQuota
        } else {
            NoticeCode::Unavailable
        })
    }
}

impl Error {
    /// The notice for a person turned away: `ANDAL-UNAVAILABLE-QUOTA` when the registry
    /// is limiting requests (HTTP 429 / throttled), else `ANDAL-UNAVAILABLE`. `None` for
    /// errors that are not an outage (invalid input, rejected request, configuration):
    /// those are for the operator, not a notice. Add when the outage began with
    /// [`Notice::since`].
    pub fn notice(&self) -> Option<Notice> {
        let Error::Unavailable(u) = self else {
            return None;
        };
        let cause = match &u.cause {
            // The budget stop names the failure that needed the retry.
            UnavailableCause::RetryBudgetExhausted(k) => k.label().into_owned(),
            c => c.label(),
        };
        let last = u.last_failure.as_ref().map(|k| k.label());
        Some(Notice::for_unavailable(&cause, last.as_deref()))
    }
}

impl ReconcileOutcome {
    /// `ANDAL-CONFIRMED` or `ANDAL-CONTRADICTED` for a final outcome; for one still
    /// pending, `ANDAL-OFFLINE-ANSWERED` (the offline answer stands until re-confirmed).
    pub fn notice(&self) -> Notice {
        Notice::new(match self {
            ReconcileOutcome::Confirmed => NoticeCode::Confirmed,
            ReconcileOutcome::Contradicted { .. } => NoticeCode::Contradicted,
            ReconcileOutcome::StillPending { .. } => NoticeCode::OfflineAnswered,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Unavailable;
    use crate::resilience::FailureKind;
    use std::time::Duration;

    fn unavailable(cause: UnavailableCause, last: Option<FailureKind>) -> Error {
        Error::Unavailable(Unavailable {
            cause,
            attempts: 1,
            last_failure: last,
            elapsed: Duration::from_millis(10),
            fallback: None,
        })
    }

    #[test]
    fn codes_are_stable_and_parse_back() {
        let codes: Vec<&str> = NoticeCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            codes,
            [
                "ANDAL-OFFLINE-ANSWERED",
                "ANDAL-UNAVAILABLE",
                "ANDAL-UNAVAILABLE-QUOTA",
                "ANDAL-CONFIRMED",
                "ANDAL-CONTRADICTED"
            ]
        );
        for c in NoticeCode::ALL {
            assert_eq!(c.as_str().parse::<NoticeCode>(), Ok(c));
        }
        assert!("ANDAL-NOPE".parse::<NoticeCode>().is_err());
    }

    #[test]
    fn every_code_has_words_in_both_languages() {
        for c in NoticeCode::ALL {
            let n = Notice::new(c);
            for lang in [Language::Indonesian, Language::English] {
                assert!(!n.title(lang).is_empty());
                let m = n.message(lang, OfficeZone::Wib);
                assert!(m.ends_with('.'), "{c}: {m}");
                assert!(!m.contains("breaker") && !m.contains("half-open"), "{m}");
            }
            assert_ne!(
                n.message(Language::Indonesian, OfficeZone::Wib),
                n.message(Language::English, OfficeZone::Wib)
            );
        }
    }

    #[test]
    fn errors_map_to_turned_away_notices() {
        let e = unavailable(UnavailableCause::Upstream(FailureKind::Refused), None);
        assert_eq!(e.notice().unwrap().code(), NoticeCode::Unavailable);
        let e = unavailable(UnavailableCause::Upstream(FailureKind::Throttled), None);
        assert_eq!(e.notice().unwrap().code(), NoticeCode::UnavailableQuota);
        let e = unavailable(
            UnavailableCause::DeadlineExceeded,
            Some(FailureKind::HttpStatus(429)),
        );
        assert_eq!(e.notice().unwrap().code(), NoticeCode::UnavailableQuota);
        let e = unavailable(
            UnavailableCause::BreakerOpen { retry_in: None },
            Some(FailureKind::ReadTimeout),
        );
        let n = e.notice().unwrap();
        assert_eq!(n.code(), NoticeCode::Unavailable);
        assert!(n.code().is_turned_away());
        let e = unavailable(
            UnavailableCause::RetryBudgetExhausted(FailureKind::Throttled),
            None,
        );
        assert_eq!(e.notice().unwrap().code(), NoticeCode::UnavailableQuota);
        let e = unavailable(UnavailableCause::LoadShed, None);
        assert_eq!(e.notice().unwrap().code(), NoticeCode::Unavailable);
        assert_eq!(
            Notice::for_unavailable("http_503", Some("http_429")).code(),
            NoticeCode::Unavailable,
            "an upstream status names the failure itself"
        );
        let e = Error::Protocol("x".into());
        assert!(e.notice().is_none());
    }

    #[test]
    fn since_is_written_in_the_office_zone() {
        // 2026-11-29T09:15:00Z
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_943_700);
        let n = Notice::new(NoticeCode::Unavailable).since(Some(t));
        assert!(
            n.message(Language::Indonesian, OfficeZone::Wita)
                .contains("sejak 29 November 2026, 17.15 WITA"),
        );
        assert!(
            n.message(Language::English, OfficeZone::Wib)
                .contains("since 29 November 2026, 16:15 WIB")
        );
        // Offline and reconciliation notices do not mention it.
        let n = Notice::new(NoticeCode::OfflineAnswered).since(Some(t));
        assert!(
            !n.message(Language::Indonesian, OfficeZone::Wib)
                .contains("2026")
        );
    }

    #[test]
    fn reconciliation_outcomes() {
        assert_eq!(
            ReconcileOutcome::Confirmed.notice().code(),
            NoticeCode::Confirmed
        );
        assert_eq!(
            ReconcileOutcome::Contradicted {
                reason: crate::Contradiction::Revoked
            }
            .notice()
            .code(),
            NoticeCode::Contradicted
        );
        assert_eq!(
            ReconcileOutcome::StillPending {
                cause: "breaker_open".into()
            }
            .notice()
            .code(),
            NoticeCode::OfflineAnswered
        );
    }
}
