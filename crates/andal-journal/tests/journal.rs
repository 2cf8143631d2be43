//! Functional tests: round trip, reopen, keys, tampering, reordering, limits.

mod common;

use std::sync::Arc;

use andal_journal::format::{CRC_LEN, FRAME_HEAD_LEN, HEADER_LEN, MAX_PAYLOAD_LIMIT, crc32};
use andal_journal::{Journal, JournalError, JournalKey, JournalOptions, decode_journal};
use common::{fix_crc, frame_ranges, payload};

fn key() -> JournalKey {
    JournalKey::from_bytes([0x42; 32])
}

fn make(n: u64, opts: JournalOptions) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.bin");
    let (j, _) = Journal::open(&path, &key(), opts).unwrap();
    for i in 1..=n {
        assert_eq!(j.append(&payload(i)).unwrap(), i);
    }
    (dir, path)
}

fn payloads(j: &Journal) -> Vec<Vec<u8>> {
    j.records()
        .unwrap()
        .into_iter()
        .map(|r| r.payload)
        .collect()
}

#[test]
fn journal_is_send_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Journal>();
    assert_send_sync::<JournalKey>();
    assert_send_sync::<JournalError>();
}

#[test]
fn round_trip_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.bin");
    let (j, rep) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
    assert!(rep.created);
    assert_eq!((rep.records, rep.truncated_bytes, rep.next_seq), (0, 0, 1));
    assert!(j.is_empty());
    assert_eq!(j.last_seq(), None);
    assert_eq!(j.append(b"").unwrap(), 1);
    assert_eq!(j.append(b"hello").unwrap(), 2);
    let big = vec![0xAB; andal_journal::DEFAULT_MAX_PAYLOAD];
    assert_eq!(j.append(&big).unwrap(), 3);
    assert_eq!(j.len(), 3);
    assert_eq!(
        payloads(&j),
        vec![b"".to_vec(), b"hello".to_vec(), big.clone()]
    );
    let recs = j.records_from(2).unwrap();
    assert_eq!(recs.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![2, 3]);
    drop(j);

    let (j, rep) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
    assert!(!rep.created);
    assert_eq!((rep.records, rep.truncated_bytes, rep.next_seq), (3, 0, 4));
    assert_eq!(j.last_seq(), Some(3));
    assert_eq!(j.append(b"after reopen").unwrap(), 4);
    drop(j);
    let (j, _) =
        Journal::open(&path, &key(), JournalOptions::default().group_commit(true)).unwrap();
    assert_eq!(payloads(&j)[3], b"after reopen");
    assert_eq!(j.len(), 4);
}

#[test]
fn ciphertext_does_not_contain_plaintext() {
    let (_d, path) = make(0, JournalOptions::default());
    let (j, _) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
    j.append(b"NIK 3316011204870002 SITI AMINAH").unwrap();
    j.append(b"NIK 3316011204870002 SITI AMINAH").unwrap();
    drop(j);
    let bytes = std::fs::read(&path).unwrap();
    assert!(!bytes.windows(4).any(|w| w == b"SITI"));
    // Same plaintext twice -> different ciphertexts (random nonces).
    let fr = frame_ranges(&bytes);
    assert_ne!(
        bytes[fr[0].start + 12..fr[0].end],
        bytes[fr[1].start + 12..fr[1].end]
    );
}

#[test]
fn wrong_key_is_typed_error() {
    let (_d, path) = make(3, JournalOptions::default());
    let err = Journal::open(
        &path,
        &JournalKey::from_bytes([0x43; 32]),
        JournalOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, JournalError::WrongKey), "{err:?}");
}

#[test]
fn not_a_journal_and_unsupported_version() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x");
    std::fs::write(
        &p,
        b"definitely not a journal file at all, no sir.............",
    )
    .unwrap();
    assert!(matches!(
        Journal::open(&p, &key(), JournalOptions::default()).unwrap_err(),
        JournalError::NotAJournal
    ));

    let (_d, path) = make(1, JournalOptions::default());
    let mut bytes = std::fs::read(&path).unwrap();
    // Version 2 (80-byte header with MAC) is written; 3 is unknown.
    bytes[8..10].copy_from_slice(&3u16.to_le_bytes());
    let crc = crc32(&bytes[..HEADER_LEN - 4]);
    bytes[HEADER_LEN - 4..HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    match Journal::open(&path, &key(), JournalOptions::default()).unwrap_err() {
        JournalError::UnsupportedVersion {
            found: 3,
            supported: 2,
        } => {}
        e => panic!("{e:?}"),
    }
    // Header byte flipped without fixing the CRC: corrupt at offset 0.
    bytes[8..10].copy_from_slice(&2u16.to_le_bytes());
    bytes[20] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        Journal::open(&path, &key(), JournalOptions::default()).unwrap_err(),
        JournalError::Corrupt { offset: 0, .. }
    ));
}

