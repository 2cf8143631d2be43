//! Error type of the journal. No variant ever carries payload bytes.

use std::io;

/// Everything that can go wrong when opening, appending to or reading a journal.
///
/// Error texts never contain record payloads (which may hold personal data):
/// only offsets, lengths, sequence numbers and version numbers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// An operating-system I/O error (open, read, write, fsync, truncate).
    #[error("journal I/O error: {0}")]
    Io(#[from] io::Error),

    /// The file is a journal, but the supplied key is not the one it was created with.
    #[error("wrong journal key: the key check value in the header does not match")]
    WrongKey,

    /// The file does not start with the journal magic bytes.
    #[error("not an Andal journal (bad magic bytes)")]
    NotAJournal,

    /// The file was written by a newer (or unknown) format version.
    #[error("unsupported journal format version {found} (this build reads version {supported})")]
    UnsupportedVersion {
        /// Version found in the header.
        found: u16,
        /// Version this build reads and writes.
        supported: u16,
    },

    /// The header names an AEAD algorithm this build does not know.
    #[error("unsupported journal cipher id {found}")]
    UnsupportedAlgorithm {
        /// Algorithm id found in the header.
        found: u16,
    },

    /// A damaged or tampered region that is not a torn tail: a valid record
    /// follows it, or it has a valid checksum but fails authentication, or
    /// its sequence number is out of order. The journal refuses to open rather
    /// than return or silently drop records.
    #[error("journal corrupt at byte offset {offset}: {reason}")]
    Corrupt {
        /// Byte offset of the first bad frame (0 for the header).
        offset: u64,
        /// Static description of what failed (never data).
        reason: &'static str,
    },

    /// The payload exceeds the configured maximum.
    #[error("payload of {len} bytes exceeds the journal limit of {max} bytes")]
    PayloadTooLarge {
        /// Length of the rejected payload.
        len: usize,
        /// Configured maximum.
        max: usize,
    },

    /// A key of the wrong length was supplied.
    #[error("journal key must be 32 bytes, got {len}")]
    InvalidKeyLength {
        /// Length supplied.
        len: usize,
    },

    /// Invalid [`JournalOptions`](crate::JournalOptions).
    #[error("invalid journal options: {0}")]
    InvalidOptions(&'static str),

    /// Another `Journal` (in this or another process) holds the file lock.
    #[error("journal file is locked by another open journal")]
    Locked,

    /// An earlier write or fsync failed. The on-disk state after a failed
    /// fsync is unknown, so the handle refuses further appends; drop it and
    /// reopen (recovery truncates any torn tail).
    #[error("journal handle is poisoned by an earlier write/fsync failure; reopen it")]
    Poisoned,

    /// The operating system's random generator failed.
    #[error("system random generator failed")]
    Rng,
}

/// Shorthand result type.
pub type Result<T, E = JournalError> = std::result::Result<T, E>;
