//! The async client's disk writer: one thread owns the journal's writes and reads and the
//! trust cache's file writes, so an `fdatasync` never blocks the async runtime. Appends
//! that queue up while a write is in progress go down together (one write, one
//! `fdatasync`: group commit); each is acknowledged, with its sequence number, only once on
//! disk.

use std::sync::Arc;
use std::sync::mpsc;

use andal_journal::{Journal, JournalError, Record};
use futures_channel::oneshot;

use crate::offline::Installed;

/// Most appends written with one `fdatasync`.
const MAX_BATCH: usize = 256;

/// An append waiting for its acknowledgement.
type Pending = (Vec<u8>, oneshot::Sender<Result<u64, JournalError>>);

enum Job {
    Append(Vec<u8>, oneshot::Sender<Result<u64, JournalError>>),
    Records(oneshot::Sender<Result<Vec<Record>, JournalError>>),
    Persist(Installed, oneshot::Sender<Result<(), String>>),
}

/// A handle to the writer thread; the thread ends when the last handle is dropped (after
/// writing everything queued).
pub(crate) struct DiskWriter {
    tx: mpsc::Sender<Job>,
}

impl DiskWriter {
    /// Starts the thread, for a client with a journal, a trust cache directory or both.
    pub(crate) fn start(journal: Option<Arc<Journal>>) -> std::io::Result<DiskWriter> {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("andal-disk-writer".into())
            .spawn(move || run(journal.as_deref(), &rx))?;
        Ok(DiskWriter { tx })
    }

    /// Append one record; resolves once it is on disk. If the future is dropped first, the
    /// record is still written whole (the writer owns it), never half. Without a journal:
    /// an I/O error saying so (the engine never asks for one then).
    pub(crate) async fn append(&self, payload: Vec<u8>) -> Result<u64, JournalError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Job::Append(payload, tx))
            .map_err(|_| JournalError::Poisoned)?;
        rx.await.unwrap_or(Err(JournalError::Poisoned))
    }

    /// Write what an installed trust document left to write: its mark to the journal, then
    /// the document to the cache. Both are done whole even if this future is dropped (the
    /// writer owns them). Resolves with how the journal append went once both are done.
    pub(crate) async fn persist(&self, writes: Installed) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Job::Persist(writes, tx))
            .map_err(|_| JournalError::Poisoned.to_string())?;
        rx.await
            .unwrap_or_else(|_| Err(JournalError::Poisoned.to_string()))
    }

    /// Every record (after the writes queued before this call).
    pub(crate) async fn records(&self) -> Result<Vec<Record>, JournalError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Job::Records(tx))
            .map_err(|_| JournalError::Poisoned)?;
        rx.await.unwrap_or(Err(JournalError::Poisoned))
    }
}

fn run(journal: Option<&Journal>, rx: &mpsc::Receiver<Job>) {
    let mut batch: Vec<Pending> = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Append(p, reply) => batch.push((p, reply)),
                Job::Records(reply) => {
                    // Reads see every append queued before them.
                    flush(journal, &mut batch);
                    let _ = reply.send(journal.map_or_else(|| Err(no_journal()), Journal::records));
                }
                Job::Persist(writes, reply) => {
                    // After the appends queued before it; the mark before its document.
                    flush(journal, &mut batch);
                    let _ = reply.send(writes.write(journal));
                }
            }
            if batch.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        flush(journal, &mut batch);
    }
}

fn no_journal() -> JournalError {
    JournalError::Io(std::io::Error::other("this client has no journal"))
}

fn flush(journal: Option<&Journal>, batch: &mut Vec<Pending>) {
    if batch.is_empty() {
        return;
    }
    let Some(journal) = journal else {
        for (_, reply) in batch.drain(..) {
            let _ = reply.send(Err(no_journal()));
        }
        return;
    };
    let payloads: Vec<&[u8]> = batch.iter().map(|(p, _)| p.as_slice()).collect();
    match journal.append_batch(&payloads) {
        Ok(seqs) => {
            for ((_, reply), seq) in batch.drain(..).zip(seqs) {
                let _ = reply.send(Ok(seq));
            }
        }
        Err(_) => {
            // All or none: nothing of the batch was written. Write them one by one so each
            // caller gets its own outcome (one oversized payload must not fail the rest).
            for (p, reply) in batch.drain(..) {
                let _ = reply.send(journal.append(&p));
            }
        }
    }
}
