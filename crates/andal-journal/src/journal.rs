//! The durable store: open/recover, append (plain and group commit), read.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use parking_lot::{Condvar, Mutex, MutexGuard};
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::{JournalError, Result};
use crate::format::{self, FILE_ID_LEN, FIRST_SEQ, FileKeys, MAX_PAYLOAD_LIMIT, NONCE_LEN};
use crate::key::JournalKey;

/// Default maximum payload size (64 KiB).
pub const DEFAULT_MAX_PAYLOAD: usize = 64 * 1024;

/// Options for [`Journal::open`].
#[derive(Debug, Clone)]
pub struct JournalOptions {
    group_commit: bool,
    max_payload: usize,
    create: bool,
    torn_write_testing: bool,
}

impl Default for JournalOptions {
    fn default() -> Self {
        Self {
            group_commit: false,
            max_payload: DEFAULT_MAX_PAYLOAD,
            create: true,
            torn_write_testing: false,
        }
    }
}

impl JournalOptions {
    /// Same as `Default::default()`: no group commit, 64 KiB payloads, create if missing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Group commit: concurrent appenders are batched so that one `write` +
    /// `fdatasync` covers all of them (leader/follower). Every `append` still
    /// returns only after its own frame is on disk.
    pub fn group_commit(mut self, on: bool) -> Self {
        self.group_commit = on;
        self
    }

    /// Maximum payload accepted by `append` (at most 16 MiB, the format limit).
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.max_payload = bytes;
        self
    }

    /// Create the file if it does not exist (default `true`).
    pub fn create(mut self, on: bool) -> Self {
        self.create = on;
        self
    }

    /// Test hook for crash tests: write each batch in small pieces (separate
    /// `write` calls) so that a kill can land in the middle of a frame.
    /// Durability is unchanged (the fdatasync still follows the last piece),
    /// it is just slow. Not for production use.
    #[doc(hidden)]
    pub fn torn_write_testing(mut self, on: bool) -> Self {
        self.torn_write_testing = on;
        self
    }

    fn validate(&self) -> Result<()> {
        if self.max_payload > MAX_PAYLOAD_LIMIT {
            return Err(JournalError::InvalidOptions(
                "max_payload exceeds the 16 MiB format limit",
            ));
        }
        Ok(())
    }
}

/// What [`Journal::open`] (or [`decode_journal`]) found and did.
///
/// Check [`may_have_lost_acknowledged`](Self::may_have_lost_acknowledged)
/// (or print [`warnings`](Self::warnings)) after every open: recovery never
/// silently drops what may have been an acknowledged record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryReport {
    /// The file did not exist and was created by this call.
    pub created: bool,
    /// The file existed but was empty (0 bytes) and was initialised in place.
    /// Distinct from `created`: whatever it held before it was emptied is gone,
    /// so this may hide lost acknowledged records.
    pub was_empty: bool,
    /// Number of intact records found.
    pub records: u64,
    /// Bytes removed after the last intact record (the total of [`tail`](Self::tail)).
    pub truncated_bytes: u64,
    /// What was found after the last intact record.
    pub tail: TailRecovery,
    /// Sequence number the next append will get.
    pub next_seq: u64,
}

/// What recovery found after the last intact record of a journal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TailRecovery {
    /// Nothing: the file ends with an intact record (or its header).
    Clean,
    /// An incomplete last frame, shorter than its own length field: a write
    /// cut short by a crash before its fsync returned, so it was **never
    /// acknowledged**. Truncated.
    Incomplete {
        /// Byte offset where the incomplete frame starts.
        offset: u64,
        /// Bytes removed.
        bytes: u64,
    },
    /// A **complete** last frame that failed its checksum (bit rot, a damaged
    /// length field, or a power loss that kept the file size but not the
    /// data): it **may have been acknowledged**. [`Journal::open`] moved the
    /// bytes to `side_file` (never overwriting an earlier one) before
    /// truncating, so nothing is destroyed; [`decode_journal`] only reports.
    Damaged {
        /// Byte offset where the damaged frame starts.
        offset: u64,
        /// Bytes removed (the frame and anything after it).
        bytes: u64,
        /// Where the removed bytes were kept (`<journal>.damaged-<unix-ms>`);
        /// `None` when nothing was written (in-memory decoding).
        side_file: Option<PathBuf>,
    },
}

