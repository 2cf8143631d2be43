//! The shipper: reads a node's journal without opening it for writing, and ships every
//! offline decision (sealed), every node-side resolution and every closed incident (the
//! node journals each incident as it closes), plus the incidents and complete series
//! seconds of the node's outage record when given one, to the ledger, exactly once.
//!
//! Exactly once = at least once + idempotent writes. At least once: the shipper always
//! resumes from the cursor the database holds (`ledger_ship_cursor`, written in the same
//! transaction as the batch it covers), and the journal keeps every acknowledged record.
//! Idempotent: decisions are keyed by (node id, journal file id, seq) and inserted with
//! `ON CONFLICT DO NOTHING`; resolutions only move a `pending` row to a final state;
//! incidents are keyed by (node id, recording start, incident id), series by (node id, t).
//! A shipper killed anywhere (before, inside or after a commit) re-ships at most the last
//! batch, which the keys turn into no-ops.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use andal::outage::OutageReport;
use andal::resilience::{SharedClock, SystemClock};
use andal::{JournalFollower, JournalKey, JournalRecord, JournalRecords, ReconcileOutcome};
use postgres::Client as Db;

use crate::{LedgerDb, LedgerError, LedgerKey, schema};

/// Default records per transaction.
pub const DEFAULT_BATCH: usize = 500;

/// What one node ships.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ShipperConfig {
    /// Stable node id (a branch server's name, a worker id): part of every key.
    pub node_id: String,
    /// The registry host this node checks against (fleet incidents merge per host).
    pub upstream_host: String,
    /// The node's journal file.
    pub journal_path: PathBuf,
    /// Records per transaction (1 = one by one).
    pub batch_size: usize,
    /// The shipper's clock: its wall time for the age of a decision, its monotonic time
    /// for how long a decision has waited since the shipper first read it ([`ShipLag`]).
    pub clock: SharedClock,
}

impl ShipperConfig {
    /// A configuration with the default batch size.
    pub fn new(
        node_id: impl Into<String>,
        upstream_host: impl Into<String>,
        journal_path: impl Into<PathBuf>,
    ) -> Self {
        ShipperConfig {
            node_id: node_id.into(),
            upstream_host: upstream_host.into(),
            journal_path: journal_path.into(),
            batch_size: DEFAULT_BATCH,
            clock: SystemClock::shared(),
        }
    }

    /// The clock the ship lag is measured with (default: the system clock; tests inject a
    /// `ManualClock`).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Records per transaction (at least 1).
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }
}

/// What one shipping pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShipStats {
    /// Offline decisions newly stored (a re-shipped one counts 0).
    pub decisions: u64,
    /// Node resolutions applied.
    pub resolutions: u64,
    /// Transactions committed.
    pub batches: u64,
    /// Journal sequence number shipped through.
    pub shipped_through: u64,
    /// Closed incidents newly stored.
    pub incidents: u64,
    /// Journal records decrypted by this pass (trust marks included): the records appended
    /// since the previous pass; the whole journal on a shipper's first pass.
    pub records_read: u64,
}

/// How far the ledger was behind the node's journal when the last pass began (before it
/// shipped anything): what an operator alerts on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShipLag {
    /// Journal records (of any kind) past what the ledger holds. Before the shipper has
    /// reached the database once, every record counts.
    pub records: u64,
    /// Age in whole seconds of the oldest offline decision not yet in the ledger (0: none):
    /// from its journaled decision time to this host's clock, or from when this shipper
    /// first read it (by its monotonic clock), whichever is longer. The decision time was
    /// stamped by the node's clock: if that clock runs ahead of this host's, the first
    /// measure alone would read 0 however long the decision waits; the second is a lower
    /// bound that no clock skew can hide.
    pub oldest_decision_secs: u64,
    /// How far ahead of this host's clock, in whole seconds, the node stamped the offline
    /// decisions read by the last pass that read any (0: not ahead). A decision time in
    /// the future says the node's clock is wrong (or this host's).
    pub node_clock_ahead_secs: u64,
}

/// Records of one journal file (one file id) read and not yet known to be in the ledger.
struct Segment {
    file_id: [u8; 16],
    /// Last sequence number read from the file (trust marks included).
    last_seq: u64,
    /// Offline decisions and resolutions past `cursor`, in order.
    records: VecDeque<JournalRecord>,
    /// The ledger's cursor for this file, as last read or committed (`None`: not asked).
    cursor: Option<u64>,
    /// When this shipper first read the records: (last seq of a read, the shipper's
    /// monotonic time then), in order. A record was first seen at the first mark at or
    /// past its seq.
    seen: VecDeque<(u64, Instant)>,
}

