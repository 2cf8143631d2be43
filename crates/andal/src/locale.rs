//! Language and office time zone for words shown to people (notices, the outage page).
//!
//! Indonesia has three fixed-offset zones without daylight saving: WIB (UTC+7), WITA
//! (UTC+8) and WIT (UTC+9). Dates are written the Indonesian way, day first with the
//! month's name and a full stop between hours and minutes: `29 November 2026, 16.15 WIB`.
//! English keeps the day-first order and uses a colon: `29 November 2026, 16:15 WIB`.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use andal::locale::{Language, OfficeZone, format_datetime};
//! let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_943_700); // 2026-11-29T09:15:00Z
//! assert_eq!(format_datetime(t, OfficeZone::Wib, Language::Indonesian), "29 November 2026, 16.15 WIB");
//! assert_eq!(format_datetime(t, OfficeZone::Wit, Language::English), "29 November 2026, 18:15 WIT");
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use time::{OffsetDateTime, UtcOffset};

/// The language of words shown to people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    /// Bahasa Indonesia (the default).
    #[default]
    Indonesian,
    /// English.
    English,
}

impl Language {
    /// BCP 47 tag: `id` or `en`.
    pub fn tag(self) -> &'static str {
        match self {
            Language::Indonesian => "id",
            Language::English => "en",
        }
    }
}

/// A language tag that is neither `id` nor `en`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language {0:?} (expected \"id\" or \"en\")")]
pub struct UnknownLanguage(pub String);

impl FromStr for Language {
    type Err = UnknownLanguage;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "id" | "id-id" | "in" => Ok(Language::Indonesian),
            "en" | "en-us" | "en-gb" => Ok(Language::English),
            _ => Err(UnknownLanguage(s.chars().take(16).collect())),
        }
    }
}

/// The office's time zone: one of Indonesia's three fixed offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OfficeZone {
    /// Waktu Indonesia Barat, UTC+7 (Sumatra, Java, West and Central Kalimantan).
    #[default]
    Wib,
    /// Waktu Indonesia Tengah, UTC+8 (Bali, Nusa Tenggara, Sulawesi, ...).
    Wita,
    /// Waktu Indonesia Timur, UTC+9 (Maluku, Papua).
    Wit,
}

impl OfficeZone {
    /// Hours east of UTC.
    pub fn offset_hours(self) -> i8 {
        match self {
            OfficeZone::Wib => 7,
            OfficeZone::Wita => 8,
            OfficeZone::Wit => 9,
        }
    }
    /// `WIB`, `WITA` or `WIT`.
    pub fn abbreviation(self) -> &'static str {
        match self {
            OfficeZone::Wib => "WIB",
            OfficeZone::Wita => "WITA",
            OfficeZone::Wit => "WIT",
        }
    }
    /// The time `t` as a date-time in this zone.
    pub fn local(self, t: SystemTime) -> OffsetDateTime {
        let offset = UtcOffset::from_hms(self.offset_hours(), 0, 0).expect("offset in range");
        OffsetDateTime::from(t).to_offset(offset)
    }
}

impl fmt::Display for OfficeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.abbreviation())
    }
}

/// A zone name that is not WIB, WITA or WIT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown time zone {0:?} (expected WIB, WITA or WIT)")]
pub struct UnknownZone(pub String);

impl FromStr for OfficeZone {
    type Err = UnknownZone;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "WIB" | "+7" | "+07:00" | "UTC+7" | "ASIA/JAKARTA" | "ASIA/PONTIANAK" => {
                Ok(OfficeZone::Wib)
            }
            "WITA" | "+8" | "+08:00" | "UTC+8" | "ASIA/MAKASSAR" => Ok(OfficeZone::Wita),
            "WIT" | "+9" | "+09:00" | "UTC+9" | "ASIA/JAYAPURA" => Ok(OfficeZone::Wit),
            _ => Err(UnknownZone(s.chars().take(32).collect())),
        }
    }
}

