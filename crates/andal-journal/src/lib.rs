//! # andal-journal
//!
//! A generic durable, encrypted, append-only record log for Andal's offline
//! decisions. Payloads are opaque bytes: the journal never interprets or logs
//! them.
//!
//! * Every [`Journal::append`] returns only after its frame is on disk
//!   (`write` + `fdatasync`); with [`JournalOptions::group_commit`] one fsync
//!   covers all concurrent appenders.
//! * Each frame is sealed with ChaCha20-Poly1305 under a per-file key derived
//!   (HKDF-SHA256) from the host's [`JournalKey`]; the AAD binds the file id
//!   and the sequence number, so frames cannot be reordered or moved between
//!   files.
//! * [`Journal::open`] authenticates every frame, truncates a torn tail left
//!   by a crash and refuses (typed error) to open a file damaged elsewhere.
//!
//! ```
//! use andal_journal::{Journal, JournalKey, JournalOptions};
//! # let dir = tempfile::tempdir().unwrap();
//! let key = JournalKey::from_bytes([7u8; 32]);
//! let (journal, report) = Journal::open(dir.path().join("offline.journal"), &key,
//!     JournalOptions::default().group_commit(true))?;
//! assert!(report.created);
//! let seq = journal.append(b"opaque record bytes")?;
//! assert_eq!(journal.records()?[0].seq, seq);
//! # Ok::<(), andal_journal::JournalError>(())
//! ```
//!
//! The byte layout, durability guarantee and recovery rules are in
//! `docs/journal.md`.

#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod error;
pub mod format;
mod journal;
mod key;
mod tail;

pub use error::{JournalError, Result};
pub use journal::{
    DEFAULT_MAX_PAYLOAD, Journal, JournalOptions, Record, RecoveryReport, TailRecovery,
    damaged_side_files, decode_journal,
};
pub use key::{JournalKey, KEY_LEN};
pub use tail::{JournalTail, SyncHook, TailRead};
