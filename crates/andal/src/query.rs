//! The question asked of the registry, and the name normalisation both sides apply.

use std::fmt;

use crate::error::InputError;
use crate::nik::Nik;

/// Maximum accepted length of a name or birth place, in characters.
pub const MAX_NAME_CHARS: usize = 120;

/// What a partner asks: does this NIK belong to a living person with this name and
/// birth date (and, optionally, birth place)?
///
/// `Debug` masks everything personal.
///
/// ```
/// use andal::{Nik, Query};
/// let q = Query::new(
///     Nik::parse("3316094507990001")?,
///     "Hj. Siti  Aminah, S.Pd.",
///     time::macros::date!(1999 - 07 - 05),
/// )?;
/// assert_eq!(q.normalized_name(), "SITI AMINAH");
/// assert!(!format!("{q:?}").contains("AMINAH"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Query {
    nik: Nik,
    full_name: String,
    birth_date: time::Date,
    birth_place: Option<String>,
}

impl Query {
    /// Build a query. The name must not be empty after normalisation.
    pub fn new(
        nik: Nik,
        full_name: impl Into<String>,
        birth_date: time::Date,
    ) -> Result<Self, InputError> {
        let full_name = full_name.into();
        check_text(&full_name, "full_name")?;
        if normalize_name(&full_name).is_empty() {
            return Err(InputError::EmptyField { field: "full_name" });
        }
        Ok(Query {
            nik,
            full_name,
            birth_date,
            birth_place: None,
        })
    }

    /// Parse every part from strings: NIK, name, and a `YYYY-MM-DD` birth date.
    pub fn parse(nik: &str, full_name: &str, birth_date: &str) -> Result<Self, InputError> {
        let nik = Nik::parse(nik)?;
        Query::new(nik, full_name, parse_date(birth_date)?)
    }

    /// Add the birth place (compared after the same normalisation as names).
    pub fn with_birth_place(mut self, place: impl Into<String>) -> Result<Self, InputError> {
        let place = place.into();
        check_text(&place, "birth_place")?;
        self.birth_place = Some(place);
        Ok(self)
    }

    /// The NIK.
    pub fn nik(&self) -> &Nik {
        &self.nik
    }
    /// The name as given.
    pub fn full_name(&self) -> &str {
        &self.full_name
    }
    /// The name after [`normalize_name`].
    pub fn normalized_name(&self) -> String {
        normalize_name(&self.full_name)
    }
    /// The claimed birth date.
    pub fn birth_date(&self) -> time::Date {
        self.birth_date
    }
    /// The claimed birth place, if any.
    pub fn birth_place(&self) -> Option<&str> {
        self.birth_place.as_deref()
    }
    /// Birth date as `YYYY-MM-DD`.
    pub fn birth_date_iso(&self) -> String {
        format_date(self.birth_date)
    }
}

impl fmt::Debug for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Query")
            .field("nik", &self.nik)
            .field("full_name", &"<redacted>")
            .field("birth_date", &"<redacted>")
            .field(
                "birth_place",
                &self.birth_place.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

fn check_text(s: &str, field: &'static str) -> Result<(), InputError> {
    if s.chars().count() > MAX_NAME_CHARS {
        return Err(InputError::TooLong {
            field,
            max: MAX_NAME_CHARS,
        });
    }
    if s.chars().any(char::is_control) {
        return Err(InputError::ControlCharacter { field });
    }
    Ok(())
}

/// Parse a `YYYY-MM-DD` date; the error never echoes the input.
pub fn parse_date(s: &str) -> Result<time::Date, InputError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s.trim(), &fmt).map_err(|_| InputError::BirthDate)
}

