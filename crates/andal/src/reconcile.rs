//! The journal's record types (offline decisions and their later resolutions) and the
//! report reconciliation returns. The journal itself (`andal-journal`) encrypts every
//! record at rest; these records hold the query so it can be re-checked online.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::decision::{FieldResults, Verdict};

/// Version of the record payloads below.
pub const RECORD_VERSION: u8 = 1;

/// One journal record (JSON inside an encrypted frame).
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Entry {
    OfflineDecision(OfflineRecord),
    Resolution(ResolutionRecord),
    /// Trust high-water mark (`crate::offline`); not an offline decision, readers skip it.
    TrustMark(crate::offline::TrustMark),
    /// An outage-record incident, journaled when it closed so that a ledger shipper finds
    /// it even if the node crashes before its outage record is read; not an offline
    /// decision, readers of decisions skip it. No personal data (causes, counts, times).
    #[serde(skip_serializing)] // written as an `IncidentRecordFull`
    IncidentClosed(IncidentRecord),
}

/// A closed incident as journaled ([`Entry::IncidentClosed`]), as the decision readers see
/// it: the incident itself is skipped, not parsed.
///
/// Why: `Entry` is internally tagged, so serde parses its variants through a buffered
/// `Content` deserializer of their own; a full `Incident` there compiled one more copy of
/// the incident's deserializer into every binary that reads the journal (+30 KB in the
/// UniFFI library, over its 3 MB gate), though only a shipper needs the incident. The
/// shipper parses the same payload again as an [`IncidentRecordFull`].
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct IncidentRecord {
    #[allow(dead_code)] // read for the record's shape only; the shipper reads it in full
    pub incident: serde::de::IgnoredAny,
}

/// The written form of an incident record, and what a shipper parses (the `kind` tag is
/// ignored here).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct IncidentRecordFull {
    #[serde(skip_deserializing, default = "incident_closed_kind")]
    kind: &'static str,
    pub v: u8,
    /// The recorder's start (RFC 3339 UTC): with the incident id, the incident's key.
    pub recording_since: String,
    pub incident: crate::outage::Incident,
}

fn incident_closed_kind() -> &'static str {
    "incident_closed"
}

impl IncidentRecord {
    /// The journal payload of an incident that just closed.
    pub(crate) fn payload(recording_since: String, incident: crate::outage::Incident) -> Vec<u8> {
        let rec = IncidentRecordFull {
            kind: incident_closed_kind(),
            v: RECORD_VERSION,
            recording_since,
            incident,
        };
        // Strings, integers and maps with string keys: serialisation cannot fail.
        serde_json::to_vec(&rec).expect("an incident record serialises")
    }
}

/// How a serialised [`Entry::TrustMark`] starts (the tag is written first).
pub(crate) const TRUST_MARK_PREFIX: &[u8] = br#"{"kind":"trust_mark""#;

/// An offline decision as journaled before it was returned.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct OfflineRecord {
    pub v: u8,
    /// Unix seconds.
    pub decided_at: u64,
    pub partner_id: String,
    pub nik: String,
    pub full_name: String,
    pub birth_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_place: Option<String>,
    pub token_id: String,
    pub key_id: String,
    pub verdict: Verdict,
    pub fields: FieldResults,
    pub online_failure: String,
    /// Outage-record incident the decision was made in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<u64>,
}

impl fmt::Debug for OfflineRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OfflineRecord")
            .field("decided_at", &self.decided_at)
            .field("nik", &crate::nik::mask_str(&self.nik))
            .field("token_id", &self.token_id)
            .field("verdict", &self.verdict)
            .finish_non_exhaustive()
    }
}

/// The final outcome of one offline decision.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ResolutionRecord {
    pub v: u8,
    pub decision_seq: u64,
    /// Unix seconds.
    pub at: u64,
    pub outcome: ReconcileOutcome,
}

/// Why the registry contradicted an offline decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Contradiction {
    /// The registry's fields differ from the offline answer.
    Mismatch,
    /// The token was revoked.
    Revoked,
    /// The registry has no such NIK.
    NotFound,
    /// The record is inactive (e.g. deceased).
    Inactive,
}

