//! Following a journal another process appends to: each read decodes only the frames
//! appended since the previous one (a ledger shipper's incremental read), never opening the
//! file for writing. What a read returns is durable: it fsyncs the file first.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::Result;
use crate::format::{self, FILE_ID_LEN, FIRST_SEQ, FileKeys, HEADER_LEN};
use crate::journal::Record;
use crate::key::JournalKey;

/// Reads a journal file incrementally: [`read_new`](Self::read_new) returns the intact
/// records appended since its previous call. Read-only (no lock, no truncation), so the
/// writer may be running.
///
/// * An incomplete or damaged last frame (a write in progress, or a crash) ends a read
///   without error, as on open; the next read starts again at that frame.
/// * A bad frame followed by authentic frames is [`crate::JournalError::Corrupt`], as on open.
/// * A file that was replaced (another file id or header: a recreated or re-keyed journal)
///   or became shorter than what was read is read again from its first record, and the
///   read says so ([`TailRead::restarted`]).
///
/// **Only durable records are returned.** The writer acknowledges a record after its
/// `fdatasync`, but a reader can see the frame as soon as it is written, before that sync:
/// after a power loss such a frame may be gone, and its sequence number reused for another
/// record. So a read that found new records calls `fdatasync` on its own read-only handle
/// before returning them (one per read, however many records; none for an empty read):
/// on Linux and Android this flushes the file's dirty pages whoever wrote them, so what the
/// read returns survives a power loss, and recovery keeps it (an intact frame is kept
/// whether or not its writer lived to be told). A failed sync is an error, returns nothing
/// and does not move the read position.
pub struct JournalTail {
    path: PathBuf,
    key: JournalKey,
    state: Option<TailState>,
    records_read: u64,
    syncs: u64,
    sync_hook: Option<SyncHook>,
}

/// Replaces the sync step of a [`JournalTail`] read (tests: observe or fail it).
#[doc(hidden)]
pub type SyncHook = Arc<dyn Fn(&File) -> io::Result<()> + Send + Sync>;

struct TailState {
    keys: FileKeys,
    header: Vec<u8>,
    /// File offset just past the last intact frame read.
    offset: u64,
    /// Sequence number of the frame expected at `offset`.
    next_seq: u64,
}

impl fmt::Debug for JournalTail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JournalTail")
            .field("path", &self.path)
            .field("offset", &self.state.as_ref().map(|s| s.offset))
            .field("records_read", &self.records_read)
            .field("syncs", &self.syncs)
            .finish_non_exhaustive()
    }
}

/// What one [`JournalTail::read_new`] found.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TailRead {
    /// The file's 16-byte id.
    pub file_id: [u8; FILE_ID_LEN],
    /// The records start at the file's first record: the first read, or the file was
    /// replaced or truncated since the previous read.
    pub restarted: bool,
    /// Intact records appended since the previous read, in order.
    pub records: Vec<Record>,
    /// Sequence number of the last intact record read from this file so far (0: none).
    pub last_seq: u64,
}

impl JournalTail {
    /// A follower of the journal at `path` (nothing is read yet).
    pub fn new(path: impl AsRef<Path>, key: &JournalKey) -> Self {
        JournalTail {
            path: path.as_ref().to_owned(),
            key: key.clone(),
            state: None,
            records_read: 0,
            syncs: 0,
            sync_hook: None,
        }
    }

    /// Records decrypted so far by this follower (the cost of following).
    pub fn records_read(&self) -> u64 {
        self.records_read
    }

    /// `fdatasync` calls made so far: one per read that returned records.
    pub fn syncs(&self) -> u64 {
        self.syncs
    }

    /// Test hook: `hook` runs instead of `fdatasync` as a read's sync step (it may record
    /// the call, sync itself, or fail). Not for production use.
    #[doc(hidden)]
    pub fn set_sync_hook(&mut self, hook: SyncHook) {
        self.sync_hook = Some(hook);
    }

    /// Forget the position: the next read starts at the file's first record.
    pub fn rewind(&mut self) {
        self.state = None;
    }

