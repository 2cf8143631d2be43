//! Packs the region tables (`data/wilayah/*.tsv`, ~250 KB of text) into a compact binary
//! (~60 KB) that `src/region/packed.rs` unpacks on first use. The TSV stays the reviewed
//! source of truth; the binary is rebuilt whenever it changes. Format (all bytes):
//!
//! ```text
//! "AWR2"  magic
//! u8 N    number of pair tokens; then N × (token, left, right) symbols
//! 2 × table (current, retired):
//!   u16 LE record count
//!   record: header (bits 0-1: code parts 1-3; bits 2-3: leading parts shared with the
//!           previous record's code; bit 4: the one own part is the previous record's
//!           last part + 1, and is not stored), the remaining parts (one byte each,
//!           0-99), then the name as symbols, ended by 0x00
//! ```
//!
//! A symbol defined as a token expands to its two symbols (defined earlier); any other
//! symbol is a printable ASCII byte. Token ids are the byte values no name uses (byte-pair
//! encoding: the names share many syllables and words such as
//! "Kabupaten ", " Selatan", "Sungai"). Level is implied by the number of code parts
//! (province 1, regency 2, district 3). The retired table's edition columns are not used
//! by the library and are not packed.

use std::collections::HashMap;
use std::path::Path;
use std::{env, fs};

const TABLES: [&str; 2] = [
    "data/wilayah/regions-2025.tsv",
    "data/wilayah/regions-retired.tsv",
];

struct Row {
    parts: Vec<u8>,
    name: Vec<u8>,
}

fn main() {
    let mut tables: Vec<Vec<Row>> = Vec::new();
    for path in TABLES {
        println!("cargo:rerun-if-changed={path}");
        let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut rows = Vec::new();
        for (i, line) in text.lines().enumerate().skip(1) {
            let cols: Vec<&str> = line.split('\t').collect();
            assert!(cols.len() >= 3, "{path}:{}: fewer than 3 columns", i + 1);
            let parts: Vec<u8> = cols[0]
                .split('.')
                .map(|p| {
                    assert!(
                        p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()),
                        "{path}:{}: code part {p:?} is not two digits",
                        i + 1
                    );
                    p.parse().unwrap()
                })
                .collect();
            let level = match parts.len() {
                1 => "province",
                2 => "regency",
                3 => "district",
                n => panic!("{path}:{}: {n} code parts", i + 1),
            };
            assert_eq!(
                cols[1],
                level,
                "{path}:{}: level does not match the code",
                i + 1
            );
            let name = cols[2];
            assert!(
                !name.is_empty() && name.bytes().all(|b| (0x20..0x7f).contains(&b)),
                "{path}:{}: name must be printable ASCII",
                i + 1
            );
            rows.push(Row {
                parts,
                name: name.bytes().collect(),
            });
        }
        assert!(rows.len() <= usize::from(u16::MAX));
        tables.push(rows);
    }

    let tokens = learn_pairs(&mut tables);

    let mut out = b"AWR2".to_vec();
    out.push(tokens.len() as u8);
    for (id, (l, r)) in &tokens {
        out.extend([*id, *l, *r]);
    }
    for rows in &tables {
        out.extend_from_slice(&(rows.len() as u16).to_le_bytes());
        let mut prev: &[u8] = &[];
        for row in rows {
            let shared = row
                .parts
                .iter()
                .zip(prev)
                .take(row.parts.len() - 1)
                .take_while(|(a, b)| a == b)
                .count();
            let next = shared + 1 == row.parts.len()
                && prev.len() == row.parts.len()
                && prev[shared].checked_add(1) == Some(row.parts[shared]);
            out.push(row.parts.len() as u8 | (shared as u8) << 2 | u8::from(next) << 4);
            if !next {
                out.extend_from_slice(&row.parts[shared..]);
            }
            out.extend(&row.name);
            out.push(0);
            prev = &row.parts;
        }
    }
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("regions.bin");
    fs::write(dest, out).unwrap();
}

/// Byte-pair encoding over all names: repeatedly replace the most frequent adjacent pair of
/// symbols by a new symbol, taken from the byte values no name uses (not 0, the name
/// terminator). Deterministic: ties go to the smallest pair.
fn learn_pairs(tables: &mut [Vec<Row>]) -> Vec<(u8, (u8, u8))> {
    let mut used = [false; 256];
    used[0] = true;
    for row in tables.iter().flatten() {
        for &b in &row.name {
            used[usize::from(b)] = true;
        }
    }
    let mut free = (0..=255u8).filter(|&b| !used[usize::from(b)]);
    let mut tokens = Vec::new();
    loop {
        let mut counts: HashMap<(u8, u8), usize> = HashMap::new();
        for row in tables.iter().flatten() {
            for w in row.name.windows(2) {
                *counts.entry((w[0], w[1])).or_default() += 1;
            }
        }
        let Some((&pair, &count)) = counts
            .iter()
            .max_by(|(pa, ca), (pb, cb)| ca.cmp(cb).then(pb.cmp(pa)))
        else {
            break;
        };
        if count < 3 {
            break;
        }
        let Some(sym) = free.next() else { break };
        tokens.push((sym, pair));
        for row in tables.iter_mut().flatten() {
            let mut merged = Vec::with_capacity(row.name.len());
            let mut i = 0;
            while i < row.name.len() {
                if i + 1 < row.name.len() && (row.name[i], row.name[i + 1]) == pair {
                    merged.push(sym);
                    i += 2;
                } else {
                    merged.push(row.name[i]);
                    i += 1;
                }
            }
            row.name = merged;
        }
    }
    tokens
}