impl Segment {
    /// When this shipper first read the record `seq` of this file.
    fn first_seen(&self, seq: u64) -> Option<Instant> {
        self.seen
            .iter()
            .find(|(through, _)| *through >= seq)
            .map(|m| m.1)
    }
}

/// A connection shipping one node's journal. It follows the journal
/// ([`andal::JournalFollower`]): a pass decodes only the records appended since the
/// previous one, and what it read stays in memory until committed, across database errors
/// (the connection is re-opened on the next pass).
pub struct Shipper {
    target: LedgerDb,
    db: Option<Db>,
    config: ShipperConfig,
    ledger_key: LedgerKey,
    series_through: i64,
    follower: JournalFollower,
    /// Oldest file first; the last one is the journal's current file.
    segments: VecDeque<Segment>,
    lag: ShipLag,
    /// [`ShipLag::node_clock_ahead_secs`] of the last read that held offline decisions.
    node_clock_ahead: u64,
}

impl std::fmt::Debug for Shipper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it may hold the database password.
        f.debug_struct("Shipper")
            .field("node_id", &self.config.node_id)
            .field("connected", &self.db.is_some())
            .field("lag", &self.lag)
            .finish_non_exhaustive()
    }
}

impl Shipper {
    /// Connect (a URL, or a [`LedgerDb`] with its CA) and check the schema version.
    pub fn connect(
        db: impl Into<LedgerDb>,
        config: ShipperConfig,
        journal_key: JournalKey,
        ledger_key: LedgerKey,
    ) -> Result<Self, LedgerError> {
        let mut s = Self::new(db, config, journal_key, ledger_key)?;
        s.db = Some(schema::connect(&s.target)?);
        Ok(s)
    }

    /// A shipper that connects on its first pass (as the background loop does): it reads
    /// the journal and measures the lag ([`lag`](Self::lag)) even while the database is
    /// unreachable, and reconnects by itself after an error.
    pub fn new(
        db: impl Into<LedgerDb>,
        config: ShipperConfig,
        journal_key: JournalKey,
        ledger_key: LedgerKey,
    ) -> Result<Self, LedgerError> {
        if config.node_id.is_empty() || config.node_id.len() > 200 {
            return Err(LedgerError::Config("node id must be 1-200 bytes".into()));
        }
        Ok(Shipper {
            target: db.into(),
            db: None,
            follower: JournalFollower::new(&config.journal_path, &journal_key),
            config,
            ledger_key,
            series_through: i64::MIN,
            segments: VecDeque::new(),
            lag: ShipLag::default(),
            node_clock_ahead: 0,
        })
    }

    /// The node this shipper ships for.
    pub fn node_id(&self) -> &str {
        &self.config.node_id
    }

    /// The lag the last [`ship_journal`](Self::ship_journal) found when it began.
    pub fn lag(&self) -> ShipLag {
        self.lag
    }

    /// Journal records decrypted by this shipper so far (trust marks included).
    pub fn records_read(&self) -> u64 {
        self.follower.records_read()
    }

    /// Journal fsyncs made by this shipper so far: one per pass that read new records
    /// (what it ships must be durable first: [`andal::JournalFollower`]).
    pub fn journal_syncs(&self) -> u64 {
        self.follower.syncs()
    }

    /// Test hook: replaces the journal sync step that precedes shipping.
    #[doc(hidden)]
    pub fn set_journal_sync_hook(&mut self, hook: andal_journal::SyncHook) {
        self.follower.set_sync_hook(hook);
    }

    fn db(&mut self) -> Result<&mut Db, LedgerError> {
        if self.db.is_none() {
            self.db = Some(schema::connect(&self.target)?);
        }
        Ok(self.db.as_mut().expect("connected above"))
    }

    /// Ship everything the journal holds past the cursor the database keeps, one batch per
    /// transaction. A missing journal file ships nothing (the node has not made one yet).
    ///
    /// Only the records appended since the previous pass are read; the database's cursor is
    /// asked on every pass all the same, and a cursor lower than what this shipper committed
    /// (a database restored from an older backup) makes it read and re-ship the whole
    /// journal. A database error keeps what was read for the next pass and re-opens the
    /// connection then.
    pub fn ship_journal(&mut self) -> Result<ShipStats, LedgerError> {
        let mut stats = ShipStats::default();
        let before = self.follower.records_read();
        let result = self.ship_journal_inner(&mut stats);
        stats.records_read = self.follower.records_read() - before;
        if let Err(LedgerError::Db(_)) = &result {
            self.db = None;
        }
        result.map(|()| stats)
    }