#[test]
fn empty_existing_file_is_initialised_and_missing_file_without_create_fails() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("empty");
    std::fs::write(&p, b"").unwrap();
    let (j, rep) = Journal::open(&p, &key(), JournalOptions::default()).unwrap();
    // Issue 10 §4: an emptied file is reported as such, not as newly created.
    assert!(!rep.created);
    assert!(rep.was_empty);
    assert!(rep.may_have_lost_acknowledged());
    j.append(b"x").unwrap();
    let e = Journal::open(
        dir.path().join("missing"),
        &key(),
        JournalOptions::default().create(false),
    )
    .unwrap_err();
    assert!(matches!(e, JournalError::Io(ref io) if io.kind() == std::io::ErrorKind::NotFound));
}

#[test]
fn payload_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (j, _) = Journal::open(
        dir.path().join("j"),
        &key(),
        JournalOptions::default().max_payload(10),
    )
    .unwrap();
    j.append(&[1; 10]).unwrap();
    match j.append(&[1; 11]).unwrap_err() {
        JournalError::PayloadTooLarge { len: 11, max: 10 } => {}
        e => panic!("{e:?}"),
    }
    assert!(j.append_batch(&[b"ok", &[0; 11]]).is_err());
    assert_eq!(j.len(), 1);
    assert_eq!(j.append(b"next").unwrap(), 2);
    let e = Journal::open(
        dir.path().join("k"),
        &key(),
        JournalOptions::default().max_payload(MAX_PAYLOAD_LIMIT + 1),
    )
    .unwrap_err();
    assert!(matches!(e, JournalError::InvalidOptions(_)));
}

#[test]
fn second_open_is_locked() {
    let (_d, path) = make(1, JournalOptions::default());
    let (_j, _) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
    assert!(matches!(
        Journal::open(&path, &key(), JournalOptions::default()).unwrap_err(),
        JournalError::Locked
    ));
}

