//! Offline NIK parsing and name normalisation.

use crate::error::AndalError;
use crate::guard;

/// Sex encoded in the NIK's birth day (women: day + 40).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Sex {
    /// Day 01-31.
    Male,
    /// Day 41-71.
    Female,
}

/// What a structurally valid NIK says, without its digits: the masked form and the
/// decoded parts. Safe to log.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NikInfo {
    /// Masked form, first 4 and last 2 digits (`3316**********01`).
    pub masked: String,
    /// Province code, digits 1-2 (`33`).
    pub province_code: String,
    /// Province + regency/city code, digits 1-4 (`3316`).
    pub regency_code: String,
    /// Province + regency + district code, digits 1-6 (`331609`).
    pub district_code: String,
    /// Province name.
    pub province: String,
    /// Regency or city name.
    pub regency: String,
    /// Whether the regency code is retired (valid on old cards, no longer issued).
    pub regency_retired: bool,
    /// District name, when the tables know the code.
    pub district: Option<String>,
    /// Sex encoded in the birth day.
    pub sex: Sex,
    /// Embedded birth day of month (1-31).
    pub birth_day: u8,
    /// Embedded birth month (1-12).
    pub birth_month: u8,
    /// Embedded two-digit birth year (0-99).
    pub birth_year_2: u8,
    /// Serial number, 1-9999.
    pub serial: u16,
}

impl From<&andal::Nik> for NikInfo {
    fn from(n: &andal::Nik) -> Self {
        let region = n.region();
        let district = match region.district {
            andal::District::Resolved { name, .. } => Some(name.to_owned()),
            _ => None,
        };
        NikInfo {
            masked: n.masked(),
            province_code: n.province_code().to_owned(),
            regency_code: n.regency_code().to_owned(),
            district_code: n.district_code().to_owned(),
            province: region.province.to_owned(),
            regency: region.regency.to_owned(),
            regency_retired: matches!(region.regency_status, andal::region::CodeStatus::Retired),
            district,
            sex: match n.sex() {
                andal::Sex::Male => Sex::Male,
                andal::Sex::Female => Sex::Female,
            },
            birth_day: n.birth_day(),
            birth_month: n.birth_month(),
            birth_year_2: n.birth_year_2(),
            serial: n.serial(),
        }
    }
}

/// Parse and validate a NIK offline (16 digits, known province and regency, real birth
/// date, serial). Throws `InvalidInput` naming the wrong part, never echoing the digits.
#[uniffi::export]
pub fn parse_nik(nik: String) -> Result<NikInfo, AndalError> {
    guard("parse_nik", || {
        let n = andal::Nik::parse(&nik)?;
        Ok(NikInfo::from(&n))
    })
}

/// Normalise a name the way the registry compares them (`"Hj. Siti  Aminah, S.Pd."` ->
/// `"SITI AMINAH"`).
#[uniffi::export]
pub fn normalize_name(name: String) -> String {
    guard("normalize_name", || Ok(andal::normalize_name(&name))).unwrap_or_default()
}