/// What reconciliation concluded for one offline decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReconcileOutcome {
    /// The registry agrees with the offline answer (final).
    Confirmed,
    /// The registry disagrees (final).
    Contradicted {
        /// Why.
        reason: Contradiction,
    },
    /// Could not be re-checked yet (registry still unavailable).
    StillPending {
        /// Why not (stable label, e.g. `breaker_open`).
        cause: String,
    },
}

/// One offline decision in a reconciliation report. No personal data besides the masked NIK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReconcileItem {
    /// Journal sequence number of the offline decision.
    pub journal_seq: u64,
    /// Token id the decision rested on.
    pub token_id: String,
    /// Masked NIK.
    pub nik_masked: String,
    /// When the offline decision was made (unix seconds).
    pub decided_at: u64,
    /// The offline verdict.
    pub offline_verdict: Verdict,
    /// What reconciliation concluded.
    pub outcome: ReconcileOutcome,
}

/// What one `reconcile()` run did, for operators.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReconcileReport {
    /// Offline decisions that were pending when the run started.
    pub examined: usize,
    /// Confirmed in this run.
    pub confirmed: usize,
    /// Contradicted in this run.
    pub contradicted: usize,
    /// Still pending after this run.
    pub still_pending: usize,
    /// Offline decisions already resolved by earlier runs.
    pub previously_resolved: usize,
    /// One line per examined decision.
    pub items: Vec<ReconcileItem>,
}

/// One offline decision as an operator sees it: masked, with its reconciliation status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JournalItem {
    /// Journal sequence number.
    pub journal_seq: u64,
    /// When the offline decision was made (unix seconds).
    pub decided_at: u64,
    /// Masked NIK.
    pub nik_masked: String,
    /// Token id the decision rested on.
    pub token_id: String,
    /// Key id that verified the token.
    pub key_id: String,
    /// Offline verdict.
    pub verdict: Verdict,
    /// Why the registry could not answer.
    pub online_failure: String,
    /// Final outcome, or `None` while pending.
    pub resolution: Option<ReconcileOutcome>,
}

/// Read a journal without opening it for writing (a running client may hold it): every
/// offline decision with its resolution, oldest first. A torn tail is ignored, as on open.
/// Use [`inspect_journal`] to also learn whether a record may have been lost.
pub fn read_journal(
    path: impl AsRef<std::path::Path>,
    key: &andal_journal::JournalKey,
) -> Result<Vec<JournalItem>, crate::Error> {
    inspect_journal(path, key).map(|view| view.items)
}

/// A journal as an operator sees it ([`inspect_journal`]): the offline decisions and what
/// the read-only recovery scan found.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JournalView {
    /// Every offline decision with its resolution, oldest first.
    pub items: Vec<JournalItem>,
    /// What the scan found: an incomplete tail (never acknowledged), a complete last record
    /// that failed its check (may have been acknowledged), an empty file.
    pub recovery: andal_journal::RecoveryReport,
    /// Side files next to the journal (`<journal>.damaged-<unix-ms>`) where earlier opens
    /// kept damaged last records, sorted by name.
    pub damaged_side_files: Vec<std::path::PathBuf>,
}

impl JournalView {
    /// Operator warnings (empty when nothing may have been lost). No personal data.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = self.recovery.warnings();
        for p in &self.damaged_side_files {
            out.push(format!(
                "journal: {} holds a damaged record an earlier open moved aside: it may have \
                 been an acknowledged offline decision",
                p.display()
            ));
        }
        out
    }
}

