//! Issue 10 §4: `andal journal` says when a record may have been lost: a damaged last
//! record (still in the file, or moved to a side file by an earlier open) or an emptied
//! journal file. Text mode prints `warning:` lines; `--json` keeps stdout one JSON document
//! and puts the warnings on stderr.

use std::path::Path;
use std::process::{Command, Output};

const KEY: [u8; 32] = [0x31; 32];

fn andal_journal(journal: &Path, key_file: &Path, json: bool) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_andal"));
    cmd.args(["journal", "--journal"])
        .arg(journal)
        .arg("--key-file")
        .arg(key_file);
    if json {
        cmd.arg("--json");
    }
    cmd.output().expect("run andal")
}

fn setup() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("journal.key");
    let hex: String = KEY.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(&key_file, hex).unwrap();
    let journal = dir.path().join("offline.journal");
    (dir, journal, key_file)
}

/// A journal created by the client (header only, no records).
fn create_journal(path: &Path) {
    let client = andal::Client::builder("https://registry.example")
        .partner_id("bank-a")
        .api_key("secret")
        .journal(path, andal::JournalKey::from_bytes(KEY))
        .build()
        .unwrap();
    drop(client);
}

#[test]
fn clean_journal_has_no_warning() {
    let (_d, journal, key) = setup();
    create_journal(&journal);
    let out = andal_journal(&journal, &key, false);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("warning"), "{stdout}");
    assert!(stdout.contains("0 offline decision(s)"), "{stdout}");
}

#[test]
fn damaged_last_record_and_side_files_are_warned_about() {
    let (dir, journal, key) = setup();
    create_journal(&journal);
    // A complete frame (length 16 = empty payload + tag, seq 1, nonce, tag, CRC) whose
    // check fails: as a damaged last acknowledged record looks on disk.
    let mut bytes = std::fs::read(&journal).unwrap();
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u64.to_le_bytes());
    bytes.extend_from_slice(&[7u8; 12 + 16 + 4]);
    std::fs::write(&journal, &bytes).unwrap();

    let out = andal_journal(&journal, &key, false);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let first = stdout.lines().next().unwrap();
    assert!(first.starts_with("warning: "), "{stdout}");
    assert!(
        first.contains("may have been an acknowledged record"),
        "{stdout}"
    );

    // --json: stdout is still one JSON document, the warning is on stderr.
    let out = andal_journal(&journal, &key, true);
    assert!(out.status.success());
    let items: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(items.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning") && stderr.contains("acknowledged"),
        "{stderr}"
    );

    // The client moves it aside on open; the side file is still warned about.
    create_journal(&journal);
    let sides: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("offline.journal.damaged-"))
        .collect();
    assert_eq!(sides.len(), 1, "{sides:?}");
    let out = andal_journal(&journal, &key, false);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.lines().next().unwrap().starts_with("warning: ") && stdout.contains(&sides[0]),
        "{stdout}"
    );
}

#[test]
fn emptied_journal_is_warned_about() {
    let (_d, journal, key) = setup();
    std::fs::write(&journal, b"").unwrap();
    let out = andal_journal(&journal, &key, false);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("warning: ") && stdout.contains("was empty"),
        "{stdout}"
    );
}
