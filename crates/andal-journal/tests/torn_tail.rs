//! Torn-tail recovery: truncating the file anywhere (and appending junk)
//! yields a prefix of the records, never garbage and never an error once the
//! header is intact.

mod common;

use andal_journal::format::HEADER_LEN;
use andal_journal::{
    Journal, JournalError, JournalKey, JournalOptions, TailRecovery, decode_journal,
};
use common::{frame_ranges, payload};
use proptest::prelude::*;

fn key() -> JournalKey {
    JournalKey::from_bytes([0x11; 32])
}

fn build(payloads: &[Vec<u8>]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let (j, _) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
    for p in payloads {
        j.append(p).unwrap();
    }
    drop(j);
    std::fs::read(&path).unwrap()
}

#[test]
fn truncate_at_every_offset() {
    let payloads: Vec<Vec<u8>> = (1..=6).map(payload).collect();
    let full = build(&payloads);
    let ends: Vec<usize> = frame_ranges(&full).iter().map(|r| r.end).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut");
    for cut in 0..=full.len() {
        let img = &full[..cut];
        let complete = ends.iter().filter(|&&e| e <= cut).count();
        match decode_journal(img, &key()) {
            // An empty image is what `open` initialises in place (reported as `was_empty`).
            Ok((recs, rep)) if cut == 0 => assert!(recs.is_empty() && rep.was_empty),
            Ok((recs, rep)) => {
                assert!(cut >= HEADER_LEN);
                // A cut is always an incomplete frame, never "may have been acknowledged".
                assert!(
                    !matches!(rep.tail, TailRecovery::Damaged { .. }),
                    "cut {cut}: {:?}",
                    rep.tail
                );
                assert_eq!(recs.len(), complete, "cut {cut}");
                for r in &recs {
                    assert_eq!(r.payload, payloads[(r.seq - 1) as usize]);
                }
                let valid = if complete == 0 {
                    HEADER_LEN
                } else {
                    ends[complete - 1]
                };
                assert_eq!(rep.truncated_bytes, (cut - valid) as u64);
            }
            Err(JournalError::NotAJournal | JournalError::Corrupt { offset: 0, .. }) => {
                assert!(cut < HEADER_LEN, "cut {cut}")
            }
            Err(e) => panic!("cut {cut}: {e:?}"),
        }
        // Through the file API too (every 7th offset and every frame boundary ±1).
        if cut >= HEADER_LEN && (cut % 7 == 0 || ends.iter().any(|&e| e.abs_diff(cut) <= 1)) {
            std::fs::write(&path, img).unwrap();
            let (j, rep) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
            assert_eq!(rep.records as usize, complete);
            let seq = j.append(b"after").unwrap();
            assert_eq!(seq as usize, complete + 1);
            let recs = j.records().unwrap();
            assert_eq!(recs.last().unwrap().payload, b"after");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    #[test]
    fn random_cut_and_junk_gives_prefix(
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..16),
        cut_frac in 0.0f64..=1.0,
        junk in prop::collection::vec(any::<u8>(), 0..64),
        zero_junk in any::<bool>(),
    ) {
        let full = build(&payloads);
        let ends: Vec<usize> = frame_ranges(&full).iter().map(|r| r.end).collect();
        let cut = HEADER_LEN + ((full.len() - HEADER_LEN) as f64 * cut_frac) as usize;
        let mut img = full[..cut].to_vec();
        // Junk only after a cut inside the last frame region, like a torn write
        // that left garbage or zeros (junk after a complete valid prefix is a tail too).
        if zero_junk { img.extend(std::iter::repeat_n(0u8, junk.len())) } else { img.extend(&junk) }
        let complete = ends.iter().filter(|&&e| e <= cut).count();

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p");
        std::fs::write(&path, &img).unwrap();
        let (j, rep) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
        // Junk might, with negligible probability, complete a frame; never with a valid AEAD tag.
        prop_assert_eq!(rep.records as usize, complete);
        let recs = j.records().unwrap();
        prop_assert_eq!(recs.len(), complete);
        for r in &recs {
            prop_assert_eq!(&r.payload, &payloads[(r.seq - 1) as usize]);
        }
        prop_assert_eq!(j.append(b"x").unwrap() as usize, complete + 1);
        drop(j);
        let (j, rep) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
        prop_assert_eq!(rep.truncated_bytes, 0);
        prop_assert_eq!(j.len() as usize, complete + 1);
    }
}