#[test]
fn tampered_byte_in_middle_is_corrupt() {
    let (_d, path) = make(5, JournalOptions::default());
    let orig = std::fs::read(&path).unwrap();
    let fr = frame_ranges(&orig);
    assert_eq!(fr.len(), 5);
    // Every byte of frame 2 (of 5), without fixing the checksum.
    for i in fr[2].clone() {
        let mut bytes = orig.clone();
        bytes[i] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();
        match Journal::open(&path, &key(), JournalOptions::default()) {
            Err(JournalError::Corrupt { offset, .. }) => assert_eq!(offset, fr[2].start as u64),
            other => panic!("byte {i}: {other:?}"),
        }
    }
    // Ciphertext byte flipped and CRC recomputed: authentication catches it.
    let mut bytes = orig.clone();
    bytes[fr[1].start + FRAME_HEAD_LEN + 1] ^= 0x80;
    fix_crc(&mut bytes, fr[1].clone());
    std::fs::write(&path, &bytes).unwrap();
    match Journal::open(&path, &key(), JournalOptions::default()) {
        Err(JournalError::Corrupt { offset, reason }) => {
            assert_eq!(offset, fr[1].start as u64);
            assert!(reason.contains("authentication"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn last_frame_checksum_failure_is_torn_but_authentic_failure_is_corrupt() {
    let (_d, path) = make(4, JournalOptions::default());
    let orig = std::fs::read(&path).unwrap();
    let fr = frame_ranges(&orig);
    let last = fr[3].clone();

    let mut bytes = orig.clone();
    bytes[last.start + FRAME_HEAD_LEN] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let (j, rep) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
    assert_eq!(rep.records, 3);
    assert_eq!(rep.truncated_bytes, last.len() as u64);
    assert_eq!(payloads(&j), (1..=3).map(payload).collect::<Vec<_>>());
    assert_eq!(std::fs::metadata(&path).unwrap().len(), last.start as u64);
    // Issue 10 §4: a complete frame failing its CRC may have been acknowledged:
    // still truncated (it cannot be read), but kept in a side file and reported.
    match &rep.tail {
        andal_journal::TailRecovery::Damaged {
            offset,
            bytes: n,
            side_file: Some(side),
        } => {
            assert_eq!((*offset, *n), (last.start as u64, last.len() as u64));
            assert_eq!(std::fs::read(side).unwrap(), &bytes[last.clone()]);
        }
        t => panic!("{t:?}"),
    }
    assert!(rep.may_have_lost_acknowledged());
    drop(j);

    let mut bytes = orig.clone();
    bytes[last.start + FRAME_HEAD_LEN] ^= 1;
    fix_crc(&mut bytes, last.clone());
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        Journal::open(&path, &key(), JournalOptions::default()).unwrap_err(),
        JournalError::Corrupt { .. }
    ));
}

#[test]
fn zero_filled_and_garbage_tails_are_truncated() {
    for tail in [
        vec![0u8; 4096],
        vec![0xFF; 7],
        (0..500u32).map(|i| (i * 7919 % 251) as u8).collect(),
    ] {
        let (_d, path) = make(3, JournalOptions::default());
        let mut bytes = std::fs::read(&path).unwrap();
        let good = bytes.len();
        bytes.extend_from_slice(&tail);
        std::fs::write(&path, &bytes).unwrap();
        let (j, rep) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
        assert_eq!(rep.records, 3);
        assert_eq!(rep.truncated_bytes, tail.len() as u64);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), good as u64);
        assert_eq!(j.append(b"more").unwrap(), 4);
    }
}

#[test]
fn bad_length_field_in_middle_is_corrupt_not_truncated() {
    // A damaged length that makes a middle frame look like it runs past EOF
    // must not be mistaken for a torn tail (that would drop acknowledged records).
    let (_d, path) = make(5, JournalOptions::default());
    let mut bytes = std::fs::read(&path).unwrap();
    let fr = frame_ranges(&bytes);
    bytes[fr[1].start..fr[1].start + 4].copy_from_slice(&1_000_000u32.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    match Journal::open(&path, &key(), JournalOptions::default()).unwrap_err() {
        JournalError::Corrupt { offset, .. } => assert_eq!(offset, fr[1].start as u64),
        e => panic!("{e:?}"),
    }
}

/// Builds a journal whose records all have the same length, so frames can be swapped.
fn make_equal(n: u64) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eq");
    let (j, _) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
    for i in 1..=n {
        j.append(format!("decision-{i:04}").as_bytes()).unwrap();
    }
    (dir, path)
}

#[test]
fn frames_cannot_be_swapped() {
    let (_d, path) = make_equal(4);
    let orig = std::fs::read(&path).unwrap();
    let fr = frame_ranges(&orig);
    let (a, b) = (fr[1].clone(), fr[2].clone());
    assert_eq!(a.len(), b.len());

    // Plain swap: sequence numbers out of order.
    let mut bytes = orig.clone();
    let fa = orig[a.clone()].to_vec();
    let fb = orig[b.clone()].to_vec();
    bytes[a.clone()].copy_from_slice(&fb);
    bytes[b.clone()].copy_from_slice(&fa);
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        Journal::open(&path, &key(), JournalOptions::default()).unwrap_err(),
        JournalError::Corrupt { .. }
    ));

    // Swap and rewrite the sequence fields (and CRCs) to match the positions:
    // the AAD binds the sequence number, so authentication fails.
    bytes[a.start + 4..a.start + 12].copy_from_slice(&2u64.to_le_bytes());
    bytes[b.start + 4..b.start + 12].copy_from_slice(&3u64.to_le_bytes());
    fix_crc(&mut bytes, a.clone());
    fix_crc(&mut bytes, b.clone());
    std::fs::write(&path, &bytes).unwrap();
    match Journal::open(&path, &key(), JournalOptions::default()).unwrap_err() {
        JournalError::Corrupt { offset, reason } => {
            assert_eq!(offset, a.start as u64);
            assert!(reason.contains("authentication"));
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn frames_cannot_be_moved_between_files_or_duplicated() {
    let (_d1, p1) = make_equal(3);
    let (_d2, p2) = make_equal(3);
    let b1 = std::fs::read(&p1).unwrap();
    let mut b2 = std::fs::read(&p2).unwrap();
    let fr = frame_ranges(&b1);
    // Same key, same position and seq, other file: file id in AAD/key derivation.
    b2[fr[1].clone()].copy_from_slice(&b1[fr[1].clone()]);
    std::fs::write(&p2, &b2).unwrap();
    assert!(matches!(
        Journal::open(&p2, &key(), JournalOptions::default()).unwrap_err(),
        JournalError::Corrupt { .. }
    ));
    // Duplicating (replaying) a frame at the end of its own file.
    let mut b1d = b1.clone();
    b1d.extend_from_slice(&b1[fr[0].clone()]);
    std::fs::write(&p1, &b1d).unwrap();
    assert!(matches!(
        Journal::open(&p1, &key(), JournalOptions::default()).unwrap_err(),
        JournalError::Corrupt { .. }
    ));
}

#[test]
fn records_detects_modification_after_open() {
    let (_d, path) = make(3, JournalOptions::default());
    let (j, _) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let fr = frame_ranges(&bytes);
    bytes[fr[1].start + FRAME_HEAD_LEN] ^= 4;
    fix_crc(&mut bytes, fr[1].clone());
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        j.records().unwrap_err(),
        JournalError::Corrupt { .. }
    ));
}