impl RecoveryReport {
    /// `true` when recovery found something that may have been an
    /// acknowledged record and is no longer readable: a damaged complete last
    /// frame, or a journal file emptied to 0 bytes.
    pub fn may_have_lost_acknowledged(&self) -> bool {
        self.was_empty || matches!(self.tail, TailRecovery::Damaged { .. })
    }

    /// Human-readable warnings for operators (empty when all is well or only
    /// a never-acknowledged incomplete tail was dropped). No payload data.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.was_empty {
            out.push(
                "journal file existed but was empty (0 bytes): any records it held \
                 before it was emptied are lost (opening it initialises it again)"
                    .to_owned(),
            );
        }
        if let TailRecovery::Damaged {
            offset,
            bytes,
            side_file,
        } = &self.tail
        {
            let kept = match side_file {
                Some(p) => format!("kept in {}", p.display()),
                None => "still in the journal file (read-only view: the next open moves \
                         it to a side file)"
                    .to_owned(),
            };
            out.push(format!(
                "journal: the last frame (offset {offset}, {bytes} bytes) is complete but \
                 failed its check: it may have been an acknowledged record; {kept}"
            ));
        }
        out
    }
}

/// Side files next to the journal at `path` that hold damaged frames removed
/// by earlier opens (`<journal>.damaged-*`), sorted by name. For read-only
/// tools that need to warn about them.
pub fn damaged_side_files(path: impl AsRef<Path>) -> io::Result<Vec<PathBuf>> {
    let path = path.as_ref();
    let Some(name) = path.file_name() else {
        return Ok(Vec::new());
    };
    let mut prefix = name.to_os_string();
    prefix.push(".damaged-");
    let prefix = prefix.to_string_lossy().into_owned();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// Writes `bytes` to a new side file `<journal>.damaged-<unix-ms>[-n]` next
/// to the journal (never overwriting an existing file), fsyncs it and the
/// directory, and returns its path.
fn keep_damaged(path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let name = path.file_name().ok_or(JournalError::InvalidOptions(
        "journal path has no file name",
    ))?;
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    for n in 0u32.. {
        let mut side = name.to_os_string();
        side.push(format!(".damaged-{ms}"));
        if n > 0 {
            side.push(format!("-{n}"));
        }
        let side = path.with_file_name(side);
        match OpenOptions::new().write(true).create_new(true).open(&side) {
            Ok(mut f) => {
                f.write_all(bytes)?;
                f.sync_all()?;
                fsync_dir(&side)?;
                return Ok(side);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 10_000 => continue,
            Err(e) => return Err(e.into()),
        }
    }
    unreachable!("the loop returns")
}

/// One decrypted record. `Debug` shows the length, never the payload.
#[derive(Clone, PartialEq, Eq)]
pub struct Record {
    /// Sequence number (1, 2, 3, ... in append order).
    pub seq: u64,
    /// The opaque payload exactly as appended.
    pub payload: Vec<u8>,
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("seq", &self.seq)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

struct State {
    /// Sequence number the next append gets.
    next_seq: u64,
    /// Encoded frames not yet handed to a leader (group commit).
    pending: Vec<u8>,
    /// Last sequence number in `pending`.
    pending_last: u64,
    /// A leader is writing + syncing outside the lock.
    flushing: bool,
    /// Highest sequence number known to be on disk (0 = none).
    durable_seq: u64,
    /// File length covering exactly the durable frames.
    durable_len: u64,
    /// An earlier write/fsync failed.
    poisoned: bool,
    /// Reusable buffer.
    spare: Vec<u8>,
}

/// An encrypted, crash-safe, append-only record log. `Send + Sync`: share it
/// between threads with `Arc<Journal>`.
pub struct Journal {
    path: PathBuf,
    keys: FileKeys,
    opts: JournalOptions,
    rng: SystemRandom,
    /// Write handle (holds the advisory lock). Only the current writer uses it.
    file: File,
    /// Separate read handle (independent file offset).
    reader: Mutex<File>,
    state: Mutex<State>,
    flushed: Condvar,
}

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.path)
            .field("group_commit", &self.opts.group_commit)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

fn fsync_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Creates the journal atomically: header written to a temporary file,
/// fsynced, then hard-linked into place (never clobbers an existing file),
/// then the directory is fsynced. A crash can never leave a partial header
/// at `path`. Returns `false` if someone else created it first.
fn create_file(path: &Path, key: &JournalKey, rng: &SystemRandom) -> Result<bool> {
    let mut file_id = [0u8; FILE_ID_LEN];
    rng.fill(&mut file_id).map_err(|_| JournalError::Rng)?;
    let header = format::encode_header(&FileKeys::derive(key, file_id));
    let name = path.file_name().ok_or(JournalError::InvalidOptions(
        "journal path has no file name",
    ))?;
    let hex: String = file_id[..8].iter().map(|b| format!("{b:02x}")).collect();
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{hex}.tmp"));
    let tmp = path.with_file_name(tmp_name);
    let result = (|| -> io::Result<bool> {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(&header)?;
        f.sync_all()?;
        drop(f);
        match std::fs::hard_link(&tmp, path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            // Filesystems without hard links: fall back to rename.
            Err(_) if !path.exists() => std::fs::rename(&tmp, path).map(|()| true),
            Err(_) => Ok(false),
        }
    })();
    let _ = std::fs::remove_file(&tmp);
    let created = result?;
    if created {
        fsync_dir(path)?;
    }
    Ok(created)
}

impl Journal {
    /// Opens (or creates) the journal at `path`, verifies the header and the
    /// key, scans and authenticates every frame, truncates a torn tail and
    /// returns the handle with a [`RecoveryReport`].
    ///
    /// Errors: [`JournalError::WrongKey`], [`JournalError::Corrupt`] (a bad
    /// frame that is not a torn tail), [`JournalError::UnsupportedVersion`],
    /// [`JournalError::NotAJournal`], [`JournalError::Locked`], I/O errors.
    pub fn open(
        path: impl AsRef<Path>,
        key: &JournalKey,
        opts: JournalOptions,
    ) -> Result<(Journal, RecoveryReport)> {
        opts.validate()?;
        let path = path.as_ref().to_path_buf();
        let rng = SystemRandom::new();
        let mut created = false;
        match std::fs::metadata(&path) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound && opts.create => {
                created = create_file(&path, key, &rng)?;
            }
            Err(e) => return Err(e.into()),
        }

        let mut file = OpenOptions::new().read(true).write(true).open(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(JournalError::Locked),
            Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
        }

        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let mut was_empty = false;
        if bytes.is_empty() {
            // A pre-created empty file holds no data: initialise it in place.
            let mut file_id = [0u8; FILE_ID_LEN];
            rng.fill(&mut file_id).map_err(|_| JournalError::Rng)?;
            let header = format::encode_header(&FileKeys::derive(key, file_id));
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&header)?;
            file.sync_all()?;
            bytes.extend_from_slice(&header);
            // Unless this call created it, the file existed and was emptied.
            was_empty = !created;
            if was_empty {
                tracing::warn!("journal: file existed but was empty (0 bytes); re-initialised");
            }
        }
        let keys = format::decode_header(&bytes, key)?;
        let outcome = format::scan(&bytes, &keys, true, |_, _| {})?;
        let mut tail = tail_of(&outcome, None);
        if outcome.torn_bytes > 0 {
            if outcome.tail_complete {
                // May have been acknowledged: keep the bytes before truncating.
                let side = keep_damaged(&path, &bytes[outcome.valid_len as usize..])?;
                tracing::warn!(
                    offset = outcome.valid_len,
                    bytes = outcome.torn_bytes,
                    side_file = %side.display(),
                    "journal: last frame complete but failed its check (may have been acknowledged); bytes kept in side file, truncating"
                );
                tail = tail_of(&outcome, Some(side));
            } else {
                tracing::warn!(
                    valid_len = outcome.valid_len,
                    truncated_bytes = outcome.torn_bytes,
                    "journal: truncating incomplete tail (never acknowledged)"
                );
            }
            file.set_len(outcome.valid_len)?;
            file.sync_all()?;
        }
        drop(bytes);
        file.seek(SeekFrom::Start(outcome.valid_len))?;
        let reader = File::open(&path)?;
        let report = RecoveryReport {
            created,
            was_empty,
            records: outcome.records,
            truncated_bytes: outcome.torn_bytes,
            tail,
            next_seq: outcome.next_seq,
        };
        tracing::info!(
            created,
            was_empty,
            records = report.records,
            truncated_bytes = report.truncated_bytes,
            group_commit = opts.group_commit,
            "journal opened"
        );
        let state = State {
            next_seq: outcome.next_seq,
            pending: Vec::new(),
            pending_last: 0,
            flushing: false,
            durable_seq: outcome.next_seq - 1,
            durable_len: outcome.valid_len,
            poisoned: false,
            spare: Vec::new(),
        };
        let journal = Journal {
            path,
            keys,
            opts,
            rng,
            file,
            reader: Mutex::new(reader),
            state: Mutex::new(state),
            flushed: Condvar::new(),
        };
        Ok((journal, report))
    }

    /// Appends one record and returns its sequence number once the frame is
    /// on disk (`write` + `fdatasync`).
    pub fn append(&self, payload: &[u8]) -> Result<u64> {
        Ok(self.append_batch(&[payload])?.start)
    }

    /// Appends several records with one write and one fdatasync. Returns the
    /// range of sequence numbers assigned (consecutive, in order). All or none
    /// are acknowledged. An empty batch returns an empty range.
    pub fn append_batch(&self, payloads: &[&[u8]]) -> Result<Range<u64>> {
        for p in payloads {
            if p.len() > self.opts.max_payload {
                return Err(JournalError::PayloadTooLarge {
                    len: p.len(),
                    max: self.opts.max_payload,
                });
            }
        }
        let mut st = self.state.lock();
        if st.poisoned {
            return Err(JournalError::Poisoned);
        }
        if payloads.is_empty() {
            return Ok(st.next_seq..st.next_seq);
        }
        let first = st.next_seq;
        if self.opts.group_commit {
            self.encode_into_pending(&mut st, payloads)?;
            let last = st.pending_last;
            self.wait_durable(st, last)?;
        } else {
            // Plain mode: hold the lock across write + fdatasync.
            let mut buf = std::mem::take(&mut st.spare);
            buf.clear();
            let mut seq = first;
            for p in payloads {
                self.encode(seq, p, &mut buf)?;
                seq += 1;
            }
            let res = self.write_durably(&buf);
            let len = buf.len() as u64;
            buf.clear();
            st.spare = buf;
            match res {
                Ok(()) => {
                    st.next_seq = seq;
                    st.durable_seq = seq - 1;
                    st.durable_len += len;
                }
                Err(e) => {
                    st.poisoned = true;
                    tracing::error!(error = %e, "journal write/fsync failed; handle poisoned");
                    return Err(e.into());
                }
            }
        }
        Ok(first..first + payloads.len() as u64)
    }

    fn encode(&self, seq: u64, payload: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| JournalError::Rng)?;
        self.keys.encode_frame(seq, nonce, payload, out);
        Ok(())
    }

    fn encode_into_pending(&self, st: &mut State, payloads: &[&[u8]]) -> Result<()> {
        let mark = st.pending.len();
        let mut seq = st.next_seq;
        for p in payloads {
            if let Err(e) = self.encode(seq, p, &mut st.pending) {
                st.pending.truncate(mark);
                return Err(e);
            }
            seq += 1;
        }
        st.next_seq = seq;
        st.pending_last = seq - 1;
        Ok(())
    }

    /// Leader/follower group commit: whoever finds no flush in progress takes
    /// everything pending, writes and syncs it outside the lock, publishes the
    /// new durable sequence number and wakes the others.
    fn wait_durable(&self, mut st: MutexGuard<'_, State>, target: u64) -> Result<()> {
        loop {
            if st.durable_seq >= target {
                return Ok(());
            }
            if st.poisoned {
                return Err(JournalError::Poisoned);
            }
            if st.flushing {
                self.flushed.wait(&mut st);
                continue;
            }
            st.flushing = true;
            let spare = std::mem::take(&mut st.spare);
            let mut batch = std::mem::replace(&mut st.pending, spare);
            let batch_last = st.pending_last;
            let res = MutexGuard::unlocked(&mut st, || self.write_durably(&batch));
            st.flushing = false;
            let len = batch.len() as u64;
            batch.clear();
            st.spare = batch;
            let out = match res {
                Ok(()) => {
                    st.durable_seq = batch_last;
                    st.durable_len += len;
                    Ok(())
                }
                Err(e) => {
                    st.poisoned = true;
                    tracing::error!(error = %e, "journal write/fsync failed; handle poisoned");
                    Err(e)
                }
            };
            self.flushed.notify_all();
            out?;
        }
    }

    fn write_durably(&self, buf: &[u8]) -> io::Result<()> {
        if self.opts.torn_write_testing {
            for piece in buf.chunks(7) {
                (&self.file).write_all(piece)?;
                std::thread::yield_now();
            }
        } else {
            (&self.file).write_all(buf)?;
        }
        self.file.sync_data()
    }

    /// Number of acknowledged (durable) records.
    pub fn len(&self) -> u64 {
        self.state.lock().durable_seq
    }

    /// `true` if the journal holds no acknowledged record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sequence number of the last acknowledged record, if any.
    pub fn last_seq(&self) -> Option<u64> {
        let s = self.state.lock().durable_seq;
        (s >= FIRST_SEQ).then_some(s)
    }

    /// Path of the journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads, authenticates and decrypts every acknowledged record, in order.
    /// Any damage (e.g. the file was modified underneath) is
    /// [`JournalError::Corrupt`]; a corrupt record is never returned.
    pub fn records(&self) -> Result<Vec<Record>> {
        self.records_from(FIRST_SEQ)
    }

    /// Like [`records`](Self::records), but only records with `seq >= from`.
    pub fn records_from(&self, from: u64) -> Result<Vec<Record>> {
        let durable_len = self.state.lock().durable_len as usize;
        let mut bytes = vec![0u8; durable_len];
        {
            let mut r = self.reader.lock();
            r.seek(SeekFrom::Start(0))?;
            r.read_exact(&mut bytes)?;
        }
        let header = format::encode_header(&self.keys);
        if bytes.len() < header.len() || bytes[..header.len()] != header[..] {
            return Err(JournalError::Corrupt {
                offset: 0,
                reason: "header changed",
            });
        }
        let mut out = Vec::new();
        format::scan(&bytes, &self.keys, false, |seq, pt| {
            if seq >= from {
                out.push(Record {
                    seq,
                    payload: pt.to_vec(),
                });
            }
        })?;
        Ok(out)
    }
}

