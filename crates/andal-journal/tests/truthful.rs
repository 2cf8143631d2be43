//! Issue 10 §4: recovery tells the truth. A damaged complete last frame is kept
//! in a side file and reported as possibly acknowledged; an emptied file is
//! reported as such; an altered header is corruption, not a wrong key.

mod common;

use andal_journal::format::{FRAME_HEAD_LEN, crc32};
use andal_journal::{
    Journal, JournalError, JournalKey, JournalOptions, TailRecovery, damaged_side_files,
    decode_journal,
};
use common::{frame_ranges, payload};

fn key() -> JournalKey {
    JournalKey::from_bytes([0x42; 32])
}

fn make(n: u64) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.bin");
    let (j, _) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
    for i in 1..=n {
        j.append(&payload(i)).unwrap();
    }
    (dir, path)
}

fn side_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".damaged-"))
        .collect();
    v.sort();
    v
}

#[test]
fn damaged_complete_last_frame_is_kept_in_a_side_file() {
    let (dir, path) = make(4);
    let orig = std::fs::read(&path).unwrap();
    let last = frame_ranges(&orig)[3].clone();
    let mut bytes = orig.clone();
    bytes[last.start + FRAME_HEAD_LEN] ^= 1; // bit rot in an acknowledged record
    std::fs::write(&path, &bytes).unwrap();

    // A read-only decode reports it without moving anything.
    let (recs, rep) = decode_journal(&bytes, &key()).unwrap();
    assert_eq!(recs.len(), 3);
    assert_eq!(
        rep.tail,
        TailRecovery::Damaged {
            offset: last.start as u64,
            bytes: last.len() as u64,
            side_file: None
        }
    );
    assert!(rep.may_have_lost_acknowledged());
    assert!(rep.warnings()[0].contains("may have been an acknowledged record"));

    let (j, rep) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
    assert_eq!(j.len(), 3);
    drop(j);
    let sides = side_files(dir.path());
    assert_eq!(sides.len(), 1, "{sides:?}");
    assert_eq!(std::fs::read(&sides[0]).unwrap(), &bytes[last.clone()]);
    assert!(
        sides[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("j.bin.damaged-")
    );
    match &rep.tail {
        TailRecovery::Damaged {
            side_file: Some(p), ..
        } => assert_eq!(p, &sides[0]),
        t => panic!("{t:?}"),
    }
    let w = rep.warnings();
    assert_eq!(w.len(), 1);
    assert!(w[0].contains(&sides[0].display().to_string()), "{w:?}");
    assert_eq!(damaged_side_files(&path).unwrap(), sides);
    // Reopening the truncated journal is clean.
    let (_j, rep) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
    assert_eq!(rep.tail, TailRecovery::Clean);
    drop(_j);

    // A second damaged frame later never overwrites the first side file.
    let (j, _) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
    j.append(b"again").unwrap();
    drop(j);
    let mut bytes2 = std::fs::read(&path).unwrap();
    let l2 = frame_ranges(&bytes2)[3].clone();
    bytes2[l2.start + FRAME_HEAD_LEN] ^= 1;
    std::fs::write(&path, &bytes2).unwrap();
    Journal::open(&path, &key(), JournalOptions::default()).unwrap();
    let sides = side_files(dir.path());
    assert_eq!(sides.len(), 2, "{sides:?}");
    assert!(
        sides
            .iter()
            .any(|p| std::fs::read(p).unwrap() == bytes[last.clone()])
    );
    assert!(
        sides
            .iter()
            .any(|p| std::fs::read(p).unwrap() == bytes2[l2.clone()])
    );
}

#[test]
fn incomplete_tail_makes_no_side_file() {
    let (dir, path) = make(3);
    let mut bytes = std::fs::read(&path).unwrap();
    let l = frame_ranges(&bytes)[2].clone();
    bytes.truncate(l.end - 5);
    std::fs::write(&path, &bytes).unwrap();
    let (j, rep) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
    assert_eq!(j.len(), 2);
    assert!(side_files(dir.path()).is_empty());
    assert_eq!(
        rep.tail,
        TailRecovery::Incomplete {
            offset: l.start as u64,
            bytes: (l.len() - 5) as u64
        }
    );
    assert!(!rep.may_have_lost_acknowledged());
    assert!(rep.warnings().is_empty());
}

#[test]
fn last_frame_with_damaged_length_field_is_recognised_as_complete() {
    // A length field grown by bit rot makes the last frame look cut short;
    // the remainder still authenticates as the expected record, so it was
    // fully written and may have been acknowledged.
    let (dir, path) = make(3);
    let mut bytes = std::fs::read(&path).unwrap();
    let l = frame_ranges(&bytes)[2].clone();
    bytes[l.start + 2] ^= 0x01; // +65536 to the length
    std::fs::write(&path, &bytes).unwrap();
    let (j, rep) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
    assert_eq!(j.len(), 2);
    assert!(matches!(rep.tail, TailRecovery::Damaged { .. }), "{rep:?}");
    assert_eq!(side_files(dir.path()).len(), 1);
}

#[test]
fn emptied_file_is_not_reported_as_created() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("emptied");
    std::fs::write(&p, b"").unwrap();
    let (_j, rep) = Journal::open(&p, &key(), JournalOptions::default()).unwrap();
    assert!(
        !rep.created,
        "an existing empty file was not created by open"
    );
}