    fn ship_journal_inner(&mut self, stats: &mut ShipStats) -> Result<(), LedgerError> {
        if !self.config.journal_path.exists() {
            self.lag = ShipLag::default();
            return Ok(());
        }
        let read = self.follower.read_new()?;
        self.take(read);
        let consistent = self.refresh_cursors();
        self.lag = self.measure_lag();
        if !consistent? {
            tracing::warn!(
                target: "andal::ledger",
                node = %self.config.node_id,
                "the ledger holds less of this journal than was shipped (restored from a backup?): re-shipping it from the start"
            );
            self.follower.rewind();
            self.segments.pop_back();
            let read = self.follower.read_new()?;
            self.take(read);
            // Fresh segments have no committed cursor to contradict.
            self.refresh_cursors()?;
            self.lag = self.measure_lag();
        }
        let batch = self.config.batch_size.max(1);
        while !self.segments.is_empty() {
            let seg = &self.segments[0];
            let (file_id, cursor) = (seg.file_id, seg.cursor.unwrap_or(0));
            if seg.last_seq > cursor {
                loop {
                    let seg = &mut self.segments[0];
                    let n = seg.records.len().min(batch);
                    let chunk: Vec<JournalRecord> = seg.records.drain(..n).collect();
                    // The last batch carries the cursor to the file's end (trust marks included).
                    let through = match chunk.last() {
                        Some(r) if !seg.records.is_empty() => record_seq(r),
                        _ => seg.last_seq,
                    };
                    match self.ship_batch(&file_id, &chunk, through as i64) {
                        Ok((d, r, i)) => {
                            stats.decisions += d;
                            stats.resolutions += r;
                            stats.incidents += i;
                            stats.batches += 1;
                            self.segments[0].cursor = Some(through);
                        }
                        Err(e) => {
                            // Not committed (or not known to be): keep it for the next pass.
                            let seg = &mut self.segments[0];
                            for r in chunk.into_iter().rev() {
                                seg.records.push_front(r);
                            }
                            return Err(e);
                        }
                    }
                    if self.segments[0].records.is_empty() {
                        break;
                    }
                }
            }
            if self.segments.len() == 1 {
                break;
            }
            // An earlier file (the journal was replaced) is done.
            self.segments.pop_front();
        }
        stats.shipped_through = self.segments.back().and_then(|s| s.cursor).unwrap_or(0);
        Ok(())
    }

    /// Adds a read to the segments.
    fn take(&mut self, read: JournalRecords) {
        let now = self.config.clock.now();
        let wall = unix_secs(&self.config.clock);
        let ahead = read
            .records
            .iter()
            .filter_map(|r| match r {
                JournalRecord::OfflineDecision { decision, .. } => {
                    Some(decision.decided_at().saturating_sub(wall))
                }
                _ => None,
            })
            .max();
        if let Some(a) = ahead {
            self.node_clock_ahead = a;
        }
        // A record read again (the file re-read from its start) keeps its first sighting.
        let mut seen = VecDeque::new();
        if read.restarted {
            // The file read again from its start: this read supersedes what is held of it.
            if let Some(old) = self.segments.iter().position(|s| s.file_id == read.file_id) {
                seen = self
                    .segments
                    .remove(old)
                    .map(|s| s.seen)
                    .unwrap_or_default();
            }
        }
        match self.segments.back_mut() {
            Some(seg) if seg.file_id == read.file_id => {
                if read.last_seq > seg.last_seq {
                    seg.seen.push_back((read.last_seq, now));
                }
                seg.records.extend(read.records);
                seg.last_seq = read.last_seq;
            }
            _ => {
                seen.push_back((read.last_seq, now));
                self.segments.push_back(Segment {
                    file_id: read.file_id,
                    last_seq: read.last_seq,
                    records: read.records.into(),
                    cursor: None,
                    seen,
                })
            }
        }
    }

    /// Asks the database for every held file's cursor and drops what it already holds.
    /// `Ok(false)`: the current file's cursor went backwards (the database lost what was
    /// committed); the file is to be read again.
    fn refresh_cursors(&mut self) -> Result<bool, LedgerError> {
        let node = self.config.node_id.clone();
        let ids: Vec<Vec<u8>> = self.segments.iter().map(|s| s.file_id.to_vec()).collect();
        let db = self.db()?;
        let mut cursors = Vec::with_capacity(ids.len());
        for id in &ids {
            let c: i64 = db
                .query_opt(
                    "SELECT shipped_through FROM ledger_ship_cursor WHERE node_id = $1 AND file_id = $2",
                    &[&node, id],
                )?
                .map(|r| r.get(0))
                .unwrap_or(0);
            cursors.push(c.max(0) as u64);
        }
        let n = self.segments.len();
        for (i, (seg, c)) in self.segments.iter_mut().zip(cursors).enumerate() {
            if seg.cursor.is_some_and(|known| c < known) {
                if i + 1 == n {
                    return Ok(false);
                }
                // A replaced file cannot be read again: ship what is still held of it.
                tracing::warn!(
                    target: "andal::ledger",
                    node = %node,
                    "the ledger holds less of a replaced journal file than was shipped; what \
                     this shipper no longer holds of it cannot be re-shipped"
                );
            }
            seg.cursor = Some(c);
            while seg.records.front().is_some_and(|r| record_seq(r) <= c) {
                seg.records.pop_front();
            }
            while seg.seen.len() > 1 && seg.seen.front().is_some_and(|m| m.0 <= c) {
                seg.seen.pop_front();
            }
        }
        Ok(true)
    }

