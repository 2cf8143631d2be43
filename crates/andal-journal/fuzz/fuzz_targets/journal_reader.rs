//! Fuzzes the journal reader (`decode_journal`, the same scan `Journal::open`
//! runs). Invariants: never panics, never loops, and whatever it returns is a
//! consistent prefix (contiguous sequence numbers starting at 1).
//!
//! Input byte 0 selects the mode:
//! * even: the input (minus that byte) is the whole file image, header included;
//! * odd:  a valid header and a few valid frames (built with the fixed key) are
//!   prepended, so the fuzzer spends its time on frame parsing and recovery,
//!   including the "is this a torn tail or corruption?" resynchronisation scan.
#![no_main]

use std::sync::OnceLock;

use andal_journal::{Journal, JournalKey, JournalOptions, TailRecovery, decode_journal};
use libfuzzer_sys::fuzz_target;

fn key() -> JournalKey {
    JournalKey::from_bytes([0x5A; 32])
}

/// A small valid journal image built once through the real writer.
fn seed_image() -> &'static [u8] {
    static IMG: OnceLock<Vec<u8>> = OnceLock::new();
    IMG.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("andal-journal-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("seed.journal");
        let _ = std::fs::remove_file(&path);
        let (j, _) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
        for p in [&b"first"[..], b"", b"third record"] {
            j.append(p).unwrap();
        }
        drop(j);
        let img = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        img
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let owned;
    let image: &[u8] = if mode % 2 == 0 {
        rest
    } else {
        let seed = seed_image();
        // The seed's header plus the first `(mode / 2) * 7` bytes of its
        // frames, then the fuzzer's bytes.
        let keep = (andal_journal::format::HEADER_LEN + (mode as usize / 2) * 7).min(seed.len());
        owned = [&seed[..keep], rest].concat();
        &owned
    };
    if let Ok((records, report)) = decode_journal(image, &key()) {
        assert_eq!(records.len() as u64, report.records);
        assert_eq!(report.next_seq, report.records + 1);
        for (i, r) in records.iter().enumerate() {
            assert_eq!(r.seq, i as u64 + 1);
        }
        assert!(report.truncated_bytes as usize <= image.len());
        match &report.tail {
            TailRecovery::Clean => assert_eq!(report.truncated_bytes, 0),
            TailRecovery::Incomplete { offset, bytes }
            | TailRecovery::Damaged { offset, bytes, .. } => {
                assert_eq!(*bytes, report.truncated_bytes);
                assert_eq!(*offset + *bytes, image.len() as u64);
            }
            _ => {}
        }
        assert_eq!(report.was_empty, image.is_empty());
    }
});
