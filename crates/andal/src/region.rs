//! Indonesian region codes (kode wilayah) used to validate the first six digits of a NIK.
//!
//! The tables are embedded copies of `shared/data/wilayah/` (source: the public
//! `cahyadsn/wilayah` repository, MIT licence, following the Kepmendagri decrees on
//! region codes; 2025 edition plus codes retired since 2016). They are parsed once,
//! on first use.

use std::collections::HashMap;
use std::sync::OnceLock;

const CURRENT: &str = include_str!("../data/wilayah/regions-2025.tsv");
const RETIRED: &str = include_str!("../data/wilayah/regions-retired.tsv");

/// Whether a code is in force or was retired (a NIK keeps the code it was issued under).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CodeStatus {
    /// In the 2025 edition.
    Current,
    /// Seen in an earlier edition (2016-2023) but no longer in force.
    Retired,
}

/// One entry of the region tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionEntry {
    /// Official name ("Kabupaten Blora").
    pub name: &'static str,
    /// Current or retired.
    pub status: CodeStatus,
}

/// The embedded region tables, keyed by dotted code (`33`, `33.16`, `33.16.09`).
#[derive(Debug)]
pub struct RegionTables {
    provinces: HashMap<&'static str, RegionEntry>,
    regencies: HashMap<&'static str, RegionEntry>,
    districts: HashMap<&'static str, RegionEntry>,
}

impl RegionTables {
    /// The process-wide tables (parsed once).
    pub fn get() -> &'static RegionTables {
        static TABLES: OnceLock<RegionTables> = OnceLock::new();
        TABLES.get_or_init(|| {
            let mut t = RegionTables {
                provinces: HashMap::with_capacity(40),
                regencies: HashMap::with_capacity(560),
                districts: HashMap::with_capacity(8000),
            };
            t.load(CURRENT, CodeStatus::Current);
            t.load(RETIRED, CodeStatus::Retired);
            t
        })
    }

    fn load(&mut self, tsv: &'static str, status: CodeStatus) {
        for line in tsv.lines().skip(1) {
            let mut cols = line.split('\t');
            let (Some(code), Some(level), Some(name)) = (cols.next(), cols.next(), cols.next())
            else {
                continue;
            };
            let map = match level {
                "province" => &mut self.provinces,
                "regency" => &mut self.regencies,
                "district" => &mut self.districts,
                _ => continue,
            };
            // A code in force wins over the same code in the retired table.
            map.entry(code).or_insert(RegionEntry { name, status });
        }
    }

    /// Province by two-digit code (`"33"`).
    pub fn province(&self, code: &str) -> Option<RegionEntry> {
        self.provinces.get(code).copied()
    }

    /// Regency/city by dotted code (`"33.16"`).
    pub fn regency(&self, code: &str) -> Option<RegionEntry> {
        self.regencies.get(code).copied()
    }

    /// District by dotted code (`"33.16.09"`).
    pub fn district(&self, code: &str) -> Option<RegionEntry> {
        self.districts.get(code).copied()
    }

    /// All regency codes in force, sorted (used by the sandbox's synthetic registry).
    pub fn current_regencies(&self) -> Vec<&'static str> {
        let mut v: Vec<_> = self
            .regencies
            .iter()
            .filter(|(_, e)| e.status == CodeStatus::Current)
            .map(|(c, _)| *c)
            .collect();
        v.sort_unstable();
        v
    }

    /// District codes in force under a regency (`"33.16"`), sorted.
    pub fn current_districts_of(&self, regency: &str) -> Vec<&'static str> {
        let mut v: Vec<_> = self
            .districts
            .iter()
            .filter(|(c, e)| {
                e.status == CodeStatus::Current
                    && c.len() == regency.len() + 3
                    && c.starts_with(regency)
                    && c.as_bytes()[regency.len()] == b'.'
            })
            .map(|(c, _)| *c)
            .collect();
        v.sort_unstable();
        v
    }

    /// Number of province codes in force.
    pub fn province_count(&self) -> usize {
        self.provinces.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_load_expected_counts() {
        let t = RegionTables::get();
        assert_eq!(t.province_count(), 38);
        assert_eq!(t.regency("33.16").unwrap().name, "Kabupaten Blora");
        // Merauke's pre-2022 code survives as retired.
        assert_eq!(t.regency("91.01").unwrap().status, CodeStatus::Retired);
        assert_eq!(t.current_regencies().len(), 514);
        assert!(!t.current_districts_of("33.16").is_empty());
    }
}