    fn measure_lag(&self) -> ShipLag {
        let wall = unix_secs(&self.config.clock);
        let now = self.config.clock.now();
        let mut lag = ShipLag {
            node_clock_ahead_secs: self.node_clock_ahead,
            ..ShipLag::default()
        };
        let mut oldest_decided: Option<u64> = None;
        let mut first_seen: Option<Instant> = None;
        for seg in &self.segments {
            let cursor = seg.cursor.unwrap_or(0);
            lag.records += seg.last_seq.saturating_sub(cursor);
            for r in &seg.records {
                if let JournalRecord::OfflineDecision { seq, decision } = r
                    && *seq > cursor
                {
                    let t = decision.decided_at();
                    oldest_decided = Some(oldest_decided.map_or(t, |o| o.min(t)));
                    if let Some(at) = seg.first_seen(*seq) {
                        first_seen = Some(first_seen.map_or(at, |o| o.min(at)));
                    }
                }
            }
        }
        // The node's clock stamped `decided_at`; the shipper's own monotonic clock measures
        // the wait since it first read the decision. The longer of the two: skew between the
        // clocks can shorten the first, never the second.
        let by_stamp = oldest_decided.map_or(0, |t| wall.saturating_sub(t));
        let by_sight = first_seen.map_or(0, |at| now.saturating_duration_since(at).as_secs());
        lag.oldest_decision_secs = by_stamp.max(by_sight);
        lag
    }

