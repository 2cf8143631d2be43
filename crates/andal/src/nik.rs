//! `Nik`: the 16-digit e-KTP number, parsed and validated offline, masked everywhere.
//!
//! Layout: `PP RR DD ddmmyy SSSS`: province, regency/city and district codes where the
//! person was first registered, the birth date (day + 40 for women), and a serial.

use std::fmt;

use crate::region::{CodeStatus, RegionTables};

/// Which part of a NIK is wrong. Never carries the digits themselves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NikError {
    /// Not exactly 16 characters after trimming.
    #[error("NIK must have 16 digits, got {found} characters")]
    Length {
        /// Characters found after trimming.
        found: usize,
    },
    /// A character that is not an ASCII digit (position is 1-based).
    #[error("NIK must contain only digits 0-9 (position {position} is not a digit)")]
    NonDigit {
        /// 1-based position of the first offending character.
        position: usize,
    },
    /// Digits 1-2 are not one of the 38 province codes.
    #[error("NIK province code (digits 1-2) is not a known province")]
    UnknownProvince,
    /// Digits 3-4 are not a regency/city of that province, current or retired.
    #[error("NIK regency code (digits 3-4) is not a known regency or city of its province")]
    UnknownRegency,
    /// Digits 7-8 are not 01-31 or 41-71.
    #[error("NIK birth day (digits 7-8) must be 01-31, or 41-71 for women")]
    BirthDay,
    /// Digits 9-10 are not 01-12.
    #[error("NIK birth month (digits 9-10) must be 01-12")]
    BirthMonth,
    /// Day and month are in range but do not form a calendar date (e.g. 31 April).
    #[error("NIK birth date (digits 7-12) is not a real calendar date")]
    BirthDate,
    /// Digits 13-16 are 0000.
    #[error("NIK serial (digits 13-16) must be 0001-9999")]
    Serial,
}

/// Sex encoded in the NIK's birth day (women: day + 40).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// Day 01-31.
    Male,
    /// Day 41-71.
    Female,
}

/// Whether the district code (digits 5-6) resolved to a name.
///
/// District lists before 2016 are not available, so an unknown district is reported,
/// not rejected.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum District {
    /// Found in the current or retired tables.
    Resolved {
        /// Official name.
        name: &'static str,
        /// Current or retired.
        code_status: CodeStatus,
    },
    /// Not in any table we hold.
    Unresolved,
}

/// The region a NIK was issued in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Region {
    /// Province name.
    pub province: &'static str,
    /// Regency or city name.
    pub regency: &'static str,
    /// Whether the regency code is still in force.
    pub regency_status: CodeStatus,
    /// District, when known.
    pub district: District,
}

/// A structurally valid NIK. `Debug` and `Display` show only a masked form
/// (`3316**********01`); the digits are reachable only through [`Nik::expose_digits`].
///
/// ```
/// use andal::Nik;
/// let nik = Nik::parse(" 3316094507990001 ").unwrap();
/// assert_eq!(nik.to_string(), "3316**********01");
/// assert_eq!(nik.regency_code(), "3316");
/// assert_eq!(nik.sex(), andal::Sex::Female);
/// assert_eq!((nik.birth_day(), nik.birth_month(), nik.birth_year_2()), (5, 7, 99));
/// assert!(Nik::parse("3316094507990000").is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nik {
    digits: [u8; 16],
}

fn two(d: &[u8]) -> u32 {
    u32::from(d[0] - b'0') * 10 + u32::from(d[1] - b'0')
}

fn is_leap(y: u32) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(month: u32, leap: bool) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        _ => 28,
    }
}

impl Nik {
    /// Parse and validate. Surrounding whitespace is trimmed; anything else but 16 ASCII
    /// digits is rejected, as are unknown province/regency codes and impossible dates.
    pub fn parse(input: &str) -> Result<Self, NikError> {
        let s = input.trim();
        let count = s.chars().count();
        if let Some(pos) = s.chars().position(|c| !c.is_ascii_digit())
            && count == 16
        {
            return Err(NikError::NonDigit { position: pos + 1 });
        }
        if count != 16 {
            return Err(NikError::Length { found: count });
        }
        let mut digits = [0u8; 16];
        digits.copy_from_slice(s.as_bytes());
        let nik = Nik { digits };
        nik.validate()?;
        Ok(nik)
    }