    /// The intact records appended since the previous call (all of them on the first).
    /// An empty file is a journal without records.
    pub fn read_new(&mut self) -> Result<TailRead> {
        // One handle for the header and the frames: a file renamed over the path between
        // the two reads cannot mix two journals.
        let mut file = File::open(&self.path)?;
        let len = file.metadata()?.len();
        let mut head = Vec::with_capacity(HEADER_LEN);
        (&mut file).take(HEADER_LEN as u64).read_to_end(&mut head)?;
        if head.is_empty() {
            self.state = None;
            return Ok(TailRead {
                file_id: [0; FILE_ID_LEN],
                restarted: true,
                records: Vec::new(),
                last_seq: 0,
            });
        }
        let same = self.state.as_ref().is_some_and(|s| {
            head.len() >= s.header.len()
                && head[..s.header.len()] == s.header[..]
                && len >= s.offset
        });
        let restarted = !same;
        // The new position is kept only once what was read is durable.
        let fresh = if restarted {
            let keys = format::decode_header(&head, &self.key)?;
            let hl = keys.header_len();
            Some(TailState {
                header: head[..hl].to_vec(),
                keys,
                offset: hl as u64,
                next_seq: FIRST_SEQ,
            })
        } else {
            None
        };
        let st = fresh
            .as_ref()
            .or(self.state.as_ref())
            .expect("a fresh state, or the same file as before");
        file.seek(SeekFrom::Start(st.offset))?;
        let mut bytes = Vec::with_capacity(len.saturating_sub(st.offset) as usize);
        file.read_to_end(&mut bytes)?;
        let mut records = Vec::new();
        let outcome =
            format::scan_from(&bytes, st.offset, &st.keys, st.next_seq, true, |seq, pt| {
                records.push(Record {
                    seq,
                    payload: pt.to_vec(),
                })
            })?;
        if !records.is_empty() {
            // Before anyone ships these: written is not durable until an fsync covers it.
            match &self.sync_hook {
                Some(hook) => hook(&file)?,
                None => file.sync_data()?,
            }
            self.syncs += 1;
        }
        if let Some(f) = fresh {
            self.state = Some(f);
        }
        let st = self.state.as_mut().expect("set above");
        // A torn tail is not consumed: the next read tries that frame again.
        st.offset = outcome.valid_len;
        st.next_seq = outcome.next_seq;
        self.records_read += records.len() as u64;
        Ok(TailRead {
            file_id: st.keys.file_id,
            restarted,
            records,
            last_seq: st.next_seq - FIRST_SEQ,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Journal, JournalError, JournalOptions};

    fn key() -> JournalKey {
        JournalKey::from_bytes([5; 32])
    }

    #[test]
    fn reads_only_what_was_appended_since_the_last_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (j, _) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
        let mut tail = JournalTail::new(&path, &key());
        let first = tail.read_new().unwrap();
        assert!(first.restarted);
        assert!(first.records.is_empty());
        for i in 0..5u8 {
            j.append(&[i]).unwrap();
        }
        let r = tail.read_new().unwrap();
        assert!(!r.restarted);
        assert_eq!(r.records.len(), 5);
        assert_eq!(r.last_seq, 5);
        assert_eq!(tail.read_new().unwrap().records.len(), 0);
        j.append(b"six").unwrap();
        let r = tail.read_new().unwrap();
        assert_eq!(
            r.records,
            vec![Record {
                seq: 6,
                payload: b"six".to_vec()
            }]
        );
        assert_eq!(tail.records_read(), 6);
        // One fsync per read that returned records (two), none for the empty ones.
        assert_eq!(tail.syncs(), 2);
        tail.rewind();
        let r = tail.read_new().unwrap();
        assert!(r.restarted);
        assert_eq!(r.records.len(), 6);
    }

    #[test]
    fn a_torn_tail_is_read_again_once_complete_and_a_replaced_file_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let (j, _) = Journal::open(&src, &key(), JournalOptions::default()).unwrap();
        for i in 0..4u8 {
            j.append(&[i; 40]).unwrap();
        }
        let full = std::fs::read(&src).unwrap();
        let path = dir.path().join("copy");
        // The last frame cut short, as a reader sees a write in progress.
        std::fs::write(&path, &full[..full.len() - 10]).unwrap();
        let mut tail = JournalTail::new(&path, &key());
        let r = tail.read_new().unwrap();
        assert_eq!((r.records.len(), r.last_seq), (3, 3));
        std::fs::write(&path, &full).unwrap();
        let r = tail.read_new().unwrap();
        assert!(!r.restarted);
        assert_eq!(r.records.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![4]);

        // Garbage followed by an authentic frame is corruption, not a tail.
        let mut bad = full.clone();
        j.append(b"five").unwrap();
        let five = std::fs::read(&src).unwrap()[full.len()..].to_vec();
        bad.extend_from_slice(&[0xAB; 50]);
        bad.extend_from_slice(&five);
        std::fs::write(&path, &bad).unwrap();
        assert!(matches!(
            tail.read_new(),
            Err(JournalError::Corrupt { offset, .. }) if offset == full.len() as u64
        ));

        // Another journal (another file id) at the same path: read from its first record.
        let other = dir.path().join("other");
        let (o, _) = Journal::open(&other, &key(), JournalOptions::default()).unwrap();
        o.append(b"x").unwrap();
        drop(o);
        std::fs::rename(&other, &path).unwrap();
        let r = tail.read_new().unwrap();
        assert!(r.restarted);
        assert_ne!(r.file_id, full[12..28]);
        assert_eq!((r.records.len(), r.last_seq), (1, 1));

        // A shorter file with the same header (truncated): read again from the start.
        std::fs::write(&path, &full[..full.len() - 10]).unwrap();
        tail.read_new().unwrap();
        std::fs::write(&path, &full[..format::HEADER_LEN]).unwrap();
        let r = tail.read_new().unwrap();
        assert!(r.restarted);
        assert_eq!((r.records.len(), r.last_seq), (0, 0));
    }

