//! The plain-words account of an incident, shared by the page, the SVG and the status
//! document: what failed (from the recorded causes), when, and who was served how.

use std::collections::BTreeMap;
use std::time::SystemTime;

use andal::locale::{Language, OfficeZone, format_date, format_duration, format_time};
use andal::outage::Incident;

use crate::ReportError;
use crate::catalogue::{fill, text};

/// What failed, grouped from the recorder's failure labels into words a person can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CauseKind {
    /// Connection refused, name lookup failed, connect timeout, connection reset.
    Unreachable,
    /// Connected, but no answer within the time limit.
    Timeout,
    /// The registry refused because of its quota (HTTP 429 / throttled).
    Quota,
    /// The registry answered with a server error (HTTP 5xx or another status).
    ServerError,
    /// The answer could not be read (malformed, protocol error, too large).
    BadAnswer,
    /// The secure (TLS) connection failed.
    SecureConnection,
    /// A label this version does not know.
    Unknown,
}

impl CauseKind {
    /// Groups one failure label (`refused`, `read_timeout`, `http_503`, ...).
    pub fn of_label(label: &str) -> CauseKind {
        match label {
            "refused" | "dns" | "connect_timeout" | "reset" => CauseKind::Unreachable,
            "read_timeout" | "deadline_exceeded" => CauseKind::Timeout,
            "throttled" | "http_429" | "load_shed" => CauseKind::Quota,
            "tls" => CauseKind::SecureConnection,
            "malformed" | "protocol" | "too_large" => CauseKind::BadAnswer,
            l if l.starts_with("http_") => CauseKind::ServerError,
            _ => CauseKind::Unknown,
        }
    }

    /// Stable snake_case code (used by the status document).
    pub fn code(self) -> &'static str {
        match self {
            CauseKind::Unreachable => "unreachable",
            CauseKind::Timeout => "timeout",
            CauseKind::Quota => "quota",
            CauseKind::ServerError => "server_error",
            CauseKind::BadAnswer => "bad_answer",
            CauseKind::SecureConnection => "secure_connection",
            CauseKind::Unknown => "unknown",
        }
    }

    fn key(self) -> &'static str {
        match self {
            CauseKind::Unreachable => "cause.unreachable",
            CauseKind::Timeout => "cause.timeout",
            CauseKind::Quota => "cause.quota",
            CauseKind::ServerError => "cause.server_error",
            CauseKind::BadAnswer => "cause.bad_answer",
            CauseKind::SecureConnection => "cause.secure",
            CauseKind::Unknown => "cause.unknown",
        }
    }

    /// The words for this cause.
    pub fn words(self, lang: Language) -> &'static str {
        text(lang, self.key())
    }
}