    fn ship_batch(
        &mut self,
        file_id: &[u8],
        chunk: &[JournalRecord],
        through: i64,
    ) -> Result<(u64, u64, u64), LedgerError> {
        let node = self.config.node_id.clone();
        let host = self.config.upstream_host.clone();
        let mut seqs = Vec::new();
        let mut decided = Vec::new();
        let mut masked = Vec::new();
        let mut tokens = Vec::new();
        let mut keys = Vec::new();
        let mut verdicts = Vec::new();
        let mut failures = Vec::new();
        let mut incidents: Vec<Option<i64>> = Vec::new();
        let mut sealed = Vec::new();
        let mut resolutions = Vec::new();
        let mut closed = Vec::new();
        for r in chunk {
            match r {
                JournalRecord::OfflineDecision { seq, decision } => {
                    let seq = *seq as i64;
                    seqs.push(seq);
                    decided.push(decision.decided_at() as i64);
                    masked.push(decision.nik_masked());
                    tokens.push(decision.token_id().to_owned());
                    keys.push(decision.key_id().to_owned());
                    verdicts.push(decision.verdict().as_str().to_owned());
                    failures.push(decision.online_failure().to_owned());
                    incidents.push(decision.incident().map(|i| i as i64));
                    sealed.push(self.ledger_key.seal(
                        &node,
                        file_id,
                        seq,
                        &decision.to_sealable_bytes(),
                    )?);
                }
                JournalRecord::Resolution {
                    decision_seq,
                    at,
                    outcome,
                    ..
                } => resolutions.push((*decision_seq as i64, *at as i64, outcome.clone())),
                JournalRecord::Incident {
                    recording_since,
                    incident,
                    ..
                } => closed.push((recording_since, incident)),
                _ => {}
            }
        }
        let key_id = self.ledger_key.id().to_owned();
        let mut tx = self.db()?.transaction()?;
        tx.execute(
            "INSERT INTO ledger_nodes (node_id, upstream_host) VALUES ($1, $2)
             ON CONFLICT (node_id) DO UPDATE SET last_shipped = now(), upstream_host = EXCLUDED.upstream_host",
            &[&node, &host],
        )?;
        let mut inserted = 0;
        if !seqs.is_empty() {
            inserted = tx.execute(
                "INSERT INTO ledger_decisions (node_id, file_id, seq, upstream_host, decided_at,
                     nik_masked, token_id, key_id, verdict, online_failure, node_incident,
                     seal_key_id, sealed)
                 SELECT $1, $2, s, $3, to_timestamp(d), m, t, k, v, f, i, $4, x
                 FROM unnest($5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::text[],
                             $10::text[], $11::text[], $12::bigint[], $13::bytea[])
                      AS u(s, d, m, t, k, v, f, i, x)
                 ON CONFLICT (node_id, file_id, seq) DO NOTHING",
                &[
                    &node, &file_id, &host, &key_id, &seqs, &decided, &masked, &tokens, &keys,
                    &verdicts, &failures, &incidents, &sealed,
                ],
            )?;
        }
        let mut resolved = 0;
        for (seq, at, outcome) in &resolutions {
            let (state, reason) = match outcome {
                ReconcileOutcome::Confirmed => ("confirmed", None),
                ReconcileOutcome::Contradicted { reason } => {
                    ("contradicted", Some(crate::contradiction_label(*reason)))
                }
                _ => continue,
            };
            resolved += tx.execute(
                "UPDATE ledger_decisions SET state = $4, contradiction = $5,
                     resolved_by = 'node', resolved_at = to_timestamp($6::bigint)
                 WHERE node_id = $1 AND file_id = $2 AND seq = $3 AND state = 'pending'",
                &[&node, &file_id, seq, &state, &reason, at],
            )?;
        }
        // Keyed like the outage-record path: whichever ships an incident first stores it.
        let mut incidents_new = 0;
        for (recording_since, inc) in closed {
            incidents_new += insert_incident(&mut tx, &node, &host, recording_since, inc)?;
        }
        tx.execute(
            "INSERT INTO ledger_ship_cursor (node_id, file_id, shipped_through) VALUES ($1, $2, $3)
             ON CONFLICT (node_id, file_id) DO UPDATE
               SET shipped_through = GREATEST(ledger_ship_cursor.shipped_through, EXCLUDED.shipped_through),
                   updated_at = now()",
            &[&node, &file_id, &through],
        )?;
        tx.commit()?;
        Ok((inserted, resolved, incidents_new))
    }

    /// Ship the closed incidents and the complete seconds of the node's outage record.
    /// Returns how many incidents were new.
    pub fn ship_outage_report(&mut self, report: &OutageReport) -> Result<u64, LedgerError> {
        let result = self.ship_outage_report_inner(report);
        if let Err(LedgerError::Db(_)) = &result {
            self.db = None;
        }
        result
    }

    fn ship_outage_report_inner(&mut self, report: &OutageReport) -> Result<u64, LedgerError> {
        let node = self.config.node_id.clone();
        let host = self.config.upstream_host.clone();
        let series_through = self.series_through;
        let mut tx = self.db()?.transaction()?;
        let mut new = 0;
        for inc in report.incidents.iter().filter(|i| !i.ongoing) {
            new += insert_incident(&mut tx, &node, &host, &report.recording_since, inc)?;
        }
        // Every bucket but the last, which may still be filling.
        let buckets = &report.series.buckets;
        let complete = &buckets[..buckets.len().saturating_sub(1)];
        let fresh: Vec<_> = complete.iter().filter(|b| b.t > series_through).collect();
        if !fresh.is_empty() {
            let t: Vec<i64> = fresh.iter().map(|b| b.t).collect();
            let state: Vec<String> = fresh
                .iter()
                .map(|b| {
                    serde_json::to_value(b.breaker)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_else(|| "closed".into())
                })
                .collect();
            let col = |f: fn(&andal::outage::SeriesBucket) -> u32| -> Vec<i32> {
                fresh.iter().map(|b| f(b) as i32).collect()
            };
            tx.execute(
                "INSERT INTO ledger_series (node_id, upstream_host, t, breaker, online, offline,
                     refused, rejected, rechecks)
                 SELECT $1, $2, t, b, o, f, r, j, c
                 FROM unnest($3::bigint[], $4::text[], $5::int[], $6::int[], $7::int[], $8::int[],
                             $9::int[]) AS u(t, b, o, f, r, j, c)
                 ON CONFLICT (node_id, t) DO UPDATE SET breaker = EXCLUDED.breaker,
                     online = EXCLUDED.online, offline = EXCLUDED.offline,
                     refused = EXCLUDED.refused, rejected = EXCLUDED.rejected,
                     rechecks = EXCLUDED.rechecks",
                &[
                    &node,
                    &host,
                    &t,
                    &state,
                    &col(|b| b.online),
                    &col(|b| b.offline),
                    &col(|b| b.refused),
                    &col(|b| b.rejected),
                    &col(|b| b.rechecks),
                ],
            )?;
        }
        tx.commit()?;
        if let Some(last) = fresh.last() {
            self.series_through = last.t;
        }
        Ok(new)
    }
}