    #[test]
    fn records_are_returned_only_after_the_sync_step_and_a_failed_sync_returns_none() {
        use std::sync::Mutex;
        use std::sync::atomic::{AtomicBool, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (j, _) = Journal::open(&path, &key(), JournalOptions::default()).unwrap();
        for i in 0..3u8 {
            j.append(&[i]).unwrap();
        }
        let mut tail = JournalTail::new(&path, &key());
        // The hook sees the file as the read found it, and can fail like an fsync.
        let fail = Arc::new(AtomicBool::new(true));
        let calls = Arc::new(Mutex::new(Vec::new()));
        let (f, c) = (fail.clone(), calls.clone());
        tail.set_sync_hook(Arc::new(move |file: &File| {
            c.lock().unwrap().push(file.metadata()?.len());
            if f.load(Ordering::SeqCst) {
                return Err(io::Error::other("injected fsync failure"));
            }
            file.sync_data()
        }));

        // A failed sync returns nothing and keeps the position.
        assert!(matches!(tail.read_new(), Err(JournalError::Io(_))));
        assert_eq!((tail.syncs(), tail.records_read()), (0, 0));
        fail.store(false, Ordering::SeqCst);
        let r = tail.read_new().unwrap();
        assert!(r.restarted, "still the first read of the file");
        assert_eq!(
            r.records.iter().map(|r| r.seq).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        let len = std::fs::metadata(&path).unwrap().len();
        assert_eq!(*calls.lock().unwrap(), [len, len]);

        // Nothing new: no sync.
        assert!(tail.read_new().unwrap().records.is_empty());
        assert_eq!(calls.lock().unwrap().len(), 2);

        // New records behind a failed sync are read again, not skipped.
        j.append_batch(&[b"four", b"five"]).unwrap();
        fail.store(true, Ordering::SeqCst);
        assert!(tail.read_new().is_err());
        fail.store(false, Ordering::SeqCst);
        let r = tail.read_new().unwrap();
        assert!(!r.restarted);
        assert_eq!(r.records.iter().map(|r| r.seq).collect::<Vec<_>>(), [4, 5]);
        assert_eq!((tail.syncs(), tail.records_read()), (2, 5));
        assert_eq!(calls.lock().unwrap().len(), 4);
    }
}