/// Format a date as `YYYY-MM-DD`.
pub fn format_date(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Honorifics and religious titles dropped when they lead a name.
const LEADING_TITLES: &[&str] = &[
    "H", "HJ", "HAJI", "HAJJAH", "DR", "DRS", "DRA", "IR", "PROF", "BPK", "BAPAK", "IBU", "SDR",
    "SDRI", "TN", "NY", "NN", "TUAN", "NYONYA", "NONA", "KH", "RA", "RM",
];

/// Normalise a name the way the registry compares them: Unicode NFC first (so `"JOSÉ"`
/// typed precomposed or as `E` + combining acute is the same name), academic degrees after the
/// first comma dropped (`"Budi, S.H."`), uppercase, punctuation (`.`, `'`, `-`, `,`,
/// `` ` ``) turned into spaces, leading honorifics (`H.`, `Hj.`, `Dr.`, `Ir.`, `Bapak`,
/// `Ibu`, ...) dropped, whitespace collapsed.
///
/// ```
/// assert_eq!(andal::normalize_name("  dr. Budi   o'Santoso, S.H., M.Kn."), "BUDI O SANTOSO");
/// assert_eq!(andal::normalize_name("H. Ahmad"), "AHMAD");
/// ```
pub fn normalize_name(raw: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    let composed: String = raw.nfc().collect();
    let before_degrees = composed.split(',').next().unwrap_or("");
    let cleaned: String = before_degrees
        .chars()
        .map(|c| {
            // A mark with no precomposed form stays with its letter (not a word break).
            if is_combining_mark(c) {
                c
            } else if c.is_alphanumeric() {
                c.to_uppercase().next().unwrap_or(c)
            } else {
                ' '
            }
        })
        .collect();
    let mut words: Vec<&str> = cleaned.split_whitespace().collect();
    // Drop leading titles, but never the last remaining word (some names are "Haji").
    while words.len() > 1 && LEADING_TITLES.contains(&words[0]) {
        words.remove(0);
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_rules() {
        assert_eq!(normalize_name("siti aminah"), "SITI AMINAH");
        assert_eq!(normalize_name("Hj.  Siti\tAminah"), "SITI AMINAH");
        assert_eq!(normalize_name("Prof. Dr. Ir. Bambang, M.Sc."), "BAMBANG");
        assert_eq!(normalize_name("Haji"), "HAJI");
        assert_eq!(normalize_name("  ,S.H."), "");
    }

    #[test]
    fn canonically_equivalent_names_normalise_alike() {
        // Precomposed vs decomposed (E + U+0301): one name, one normal form.
        assert_eq!(normalize_name("JOS\u{00c9}"), "JOS\u{00c9}");
        assert_eq!(normalize_name("JOSE\u{0301}"), "JOS\u{00c9}");
        assert_eq!(normalize_name("jose\u{0301} r."), "JOS\u{00c9} R");
        // A mark with no precomposed form is kept, not turned into a word break.
        assert_eq!(normalize_name("Q\u{0307}ori"), "Q\u{0307}ORI");
        // Digests over the normal form agree whichever form the caller typed.
        let salt = [9u8; 16];
        assert_eq!(
            andal_token::field_digest(
                andal_token::Field::Name,
                &salt,
                &normalize_name("Jos\u{e9}")
            ),
            andal_token::field_digest(
                andal_token::Field::Name,
                &salt,
                &normalize_name("Jose\u{301}")
            )
        );
    }

    #[test]
    fn query_rejects_bad_text() {
        let nik = Nik::parse("3316094507990001").unwrap();
        let d = parse_date("1999-07-05").unwrap();
        assert!(matches!(
            Query::new(nik, "   ", d),
            Err(InputError::EmptyField { .. })
        ));
        assert!(matches!(
            Query::new(nik, "A\u{0}B", d),
            Err(InputError::ControlCharacter { .. })
        ));
        assert!(matches!(
            Query::new(nik, "A".repeat(200), d),
            Err(InputError::TooLong { .. })
        ));
        assert!(parse_date("1999-02-30").is_err());
        assert!(parse_date("05-07-1999").is_err());
    }
}