/// The clock's wall time in unix seconds (0 before 1970).
fn unix_secs(clock: &SharedClock) -> u64 {
    clock
        .wall()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Stores one closed incident of a node's outage record (from the journal or the outage
/// record file); 1 if it was new, 0 if the ledger already held it (same key).
fn insert_incident(
    tx: &mut postgres::Transaction<'_>,
    node: &str,
    host: &str,
    recording_since: &str,
    inc: &andal::outage::Incident,
) -> Result<u64, LedgerError> {
    let Some(ended) = inc.ended_at.as_ref().filter(|_| !inc.ongoing) else {
        return Ok(0);
    };
    let causes = serde_json::to_string(&inc.causes).unwrap_or_else(|_| "{}".into());
    let c = &inc.checks;
    Ok(tx.execute(
        "INSERT INTO ledger_incidents (node_id, recording_since, incident_id, upstream_host,
             opened_by, started_at, ended_at, duration_ms, causes, online, offline, refused,
             rejected, rechecks, breaker_transitions, breaker_rejections)
         VALUES ($1, $2::text::timestamptz, $3, $4, $5, $6::text::timestamptz,
                 $7::text::timestamptz, $8, $9::text::jsonb, $10, $11, $12, $13, $14, $15, $16)
         ON CONFLICT (node_id, recording_since, incident_id) DO NOTHING",
        &[
            &node,
            &recording_since,
            &(inc.id.0 as i64),
            &host,
            &serde_json::to_value(inc.opened_by)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            &inc.started_at,
            ended,
            &(inc.duration_ms as i64),
            &causes,
            &(c.online as i64),
            &(c.offline as i64),
            &(c.refused as i64),
            &(c.rejected as i64),
            &(c.rechecks as i64),
            &(inc.breaker_transitions as i64),
            &(inc.breaker_rejections as i64),
        ],
    )?)
}

fn record_seq(r: &JournalRecord) -> u64 {
    match r {
        JournalRecord::OfflineDecision { seq, .. }
        | JournalRecord::Resolution { seq, .. }
        | JournalRecord::Incident { seq, .. } => *seq,
        _ => 0,
    }
}

/// Where the background shipper finds the node's outage record.
pub enum OutageSource {
    /// None: ship the journal only.
    None,
    /// A running client's recorder (the in-process shipper).
    Client(andal::Client),
    /// A JSON export the node rewrites (`OutageReport::to_json`), read each pass.
    File(PathBuf),
}

/// The shipper's progress, readable while it runs.
#[derive(Debug, Default)]
pub struct ShipProgress {
    /// Passes completed without error.
    pub passes: AtomicU64,
    /// Offline decisions stored so far by this thread.
    pub decisions: AtomicU64,
    /// Errors met (each followed by a reconnect after a backoff).
    pub errors: AtomicU64,
    /// Journal sequence number shipped through.
    pub shipped_through: AtomicU64,
    /// Journal records past what the ledger held when the last pass began ([`ShipLag`]).
    pub lag_records: AtomicU64,
    /// Journal records decrypted so far (trust marks included).
    pub records_read: AtomicU64,
}

/// Names of the shipper's series (docs/metrics.md); each has one label, `node` (the
/// shipper's node id: one value per shipper).
pub mod metric_names {
    /// Counter: offline decisions newly stored in the ledger.
    pub const DECISIONS: &str = "andal_ship_decisions_total";
    /// Counter: passes completed without error.
    pub const PASSES: &str = "andal_ship_passes_total";
    /// Counter: passes that failed (each followed by a reconnect after a backoff).
    pub const ERRORS: &str = "andal_ship_errors_total";
    /// Gauge: journal sequence number shipped through.
    pub const SHIPPED_THROUGH: &str = "andal_ship_shipped_through";
    /// Gauge: journal records not yet in the ledger when the last pass began.
    pub const LAG_RECORDS: &str = "andal_ship_lag_records";
    /// Gauge: age of the oldest offline decision not yet in the ledger, in seconds.
    pub const LAG_SECONDS: &str = "andal_ship_lag_seconds";
    /// Gauge: how far ahead of the shipper's clock the node stamped its latest offline
    /// decisions, in seconds (0: not ahead).
    pub const NODE_CLOCK_AHEAD: &str = "andal_ship_node_clock_ahead_seconds";
    /// Counter: journal records decrypted by the shipper (the cost of following).
    pub const RECORDS_READ: &str = "andal_ship_journal_records_read_total";
}