fn tail_of(outcome: &format::ScanOutcome, side_file: Option<PathBuf>) -> TailRecovery {
    if outcome.torn_bytes == 0 {
        TailRecovery::Clean
    } else if outcome.tail_complete {
        TailRecovery::Damaged {
            offset: outcome.valid_len,
            bytes: outcome.torn_bytes,
            side_file,
        }
    } else {
        TailRecovery::Incomplete {
            offset: outcome.valid_len,
            bytes: outcome.torn_bytes,
        }
    }
}

/// Decodes a complete journal image held in memory (e.g. a copy of the file
/// for inspection) without modifying anything. A torn tail is ignored and
/// reported in the returned [`RecoveryReport`] (`truncated_bytes`, `tail`),
/// exactly as [`Journal::open`] would treat it (a damaged complete last frame
/// is reported with `side_file: None`). An empty image is an empty journal
/// with `was_empty` set, as `open` would initialise it. This is also the
/// fuzzing entry point.
pub fn decode_journal(bytes: &[u8], key: &JournalKey) -> Result<(Vec<Record>, RecoveryReport)> {
    if bytes.is_empty() {
        let report = RecoveryReport {
            created: false,
            was_empty: true,
            records: 0,
            truncated_bytes: 0,
            tail: TailRecovery::Clean,
            next_seq: FIRST_SEQ,
        };
        return Ok((Vec::new(), report));
    }
    let keys = format::decode_header(bytes, key)?;
    let mut records = Vec::new();
    let outcome = format::scan(bytes, &keys, true, |seq, pt| {
        records.push(Record {
            seq,
            payload: pt.to_vec(),
        })
    })?;
    let report = RecoveryReport {
        created: false,
        was_empty: false,
        records: outcome.records,
        truncated_bytes: outcome.torn_bytes,
        tail: tail_of(&outcome, None),
        next_seq: outcome.next_seq,
    };
    Ok((records, report))
}