#[test]
fn altered_file_id_with_fixed_crc_is_corrupt_not_wrong_key() {
    let (_d, path) = make(2);
    let mut bytes = std::fs::read(&path).unwrap();
    let hlen = andal_journal::format::HEADER_LEN;
    bytes[14] ^= 0x10; // inside the file id
    let crc = crc32(&bytes[..hlen - 4]);
    bytes[hlen - 4..hlen].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    match Journal::open(&path, &key(), JournalOptions::default()).unwrap_err() {
        JournalError::Corrupt { offset: 0, .. } => {}
        e => panic!("{e:?}"),
    }
    match andal_journal::decode_journal(&bytes, &key()).unwrap_err() {
        JournalError::Corrupt { offset: 0, .. } => {}
        e => panic!("{e:?}"),
    }
}

#[test]
fn altered_key_check_value_is_wrong_key_and_wrong_key_still_is() {
    let (_d, path) = make(1);
    let orig = std::fs::read(&path).unwrap();
    let e = Journal::open(
        &path,
        &JournalKey::from_bytes([1; 32]),
        JournalOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(e, JournalError::WrongKey), "{e:?}");
    // Every single-bit change of the header with the CRC fixed up is a typed
    // error, and never a wrong key unless it touched the KCV itself.
    let hlen = andal_journal::format::HEADER_LEN;
    for i in 0..hlen - 4 {
        let mut bytes = orig.clone();
        bytes[i] ^= 0x04;
        let crc = crc32(&bytes[..hlen - 4]);
        bytes[hlen - 4..hlen].copy_from_slice(&crc.to_le_bytes());
        let e = decode_journal(&bytes, &key()).unwrap_err();
        match (i, &e) {
            (0..8, JournalError::NotAJournal) => {}
            (8..10, JournalError::UnsupportedVersion { .. }) => {}
            (8..10, JournalError::Corrupt { offset: 0, .. }) => {} // became v1 layout
            (10..12, JournalError::UnsupportedAlgorithm { .. }) => {}
            (28..44, JournalError::WrongKey) => {}
            (12..28 | 44.., JournalError::Corrupt { offset: 0, .. }) => {}
            _ => panic!("byte {i}: {e:?}"),
        }
    }
}

#[test]
fn version_1_files_are_still_read_and_appended_to() {
    // tests/data/v1.journal was written by the version-1 code (key 0x42 * 32).
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/v1.journal");
    let orig = std::fs::read(src).unwrap();
    assert_eq!(&orig[8..10], &1u16.to_le_bytes());
    let want: Vec<&[u8]> = vec![b"v1 record one", b"", b"v1 record three"];
    let (recs, rep) = decode_journal(&orig, &key()).unwrap();
    assert_eq!(
        recs.iter().map(|r| &r.payload[..]).collect::<Vec<_>>(),
        want
    );
    assert_eq!(rep.tail, TailRecovery::Clean);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.journal");
    std::fs::write(&path, &orig).unwrap();
    let (j, rep) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
    assert_eq!((rep.records, rep.next_seq), (3, 4));
    assert_eq!(j.append(b"appended by v2 code").unwrap(), 4);
    assert_eq!(j.records().unwrap()[3].payload, b"appended by v2 code");
    drop(j);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..48], &orig[..48], "a v1 header stays v1");
    let (_j, rep) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
    assert_eq!(rep.records, 4);
    drop(_j);

    let e = Journal::open(
        &path,
        &JournalKey::from_bytes([1; 32]),
        JournalOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(e, JournalError::WrongKey), "{e:?}");
}