const MONTHS_ID: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `29 November 2026` (the month's name in the language; no zone).
pub fn format_date(t: SystemTime, zone: OfficeZone, lang: Language) -> String {
    let d = zone.local(t);
    let m = usize::from(u8::from(d.month())) - 1;
    let month = match lang {
        Language::Indonesian => MONTHS_ID[m],
        Language::English => MONTHS_EN[m],
    };
    format!("{} {} {}", d.day(), month, d.year())
}

/// `16.15 WIB` (Indonesian) or `16:15 WIB` (English); with `seconds`, `16.15.07 WIB`.
pub fn format_time(t: SystemTime, zone: OfficeZone, lang: Language, seconds: bool) -> String {
    let d = zone.local(t);
    let sep = match lang {
        Language::Indonesian => '.',
        Language::English => ':',
    };
    if seconds {
        format!(
            "{:02}{sep}{:02}{sep}{:02} {}",
            d.hour(),
            d.minute(),
            d.second(),
            zone.abbreviation()
        )
    } else {
        format!(
            "{:02}{sep}{:02} {}",
            d.hour(),
            d.minute(),
            zone.abbreviation()
        )
    }
}

/// `29 November 2026, 16.15 WIB`.
pub fn format_datetime(t: SystemTime, zone: OfficeZone, lang: Language) -> String {
    format!(
        "{}, {}",
        format_date(t, zone, lang),
        format_time(t, zone, lang, false)
    )
}

/// A duration in words: `45 detik`, `3 menit 20 detik`, `1 jam 5 menit` (English: `45
/// seconds`, `3 minutes 20 seconds`, `1 hour 5 minutes`); under a second, `kurang dari 1
/// detik` / `less than a second`. Seconds are dropped from an hour or more.
pub fn format_duration(ms: u64, lang: Language) -> String {
    let secs = ms / 1000;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    let unit = |n: u64, id: &str, en: &str| match lang {
        Language::Indonesian => format!("{n} {id}"),
        Language::English => format!("{n} {en}{}", if n == 1 { "" } else { "s" }),
    };
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(unit(h, "jam", "hour"));
        if m > 0 {
            parts.push(unit(m, "menit", "minute"));
        }
    } else if m > 0 {
        parts.push(unit(m, "menit", "minute"));
        if s > 0 {
            parts.push(unit(s, "detik", "second"));
        }
    } else if s > 0 {
        parts.push(unit(s, "detik", "second"));
    } else {
        return match lang {
            Language::Indonesian => "kurang dari 1 detik".into(),
            Language::English => "less than a second".into(),
        };
    }
    parts.join(" ")
}

/// Parses an RFC 3339 time (as the outage report writes them).
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(SystemTime::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn zones_and_dates() {
        // 2026-11-29T16:15:00Z
        let t = at(1_795_968_900);
        assert_eq!(
            format_datetime(t, OfficeZone::Wib, Language::Indonesian),
            "29 November 2026, 23.15 WIB"
        );
        // Past midnight in WITA: the date moves too.
        assert_eq!(
            format_datetime(t, OfficeZone::Wita, Language::Indonesian),
            "30 November 2026, 00.15 WITA"
        );
        assert_eq!(
            format_time(t, OfficeZone::Wit, Language::English, true),
            "01:15:00 WIT"
        );
        assert_eq!(
            format_date(at(0), OfficeZone::Wib, Language::Indonesian),
            "1 Januari 1970"
        );
        assert_eq!("wita".parse::<OfficeZone>(), Ok(OfficeZone::Wita));
        assert_eq!("+9".parse::<OfficeZone>(), Ok(OfficeZone::Wit));
        assert!("CET".parse::<OfficeZone>().is_err());
        assert_eq!("EN".parse::<Language>(), Ok(Language::English));
        assert!("fr".parse::<Language>().is_err());
    }

    #[test]
    fn durations_in_words() {
        assert_eq!(
            format_duration(400, Language::Indonesian),
            "kurang dari 1 detik"
        );
        assert_eq!(format_duration(45_000, Language::Indonesian), "45 detik");
        assert_eq!(
            format_duration(200_000, Language::Indonesian),
            "3 menit 20 detik"
        );
        assert_eq!(
            format_duration(3_900_000, Language::Indonesian),
            "1 jam 5 menit"
        );
        assert_eq!(
            format_duration(61_000, Language::English),
            "1 minute 1 second"
        );
        assert_eq!(format_duration(7_200_000, Language::English), "2 hours");
    }
}
