//! Indonesian region codes (kode wilayah) used to validate the first six digits of a NIK.
//!
//! The tables are embedded copies of `shared/data/wilayah/` (source: the public
//! `cahyadsn/wilayah` repository, MIT licence, following the Kepmendagri decrees on
//! region codes; 2025 edition plus codes retired since 2016). `build.rs` packs them
//! (~250 KB of TSV into ~60 KB: implied levels, shared code prefixes, byte-pair-encoded
//! names); they are unpacked and indexed once, on first use.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The packed tables written by `build.rs` (format described there).
const PACKED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/regions.bin"));

/// The tables as `code\tlevel\tname` lines: [current, retired].
fn unpacked() -> &'static [String; 2] {
    static TEXT: OnceLock<[String; 2]> = OnceLock::new();
    // The input is this crate's own build output, checked against the TSV by a test.
    TEXT.get_or_init(|| unpack(PACKED).expect("region tables packed by build.rs are well-formed"))
}

/// Unpack the `build.rs` format into two TSV texts; `None` on malformed input.
fn unpack(packed: &[u8]) -> Option<[String; 2]> {
    let rest = packed.strip_prefix(b"AWR2")?;
    let (&n, mut rest) = rest.split_first()?;
    let (defs, after) = rest.split_at_checked(usize::from(n) * 3)?;
    rest = after;
    // Expand every token once, in order: a token refers only to literals and earlier tokens.
    let mut expansions: Vec<Option<Vec<u8>>> = vec![None; 256];
    for def in defs.chunks_exact(3) {
        let mut e = Vec::new();
        for &sym in &def[1..] {
            push_symbol(&expansions, sym, &mut e)?;
        }
        expansions[usize::from(def[0])] = Some(e);
    }
    let mut out: [String; 2] = Default::default();
    for text in &mut out {
        let (count, after) = rest.split_first_chunk::<2>()?;
        rest = after;
        let mut prev = [0u8; 3];
        for _ in 0..u16::from_le_bytes(*count) {
            let (&header, after) = rest.split_first()?;
            let (nparts, shared) = (usize::from(header & 3), usize::from(header >> 2 & 3));
            let next = header & 0x10 != 0;
            if header & 0xe0 != 0 || (next && shared + 1 != nparts) {
                return None;
            }
            let level = ["", "province", "regency", "district"]
                .get(nparts)
                .filter(|_| shared < nparts && nparts > 0)?;
            let after = if next {
                prev[shared] += 1;
                after
            } else {
                let (own, after) = after.split_at_checked(nparts - shared)?;
                prev[shared..nparts].copy_from_slice(own);
                after
            };
            for (i, part) in prev[..nparts].iter().enumerate() {
                if *part > 99 {
                    return None;
                }
                if i > 0 {
                    text.push('.');
                }
                text.push(char::from(b'0' + part / 10));
                text.push(char::from(b'0' + part % 10));
            }
            text.push('\t');
            text.push_str(level);
            text.push('\t');
            let end = after.iter().position(|&b| b == 0)?;
            let mut name = Vec::with_capacity(end * 2);
            for &sym in &after[..end] {
                push_symbol(&expansions, sym, &mut name)?;
            }
            // Symbols expand to printable ASCII only.
            text.push_str(std::str::from_utf8(&name).ok()?);
            text.push('\n');
            rest = &after[end + 1..];
        }
    }
    rest.is_empty().then_some(out)
}

/// Append what one symbol stands for: a token's expansion, or the byte itself if it is
/// printable ASCII; `None` for anything else.
fn push_symbol(expansions: &[Option<Vec<u8>>], sym: u8, out: &mut Vec<u8>) -> Option<()> {
    match &expansions[usize::from(sym)] {
        Some(e) => out.extend_from_slice(e),
        None if (0x20..0x7f).contains(&sym) => out.push(sym),
        None => return None,
    }
    Some(())
}

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
            let [current, retired] = unpacked();
            t.load(current, CodeStatus::Current);
            t.load(retired, CodeStatus::Retired);
            t
        })
    }

    fn load(&mut self, tsv: &'static str, status: CodeStatus) {
        for line in tsv.lines() {
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

    /// The packed tables hold exactly the code, level and name columns of the TSV sources
    /// (the sources are read here, in the test only; the library embeds the packed form).
    #[test]
    fn packed_tables_match_the_tsv_sources() {
        let sources = [
            include_str!("../data/wilayah/regions-2025.tsv"),
            include_str!("../data/wilayah/regions-retired.tsv"),
        ];
        for (source, unpacked) in sources.iter().zip(unpacked()) {
            let expected: String = source
                .lines()
                .skip(1)
                .map(|l| l.split('\t').take(3).collect::<Vec<_>>().join("\t") + "\n")
                .collect();
            assert_eq!(unpacked, &expected);
        }
        assert!(
            PACKED.len() < 80_000,
            "packed tables grew to {} bytes",
            PACKED.len()
        );
    }

    #[test]
    fn malformed_packed_tables_are_refused_not_panicked_on() {
        assert!(unpack(b"").is_none());
        assert!(unpack(b"AWR2").is_none());
        for cut in (0..600).chain((600..PACKED.len()).step_by(4099)) {
            assert!(unpack(&PACKED[..cut]).is_none());
        }
        let mut bad = PACKED.to_vec();
        bad.push(0);
        assert!(unpack(&bad).is_none());
        // A token that refers to itself (undefined when it is being defined).
        assert!(unpack(b"AWR2\x01\x80\x80\x41\x00\x00\x00\x00").is_none());
        // A name byte that is neither a token nor printable.
        assert!(unpack(b"AWR2\x00\x01\x00\x01\x0b\x01\x00\x00\x00").is_none());
    }
}