    fn validate(&self) -> Result<(), NikError> {
        let t = RegionTables::get();
        match t.province(self.province_code()) {
            Some(p) if p.status == CodeStatus::Current => {}
            _ => return Err(NikError::UnknownProvince),
        }
        if t.regency(&self.dotted_regency()).is_none() {
            return Err(NikError::UnknownRegency);
        }
        let raw_day = two(&self.digits[6..8]);
        let day = match raw_day {
            1..=31 => raw_day,
            41..=71 => raw_day - 40,
            _ => return Err(NikError::BirthDay),
        };
        let month = two(&self.digits[8..10]);
        if !(1..=12).contains(&month) {
            return Err(NikError::BirthMonth);
        }
        // The two-digit year may be 19yy or 20yy: accept 29 February if either is leap.
        let yy = two(&self.digits[10..12]);
        let leap = is_leap(1900 + yy) || is_leap(2000 + yy);
        if day > days_in_month(month, leap) {
            return Err(NikError::BirthDate);
        }
        if &self.digits[12..16] == b"0000" {
            return Err(NikError::Serial);
        }
        Ok(())
    }

    fn part(&self, range: std::ops::Range<usize>) -> &str {
        // Digits are ASCII by construction.
        std::str::from_utf8(&self.digits[range]).unwrap_or("")
    }

    fn dotted_regency(&self) -> String {
        format!("{}.{}", self.part(0..2), self.part(2..4))
    }

    /// The raw 16 digits. Named so that every use is visible in review: pass them only
    /// to the registry or to a digest, never to a log or an error message.
    pub fn expose_digits(&self) -> &str {
        self.part(0..16)
    }

    /// Masked form: first 4 and last 2 digits (`3316**********01`).
    pub fn masked(&self) -> String {
        format!("{}**********{}", self.part(0..4), self.part(14..16))
    }

    /// Province code, digits 1-2 (`"33"`).
    pub fn province_code(&self) -> &str {
        self.part(0..2)
    }

    /// Province + regency/city code, digits 1-4 (`"3316"`).
    pub fn regency_code(&self) -> &str {
        self.part(0..4)
    }

    /// Province + regency + district code, digits 1-6 (`"331609"`).
    pub fn district_code(&self) -> &str {
        self.part(0..6)
    }

    /// Resolve the region names. Province and regency always resolve for a parsed NIK.
    pub fn region(&self) -> Region {
        let t = RegionTables::get();
        let province = t.province(self.province_code()).map_or("", |e| e.name);
        let reg = t.regency(&self.dotted_regency());
        let district = match t.district(&format!(
            "{}.{}.{}",
            self.part(0..2),
            self.part(2..4),
            self.part(4..6)
        )) {
            Some(e) => District::Resolved {
                name: e.name,
                code_status: e.status,
            },
            None => District::Unresolved,
        };
        Region {
            province,
            regency: reg.map_or("", |e| e.name),
            regency_status: reg.map_or(CodeStatus::Current, |e| e.status),
            district,
        }
    }

    /// Sex encoded in the birth day.
    pub fn sex(&self) -> Sex {
        if two(&self.digits[6..8]) > 40 {
            Sex::Female
        } else {
            Sex::Male
        }
    }

    /// Embedded birth day of month (1-31, the +40 for women removed).
    pub fn birth_day(&self) -> u8 {
        let d = two(&self.digits[6..8]);
        (if d > 40 { d - 40 } else { d }) as u8
    }

    /// Embedded birth month (1-12).
    pub fn birth_month(&self) -> u8 {
        two(&self.digits[8..10]) as u8
    }

    /// Embedded two-digit birth year (0-99); the century is not encoded.
    pub fn birth_year_2(&self) -> u8 {
        two(&self.digits[10..12]) as u8
    }

    /// Serial number, 1-9999.
    pub fn serial(&self) -> u16 {
        self.part(12..16).parse().unwrap_or(0)
    }