/// Like [`read_journal`], and also reports what reading it found ([`JournalView::warnings`]).
pub fn inspect_journal(
    path: impl AsRef<std::path::Path>,
    key: &andal_journal::JournalKey,
) -> Result<JournalView, crate::Error> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| {
        crate::Error::Journal(std::sync::Arc::new(andal_journal::JournalError::Io(e)))
    })?;
    let (records, recovery) = andal_journal::decode_journal(&bytes, key)
        .map_err(|e| crate::Error::Journal(std::sync::Arc::new(e)))?;
    let mut items: Vec<JournalItem> = Vec::new();
    for r in records {
        match serde_json::from_slice::<Entry>(&r.payload) {
            Ok(Entry::OfflineDecision(d)) => items.push(JournalItem {
                journal_seq: r.seq,
                decided_at: d.decided_at,
                nik_masked: crate::nik::mask_str(&d.nik),
                token_id: d.token_id,
                key_id: d.key_id,
                verdict: d.verdict,
                online_failure: d.online_failure,
                resolution: None,
            }),
            Ok(Entry::Resolution(res)) => {
                if let Some(item) = items.iter_mut().find(|i| i.journal_seq == res.decision_seq) {
                    item.resolution = Some(res.outcome);
                }
            }
            Ok(Entry::TrustMark(_) | Entry::IncidentClosed(_)) => {}
            Err(e) => {
                return Err(crate::Error::Protocol(format!(
                    "journal record {} is not a known record type: {e}",
                    r.seq
                )));
            }
        }
    }
    Ok(JournalView {
        items,
        recovery,
        // Best effort: the journal itself was read; only side-file warnings need the listing.
        damaged_side_files: andal_journal::damaged_side_files(path).unwrap_or_default(),
    })
}

/// An offline decision with the fields needed to re-check it later, for a ledger that
/// ships decisions off the node ([`read_journal_records`]) and re-checks them centrally
/// ([`crate::Client::recheck_offline_decision`]). It holds personal data (NIK, name, birth
/// date): `Debug` masks it, and [`OfflineDecision::to_sealable_bytes`] is meant only as
/// the plaintext of an AEAD seal.
#[derive(Clone)]
pub struct OfflineDecision(pub(crate) OfflineRecord);

impl fmt::Debug for OfflineDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl OfflineDecision {
    /// When the offline decision was made (unix seconds).
    pub fn decided_at(&self) -> u64 {
        self.0.decided_at
    }
    /// Masked NIK (`3316**********01`).
    pub fn nik_masked(&self) -> String {
        crate::nik::mask_str(&self.0.nik)
    }
    /// Token id the decision rested on.
    pub fn token_id(&self) -> &str {
        &self.0.token_id
    }
    /// Key id that verified the token.
    pub fn key_id(&self) -> &str {
        &self.0.key_id
    }
    /// The offline verdict.
    pub fn verdict(&self) -> Verdict {
        self.0.verdict
    }
    /// Why the registry could not answer (stable label).
    pub fn online_failure(&self) -> &str {
        &self.0.online_failure
    }
    /// Partner id the decision was made for.
    pub fn partner_id(&self) -> &str {
        &self.0.partner_id
    }
    /// The node's outage-record incident id, when known.
    pub fn incident(&self) -> Option<u64> {
        self.0.incident
    }
    /// The whole record as bytes (JSON, personal data in clear): seal them before they
    /// leave the process.
    pub fn to_sealable_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.0).unwrap_or_default()
    }
    /// The inverse of [`OfflineDecision::to_sealable_bytes`] (after opening the seal).
    pub fn from_sealable_bytes(bytes: &[u8]) -> Result<Self, crate::Error> {
        serde_json::from_slice(bytes)
            .map(OfflineDecision)
            .map_err(|e| crate::Error::Protocol(format!("not an offline decision record: {e}")))
    }
}

/// One journal record as a ledger shipper sees it ([`read_journal_records`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum JournalRecord {
    /// An offline decision, journaled before it was returned.
    OfflineDecision {
        /// Its sequence number.
        seq: u64,
        /// The decision (personal data inside; `Debug` masks it).
        decision: OfflineDecision,
    },
    /// The final outcome of an earlier offline decision, from the node's own reconciliation.
    Resolution {
        /// Its sequence number.
        seq: u64,
        /// Sequence number of the decision it resolves.
        decision_seq: u64,
        /// When (unix seconds).
        at: u64,
        /// Confirmed or contradicted.
        outcome: ReconcileOutcome,
    },
    /// An incident of the node's outage record, journaled when it closed (journals
    /// written before this record type existed have none: their incidents reach a ledger
    /// only through the outage record).
    Incident {
        /// Its sequence number.
        seq: u64,
        /// When the node's outage recorder started (RFC 3339 UTC): with the incident id,
        /// the incident's key ([`crate::outage::OutageReport::recording_since`]).
        recording_since: String,
        /// The closed incident (no personal data).
        incident: crate::outage::Incident,
    },
}