/// The shipper's series, registered once with the recorder installed when it is built (as
/// a client's are; no-op handles without one). [`spawn`] and [`run_loop`] build and update
/// them; a one-pass tool calls [`record_pass`](Self::record_pass) itself.
pub struct ShipMetrics {
    decisions: metrics::Counter,
    passes: metrics::Counter,
    errors: metrics::Counter,
    records_read: metrics::Counter,
    shipped_through: metrics::Gauge,
    lag_records: metrics::Gauge,
    lag_seconds: metrics::Gauge,
    node_clock_ahead: metrics::Gauge,
    /// The shipper's records-read total at the last update (the counter takes the growth).
    records_seen: AtomicU64,
}

impl std::fmt::Debug for ShipMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShipMetrics").finish_non_exhaustive()
    }
}

impl ShipMetrics {
    /// Registers the series of the shipper of `node_id`.
    pub fn new(node_id: &str) -> Self {
        use metric_names::*;
        use metrics::Unit;
        metrics::describe_counter!(
            DECISIONS,
            Unit::Count,
            "Offline decisions newly stored in the ledger by this shipper"
        );
        metrics::describe_counter!(
            PASSES,
            Unit::Count,
            "Shipping passes completed without error"
        );
        metrics::describe_counter!(
            ERRORS,
            Unit::Count,
            "Shipping passes that failed (each followed by a reconnect after a backoff)"
        );
        metrics::describe_counter!(
            RECORDS_READ,
            Unit::Count,
            "Journal records decrypted by the shipper (only new ones after its first pass)"
        );
        metrics::describe_gauge!(SHIPPED_THROUGH, "Journal sequence number shipped through");
        metrics::describe_gauge!(
            LAG_RECORDS,
            Unit::Count,
            "Journal records not yet in the ledger when the last shipping pass began"
        );
        metrics::describe_gauge!(
            LAG_SECONDS,
            Unit::Seconds,
            "Age of the oldest offline decision not yet in the ledger when the last pass began \
             (by its decision time or since the shipper first read it, whichever is longer)"
        );
        metrics::describe_gauge!(
            NODE_CLOCK_AHEAD,
            Unit::Seconds,
            "How far ahead of the shipper's clock the node stamped its latest offline decisions"
        );
        let node = node_id.to_owned();
        ShipMetrics {
            decisions: metrics::counter!(DECISIONS, "node" => node.clone()),
            passes: metrics::counter!(PASSES, "node" => node.clone()),
            errors: metrics::counter!(ERRORS, "node" => node.clone()),
            records_read: metrics::counter!(RECORDS_READ, "node" => node.clone()),
            shipped_through: metrics::gauge!(SHIPPED_THROUGH, "node" => node.clone()),
            lag_records: metrics::gauge!(LAG_RECORDS, "node" => node.clone()),
            lag_seconds: metrics::gauge!(LAG_SECONDS, "node" => node.clone()),
            node_clock_ahead: metrics::gauge!(NODE_CLOCK_AHEAD, "node" => node),
            records_seen: AtomicU64::new(0),
        }
    }

    /// A pass of `shipper` that ended with `result`. Use one `ShipMetrics` per shipper.
    pub fn record_pass(&self, shipper: &Shipper, result: Result<&ShipStats, &LedgerError>) {
        match result {
            Ok(stats) => {
                self.passes.increment(1);
                self.decisions.increment(stats.decisions);
                self.shipped_through.set(stats.shipped_through as f64);
            }
            Err(_) => self.errors.increment(1),
        }
        let total = shipper.records_read();
        let seen = self.records_seen.swap(total, Ordering::Relaxed);
        self.records_read.increment(total.saturating_sub(seen));
        let lag = shipper.lag();
        self.lag_records.set(lag.records as f64);
        self.lag_seconds.set(lag.oldest_decision_secs as f64);
        self.node_clock_ahead.set(lag.node_clock_ahead_secs as f64);
    }
}