#[test]
fn group_commit_many_threads() {
    for group in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g");
        let (j, _) =
            Journal::open(&path, &key(), JournalOptions::default().group_commit(group)).unwrap();
        let j = Arc::new(j);
        let threads: Vec<_> = (0..8u64)
            .map(|t| {
                let j = j.clone();
                std::thread::spawn(move || {
                    (0..40u64)
                        .map(|i| {
                            let p = payload(t * 1000 + i);
                            (j.append(&p).unwrap(), p)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut acked: Vec<(u64, Vec<u8>)> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        acked.sort();
        assert_eq!(
            acked.iter().map(|a| a.0).collect::<Vec<_>>(),
            (1..=320).collect::<Vec<_>>()
        );
        let recs = j.records().unwrap();
        assert_eq!(recs.len(), 320);
        for (r, (seq, p)) in recs.iter().zip(&acked) {
            assert_eq!((&r.seq, &r.payload), (seq, p));
        }
        drop(recs);
        drop(j);
        let (j, rep) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
        assert_eq!(rep.records, 320);
        assert_eq!(j.len(), 320);
    }
}

#[test]
fn append_batch_assigns_consecutive_seqs() {
    for group in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let (j, _) = Journal::open(
            dir.path().join("b"),
            &key(),
            JournalOptions::default().group_commit(group),
        )
        .unwrap();
        j.append(b"a").unwrap();
        assert_eq!(j.append_batch(&[b"b", b"c", b"d"]).unwrap(), 2..5);
        assert_eq!(j.append_batch(&[]).unwrap(), 5..5);
        assert_eq!(j.append(b"e").unwrap(), 5);
        assert_eq!(
            payloads(&j),
            vec![
                b"a".to_vec(),
                b"b".to_vec(),
                b"c".to_vec(),
                b"d".to_vec(),
                b"e".to_vec()
            ]
        );
    }
}

#[test]
fn debug_and_errors_never_show_secrets_or_payloads() {
    let k = JournalKey::from_bytes([0x5A; 32]);
    let dbg = format!("{k:?}");
    assert!(dbg.contains("redacted") && !dbg.contains("90") && !dbg.contains("5a"));
    let (_d, path) = make(0, JournalOptions::default());
    let (j, _) = Journal::open(&path, &key(), JournalOptions::default().max_payload(8)).unwrap();
    j.append(b"SECRET").unwrap();
    let rec = &j.records().unwrap()[0];
    assert!(!format!("{rec:?}").contains("SECRET"));
    let e = j.append(b"SECRET-NIK-3316011204870002").unwrap_err();
    assert!(!e.to_string().contains("SECRET"));
    assert!(!format!("{j:?}").contains("SECRET"));
    assert!(JournalKey::from_slice(&[0; 31]).is_err());
    assert!(JournalKey::from_slice(&[0; 32]).is_ok());
}

#[test]
fn decode_journal_reads_a_copy() {
    let (_d, path) = make(4, JournalOptions::default());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.truncate(bytes.len() - 3);
    let (recs, rep) = decode_journal(&bytes, &key()).unwrap();
    assert_eq!(recs.len(), 3);
    assert_eq!(rep.records, 3);
    assert!(rep.truncated_bytes > 0);
    assert_eq!(recs[2].payload, payload(3));
    let _ = (HEADER_LEN, CRC_LEN);
}