/// A journal read for shipping: its file id (random at creation, so a recreated journal
/// never collides with an earlier one) and its records from `after_seq + 1` on.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JournalRecords {
    /// The journal's 16-byte file id (header bytes 12..28).
    pub file_id: [u8; 16],
    /// Offline decisions, resolutions and closed incidents with `seq > after_seq`, in order.
    pub records: Vec<JournalRecord>,
    /// Highest sequence number read (trust marks included), or 0 for an empty journal.
    pub last_seq: u64,
    /// The records start at the journal's first record: always for
    /// [`read_journal_records`]; for a [`JournalFollower`], its first read or a journal
    /// replaced (another file id) or truncated since its previous read.
    pub restarted: bool,
}

/// Read a journal without opening it for writing (like [`read_journal`]), keeping what a
/// ledger shipper needs: offline decisions with their re-check fields, and resolutions.
/// Records up to `after_seq` are decoded (the journal authenticates them as a chain) but
/// not returned. A torn tail is ignored, as on open. What is returned is durable: the file
/// is fsynced after the read (see [`JournalFollower`]). To read a growing journal
/// repeatedly, a [`JournalFollower`] decodes only what was appended since its last read.
pub fn read_journal_records(
    path: impl AsRef<std::path::Path>,
    key: &andal_journal::JournalKey,
    after_seq: u64,
) -> Result<JournalRecords, crate::Error> {
    let io = |e| crate::Error::Journal(std::sync::Arc::new(andal_journal::JournalError::Io(e)));
    let mut file = std::fs::File::open(path.as_ref()).map_err(io)?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut bytes).map_err(io)?;
    let (records, _recovery) = andal_journal::decode_journal(&bytes, key)
        .map_err(|e| crate::Error::Journal(std::sync::Arc::new(e)))?;
    if !records.is_empty() {
        // Written is not durable: only what an fsync covers may be shipped (JournalFollower).
        file.sync_data().map_err(io)?;
    }
    // decode_journal verified the header (CRC, key check value, MAC in version 2).
    let mut file_id = [0u8; 16];
    if bytes.len() >= 28 {
        file_id.copy_from_slice(&bytes[12..28]);
    }
    let last_seq = records.last().map_or(0, |r| r.seq);
    let records = shipping_records(records.into_iter().filter(|r| r.seq > after_seq))?;
    Ok(JournalRecords {
        file_id,
        records,
        last_seq,
        restarted: true,
    })
}

/// The offline decisions, resolutions and closed incidents among raw journal records
/// (trust marks dropped).
fn shipping_records(
    records: impl IntoIterator<Item = andal_journal::Record>,
) -> Result<Vec<JournalRecord>, crate::Error> {
    let mut out = Vec::new();
    for r in records {
        match serde_json::from_slice::<Entry>(&r.payload) {
            Ok(Entry::OfflineDecision(d)) => out.push(JournalRecord::OfflineDecision {
                seq: r.seq,
                decision: OfflineDecision(d),
            }),
            Ok(Entry::Resolution(res)) => out.push(JournalRecord::Resolution {
                seq: r.seq,
                decision_seq: res.decision_seq,
                at: res.at,
                outcome: res.outcome,
            }),
            Ok(Entry::IncidentClosed(_)) => {
                let i: IncidentRecordFull = serde_json::from_slice(&r.payload).map_err(|e| {
                    crate::Error::Protocol(format!(
                        "journal record {} is not a valid incident record: {e}",
                        r.seq
                    ))
                })?;
                out.push(JournalRecord::Incident {
                    seq: r.seq,
                    recording_since: i.recording_since,
                    incident: i.incident,
                })
            }
            Ok(Entry::TrustMark(_)) => {}
            Err(e) => {
                return Err(crate::Error::Protocol(format!(
                    "journal record {} is not a known record type: {e}",
                    r.seq
                )));
            }
        }
    }
    Ok(out)
}