    /// Whether a full birth date agrees with the one embedded in the NIK. A difference is
    /// not an input error (NIKs are not reissued after corrections).
    pub fn embeds_birth_date(&self, date: time::Date) -> bool {
        u8::from(date.month()) == self.birth_month()
            && date.day() == self.birth_day()
            && (date.year().rem_euclid(100)) as u8 == self.birth_year_2()
    }
}

impl fmt::Debug for Nik {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nik({})", self.masked())
    }
}

impl fmt::Display for Nik {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl std::str::FromStr for Nik {
    type Err = NikError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Nik::parse(s)
    }
}

/// Mask any NIK-like string for display without validating it: keeps the first 4 and
/// last 2 characters of a 16-character string and hides everything else.
pub fn mask_str(raw: &str) -> String {
    let s = raw.trim();
    if s.len() == 16 && s.is_ascii() {
        format!("{}**********{}", &s[..4], &s[14..])
    } else {
        "****************".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_masks() {
        let nik = Nik::parse("3316094507990001").unwrap();
        assert_eq!(format!("{nik:?}"), "Nik(3316**********01)");
        assert_eq!(nik.masked(), "3316**********01");
        assert_eq!(nik.serial(), 1);
        assert_eq!(nik.region().regency, "Kabupaten Blora");
    }

    #[test]
    fn boundaries() {
        // day 31, 41, 71
        assert!(Nik::parse("3316093101900001").is_ok());
        assert!(Nik::parse("3316094101900001").is_ok());
        assert!(Nik::parse("3316097101900001").is_ok());
        assert_eq!(Nik::parse("3316093201900001"), Err(NikError::BirthDay));
        assert_eq!(Nik::parse("3316094001900001"), Err(NikError::BirthDay));
        assert_eq!(Nik::parse("3316097201900001"), Err(NikError::BirthDay));
        assert_eq!(Nik::parse("3316090001900001"), Err(NikError::BirthDay));
        // 29 Feb: 00 (2000 leap), 04 leap, 01 never leap
        assert!(Nik::parse("3316092902000001").is_ok());
        assert!(Nik::parse("3316096902040001").is_ok());
        assert_eq!(Nik::parse("3316092902010001"), Err(NikError::BirthDate));
        assert_eq!(Nik::parse("3316093104900001"), Err(NikError::BirthDate));
        assert_eq!(Nik::parse("3316091513900001"), Err(NikError::BirthMonth));
        assert_eq!(Nik::parse("3316091500900001"), Err(NikError::BirthMonth));
        assert_eq!(Nik::parse("3316091501900000"), Err(NikError::Serial));
        assert!(Nik::parse("3316091501909999").is_ok());
    }

    #[test]
    fn structural_errors() {
        assert_eq!(Nik::parse(""), Err(NikError::Length { found: 0 }));
        assert_eq!(
            Nik::parse("331609150190000"),
            Err(NikError::Length { found: 15 })
        );
        assert_eq!(
            Nik::parse("33160915019000011"),
            Err(NikError::Length { found: 17 })
        );
        assert_eq!(
            Nik::parse("3316-91501900001"),
            Err(NikError::NonDigit { position: 5 })
        );
        assert_eq!(
            Nik::parse("３３16091501900001"),
            Err(NikError::NonDigit { position: 1 })
        );
        assert_eq!(
            Nik::parse("9916091501900001"),
            Err(NikError::UnknownProvince)
        );
        assert_eq!(
            Nik::parse("3399091501900001"),
            Err(NikError::UnknownRegency)
        );
        // Retired Papua code (Merauke before the 2022 split) is still valid.
        assert!(Nik::parse("9101011501900001").is_ok());
    }

    #[test]
    fn errors_never_echo_digits() {
        for bad in ["3316093201900001", "9916091501900001", "331609150190000x"] {
            let e = Nik::parse(bad).unwrap_err();
            let text = format!("{e} {e:?}");
            assert!(!text.contains(&bad[..10]), "{text}");
        }
    }

    #[test]
    fn unresolved_district_is_reported_not_rejected() {
        let nik = Nik::parse("3316991501900001").unwrap();
        assert_eq!(nik.region().district, District::Unresolved);
    }
}