/// An opt-in background shipper thread ([`spawn`]). Dropping it stops the thread after its
/// current pass (the journal keeps everything it has not shipped).
pub struct ShipperThread {
    stop: Arc<AtomicBool>,
    progress: Arc<ShipProgress>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl ShipperThread {
    /// Progress counters.
    pub fn progress(&self) -> &ShipProgress {
        &self.progress
    }

    /// Stop after the current pass and wait for the thread.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for ShipperThread {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Options of a shipping loop.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct LoopOptions {
    /// Pause between passes when there was nothing new.
    pub interval: Duration,
    /// Longest pause after errors (doubling from `interval`).
    pub max_backoff: Duration,
}

impl Default for LoopOptions {
    fn default() -> Self {
        LoopOptions {
            interval: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
        }
    }
}

impl LoopOptions {
    /// Pause between idle passes.
    pub fn interval(mut self, d: Duration) -> Self {
        self.interval = d;
        self
    }
}

/// Start a background thread that ships `config`'s journal (and the outage record from
/// `outage`) until stopped. The journal is the buffer: the node's checks never wait on the
/// database; the shipper ships one batch per commit, as fast as the database accepts, and
/// backs off (doubling up to `max_backoff`) and reconnects when it is unreachable.
///
/// Its series ([`ShipMetrics`]: ship lag, backlog, progress) are registered here, on the
/// calling thread, with the recorder installed then.
pub fn spawn(
    db: impl Into<LedgerDb>,
    config: ShipperConfig,
    journal_key: JournalKey,
    ledger_key: LedgerKey,
    outage: OutageSource,
    opts: LoopOptions,
) -> ShipperThread {
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(ShipProgress::default());
    let metrics = ShipMetrics::new(&config.node_id);
    let target = db.into();
    let (s, p) = (stop.clone(), progress.clone());
    let handle = std::thread::Builder::new()
        .name(format!("andal-ship-{}", config.node_id))
        .spawn(move || {
            let keys = (journal_key, ledger_key);
            run(&target, config, keys, &outage, opts, &s, &p, &metrics);
        })
        .expect("spawn shipper thread");
    ShipperThread {
        stop,
        progress,
        handle: Some(handle),
    }
}

/// The shipping loop (used by [`spawn`] and by `andal ship --follow`). Returns when `stop`
/// is set; errors are counted, logged (no personal data) and retried. Publishes the
/// shipper's series ([`ShipMetrics`], registered when the loop starts) after every pass.
#[allow(clippy::too_many_arguments)]
pub fn run_loop(
    db: impl Into<LedgerDb>,
    config: ShipperConfig,
    journal_key: JournalKey,
    ledger_key: LedgerKey,
    outage: &OutageSource,
    opts: LoopOptions,
    stop: &AtomicBool,
    progress: &ShipProgress,
) {
    let metrics = ShipMetrics::new(&config.node_id);
    let keys = (journal_key, ledger_key);
    run(
        &db.into(),
        config,
        keys,
        outage,
        opts,
        stop,
        progress,
        &metrics,
    );
}

#[allow(clippy::too_many_arguments)]
fn run(
    target: &LedgerDb,
    config: ShipperConfig,
    (journal_key, ledger_key): (JournalKey, LedgerKey),
    outage: &OutageSource,
    opts: LoopOptions,
    stop: &AtomicBool,
    progress: &ShipProgress,
    metrics: &ShipMetrics,
) {
    // One shipper for the whole loop: it keeps its place in the journal (and what it read
    // but could not commit) across database errors, and reconnects by itself.
    let mut shipper: Option<Shipper> = None;
    let mut backoff = opts.interval;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let result = (|| -> Result<ShipStats, LedgerError> {
            if shipper.is_none() {
                shipper = Some(Shipper::new(
                    target.clone(),
                    config.clone(),
                    journal_key.clone(),
                    ledger_key.clone(),
                )?);
            }
            let s = shipper.as_mut().expect("built above");
            let mut stats = s.ship_journal()?;
            let report = match outage {
                OutageSource::None => None,
                OutageSource::Client(c) => Some(c.outage_report()),
                OutageSource::File(p) => std::fs::read_to_string(p)
                    .ok()
                    .and_then(|t| OutageReport::from_json(&t).ok()),
            };
            if let Some(r) = report {
                stats.incidents += s.ship_outage_report(&r)?;
            }
            Ok(stats)
        })();
        if let Some(s) = &shipper {
            progress
                .lag_records
                .store(s.lag().records, Ordering::Relaxed);
            progress
                .records_read
                .store(s.records_read(), Ordering::Relaxed);
            metrics.record_pass(s, result.as_ref());
        } else if result.is_err() {
            metrics.errors.increment(1);
        }
        match result {
            Ok(stats) => {
                progress.passes.fetch_add(1, Ordering::Relaxed);
                progress
                    .decisions
                    .fetch_add(stats.decisions, Ordering::Relaxed);
                progress
                    .shipped_through
                    .store(stats.shipped_through, Ordering::Relaxed);
                backoff = opts.interval;
                // A full pass may have left more behind: go again at once.
                if stats.batches <= 1 {
                    sleep_until(stop, started + opts.interval);
                }
            }
            Err(e) => {
                progress.errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(target: "andal::ledger", node = %config.node_id, error = %e, "shipping failed; retrying");
                sleep_until(stop, Instant::now() + backoff);
                backoff = (backoff * 2).min(opts.max_backoff);
            }
        }
    }
}

fn sleep_until(stop: &AtomicBool, until: Instant) {
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= until {
            return;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(50)));
    }
}