/// Follows a journal a running client appends to, for a ledger shipper: each
/// [`read_new`](Self::read_new) decodes only the records appended since the previous one
/// (all of them on the first), without opening the journal for writing. A write in
/// progress or a torn tail ends a read and is read again once complete; a journal
/// replaced by another file (another file id) or truncated is read again from its start
/// ([`JournalRecords::restarted`]).
///
/// Only durable records are returned: a read that found new records fsyncs the file (its
/// own read-only handle) before returning them, so a record the writer wrote but had not
/// yet synced cannot be shipped and then lost, its sequence number reused, in a power
/// loss. One fsync per read that returned records ([`syncs`](Self::syncs)); see
/// [`andal_journal::JournalTail`].
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("offline.journal");
/// let key = andal::JournalKey::from_bytes([7; 32]);
/// # drop(andal_journal::Journal::open(&path, &key, Default::default()).unwrap());
/// let mut follower = andal::JournalFollower::new(&path, &key);
/// let first = follower.read_new()?;
/// assert!(first.restarted && first.records.is_empty());
/// assert!(follower.read_new()?.records.is_empty()); // nothing appended since
/// # Ok::<(), andal::Error>(())
/// ```
#[derive(Debug)]
pub struct JournalFollower {
    tail: andal_journal::JournalTail,
}

impl JournalFollower {
    /// A follower of the journal at `path`; nothing is read until [`read_new`](Self::read_new).
    pub fn new(path: impl AsRef<std::path::Path>, key: &andal_journal::JournalKey) -> Self {
        JournalFollower {
            tail: andal_journal::JournalTail::new(path, key),
        }
    }

    /// The offline decisions and resolutions appended since the previous call, with the
    /// journal's file id and the last sequence number read so far (trust marks included).
    /// A record that is not a known type is an error and is read again next time.
    pub fn read_new(&mut self) -> Result<JournalRecords, crate::Error> {
        let read = self
            .tail
            .read_new()
            .map_err(|e| crate::Error::Journal(std::sync::Arc::new(e)))?;
        let records = match shipping_records(read.records) {
            Ok(r) => r,
            Err(e) => {
                // Nothing of this read is returned: start over next time.
                self.tail.rewind();
                return Err(e);
            }
        };
        Ok(JournalRecords {
            file_id: read.file_id,
            records,
            last_seq: read.last_seq,
            restarted: read.restarted,
        })
    }

    /// Journal records decrypted so far by this follower (trust marks included): the
    /// cost of following, for tests and benchmarks.
    pub fn records_read(&self) -> u64 {
        self.tail.records_read()
    }

    /// Forget the position: the next read starts at the journal's first record.
    pub fn rewind(&mut self) {
        self.tail.rewind();
    }

    /// `fdatasync` calls made so far by this follower: one per read that returned records.
    pub fn syncs(&self) -> u64 {
        self.tail.syncs()
    }

    /// Test hook: replaces the sync step of a read ([`andal_journal::JournalTail`]).
    #[doc(hidden)]
    pub fn set_sync_hook(&mut self, hook: andal_journal::SyncHook) {
        self.tail.set_sync_hook(hook);
    }
}

/// Offline decisions in an open journal that no resolution record settles yet (the
/// journal backlog metric).
pub(crate) fn pending_decisions(
    journal: &andal_journal::Journal,
) -> Result<usize, andal_journal::JournalError> {
    let mut decisions = std::collections::HashSet::new();
    for r in journal.records()? {
        match serde_json::from_slice::<Entry>(&r.payload) {
            Ok(Entry::OfflineDecision(_)) => {
                decisions.insert(r.seq);
            }
            Ok(Entry::Resolution(res)) => {
                decisions.remove(&res.decision_seq);
            }
            _ => {}
        }
    }
    Ok(decisions.len())
}