/// Causes grouped and ordered by how often they were seen (most first; ties in a fixed
/// order).
pub fn grouped_causes(causes: &BTreeMap<String, u64>) -> Vec<(CauseKind, u64)> {
    let mut g: BTreeMap<CauseKind, u64> = BTreeMap::new();
    for (label, n) in causes {
        *g.entry(CauseKind::of_label(label)).or_default() += n;
    }
    let mut v: Vec<(CauseKind, u64)> = g.into_iter().filter(|(_, n)| *n > 0).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// The main cause, if any was recorded.
pub fn main_cause(causes: &BTreeMap<String, u64>) -> Option<CauseKind> {
    grouped_causes(causes).first().map(|c| c.0)
}

/// A whole number with the language's thousands separator (`1.234` / `1,234`).
pub fn number(n: u64, lang: Language) -> String {
    let digits = n.to_string();
    let sep = match lang {
        Language::Indonesian => '.',
        Language::English => ',',
    };
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

pub(crate) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// An incident's times resolved and written for people.
pub struct Told {
    /// Start.
    pub start: SystemTime,
    /// End, or `None` while ongoing.
    pub end: Option<SystemTime>,
    /// `29 November 2026, 16.15.07 WIB`.
    pub start_text: String,
    /// The end: time only when on the same day, else date and time; `None` while ongoing.
    pub end_text: Option<String>,
    /// `55 detik`.
    pub duration_text: String,
}

/// Parses an RFC 3339 time from the report.
pub fn parse_time(s: &str) -> Result<SystemTime, ReportError> {
    andal::locale::parse_rfc3339(s).ok_or_else(|| ReportError::Timestamp(s.to_owned()))
}

/// Seconds are shown for short incidents, where minutes alone would hide the span.
fn with_seconds(duration_ms: u64) -> bool {
    duration_ms < 3_600_000
}

/// Resolves and writes an incident's times.
pub fn tell_times(i: &Incident, zone: OfficeZone, lang: Language) -> Result<Told, ReportError> {
    let start = parse_time(&i.started_at)?;
    let end = match &i.ended_at {
        Some(e) if !i.ongoing => Some(parse_time(e)?),
        _ => None,
    };
    let secs = with_seconds(i.duration_ms);
    let start_text = format!(
        "{}, {}",
        format_date(start, zone, lang),
        format_time(start, zone, lang, secs)
    );
    let end_text = end.map(|e| {
        if format_date(e, zone, lang) == format_date(start, zone, lang) {
            format_time(e, zone, lang, secs)
        } else {
            format!(
                "{}, {}",
                format_date(e, zone, lang),
                format_time(e, zone, lang, secs)
            )
        }
    });
    Ok(Told {
        start,
        end,
        start_text,
        end_text,
        duration_text: format_duration(i.duration_ms, lang),
    })
}

/// "What failed", e.g. `server Dukcapil tidak dapat dihubungi (12 kali); server Dukcapil
/// tidak menjawab dalam batas waktu (3 kali)`: at most three groups.
pub fn causes_sentence(causes: &BTreeMap<String, u64>, lang: Language) -> Option<String> {
    let g = grouped_causes(causes);
    if g.is_empty() {
        return None;
    }
    let parts: Vec<String> = g
        .iter()
        .take(3)
        .map(|(k, n)| {
            format!(
                "{} ({})",
                k.words(lang),
                fill(lang, "incident.times", &[("n", &number(*n, lang))])
            )
        })
        .collect();
    Some(parts.join("; "))
}

/// Two lines for the SVG heading: when and what failed; who was served how.
pub fn short_lines(
    i: &Incident,
    zone: OfficeZone,
    lang: Language,
) -> Result<[String; 2], ReportError> {
    let t = tell_times(i, zone, lang)?;
    let cause = main_cause(&i.causes).unwrap_or(CauseKind::Unknown);
    let end = t
        .end_text
        .unwrap_or_else(|| text(lang, "incident.short.ongoing").to_owned());
    let first = fill(
        lang,
        "incident.short",
        &[
            ("id", &i.id.0.to_string()),
            ("start", &t.start_text),
            ("end", &end),
            ("duration", &t.duration_text),
            ("cause", &capitalise(cause.words(lang))),
        ],
    );
    let second = fill(
        lang,
        "incident.short2",
        &[
            ("offline", &number(i.checks.offline, lang)),
            ("refused", &number(i.checks.refused, lang)),
            ("confirmed", &number(i.reconciliation.confirmed, lang)),
            ("contradicted", &number(i.reconciliation.contradicted, lang)),
        ],
    );
    Ok([first, second])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_group_into_plain_causes() {
        let mut c = BTreeMap::new();
        c.insert("refused".to_owned(), 4);
        c.insert("connect_timeout".to_owned(), 3);
        c.insert("read_timeout".to_owned(), 5);
        c.insert("http_503".to_owned(), 1);
        let g = grouped_causes(&c);
        assert_eq!(
            g,
            vec![
                (CauseKind::Unreachable, 7),
                (CauseKind::Timeout, 5),
                (CauseKind::ServerError, 1)
            ]
        );
        let s = causes_sentence(&c, Language::Indonesian).unwrap();
        assert!(
            s.starts_with("server Dukcapil tidak dapat dihubungi (7 kali); server Dukcapil tidak menjawab dalam batas waktu (5 kali)"),
            "{s}"
        );
        assert_eq!(CauseKind::of_label("http_429"), CauseKind::Quota);
        assert_eq!(CauseKind::of_label("something_new"), CauseKind::Unknown);
        assert!(causes_sentence(&BTreeMap::new(), Language::English).is_none());
    }

    #[test]
    fn numbers_have_the_language_separator() {
        assert_eq!(number(0, Language::Indonesian), "0");
        assert_eq!(number(999, Language::Indonesian), "999");
        assert_eq!(number(1234, Language::Indonesian), "1.234");
        assert_eq!(number(1_234_567, Language::English), "1,234,567");
    }
}
