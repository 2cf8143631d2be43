//! The shipper: reads a node's journal without opening it for writing, and ships every
//! offline decision (sealed), every node-side resolution, and the node's closed incidents and
//! complete series seconds to the ledger, exactly once.
//!
//! Exactly once = at least once + idempotent writes. At least once: the shipper always
//! resumes from the cursor the database holds (`ledger_ship_cursor`, written in the same
//! transaction as the batch it covers), and the journal keeps every acknowledged record.
//! Idempotent: decisions are keyed by (node id, journal file id, seq) and inserted with
//! `ON CONFLICT DO NOTHING`; resolutions only move a `pending` row to a final state;
//! incidents are keyed by (node id, recording start, incident id), series by (node id, t).
//! A shipper killed anywhere (before, inside or after a commit) re-ships at most the last
//! batch, which the keys turn into no-ops.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use andal::outage::OutageReport;
use andal::{JournalKey, JournalRecord, ReconcileOutcome};
use postgres::Client as Db;

use crate::{LedgerError, LedgerKey, schema};

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
        }
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
}

/// A connection shipping one node's journal.
pub struct Shipper {
    db: Db,
    config: ShipperConfig,
    journal_key: JournalKey,
    ledger_key: LedgerKey,
    series_through: i64,
}

impl std::fmt::Debug for Shipper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shipper")
            .field("node_id", &self.config.node_id)
            .finish_non_exhaustive()
    }
}

impl Shipper {
    /// Connect and check the schema version.
    pub fn connect(
        url: &str,
        config: ShipperConfig,
        journal_key: JournalKey,
        ledger_key: LedgerKey,
    ) -> Result<Self, LedgerError> {
        if config.node_id.is_empty() || config.node_id.len() > 200 {
            return Err(LedgerError::Config("node id must be 1-200 bytes".into()));
        }
        Ok(Shipper {
            db: schema::connect(url)?,
            config,
            journal_key,
            ledger_key,
            series_through: i64::MIN,
        })
    }

    /// The node this shipper ships for.
    pub fn node_id(&self) -> &str {
        &self.config.node_id
    }

    /// Ship everything the journal holds past the cursor the database keeps, one batch per
    /// transaction. A missing journal file ships nothing (the node has not made one yet).
    pub fn ship_journal(&mut self) -> Result<ShipStats, LedgerError> {
        let mut stats = ShipStats::default();
        if !self.config.journal_path.exists() {
            return Ok(stats);
        }
        let read = andal::read_journal_records(&self.config.journal_path, &self.journal_key, 0)?;
        let file_id = read.file_id.to_vec();
        let node = self.config.node_id.clone();
        let cursor: i64 = self
            .db
            .query_opt(
                "SELECT shipped_through FROM ledger_ship_cursor WHERE node_id = $1 AND file_id = $2",
                &[&node, &file_id],
            )?
            .map(|r| r.get(0))
            .unwrap_or(0);
        stats.shipped_through = cursor as u64;
        if read.last_seq <= cursor as u64 {
            return Ok(stats);
        }
        let pending: Vec<&JournalRecord> = read
            .records
            .iter()
            .filter(|r| record_seq(r) > cursor as u64)
            .collect();
        let mut chunks: Vec<&[&JournalRecord]> = pending.chunks(self.config.batch_size).collect();
        if chunks.is_empty() {
            // Only trust marks past the cursor: move the cursor alone.
            chunks.push(&[]);
        }
        let n = chunks.len();
        for (i, chunk) in chunks.into_iter().enumerate() {
            // The last batch carries the cursor to the journal's end (trust marks included).
            let through = if i + 1 == n {
                read.last_seq
            } else {
                chunk.last().map(|r| record_seq(r)).unwrap_or(read.last_seq)
            };
            let (d, r) = self.ship_batch(&file_id, chunk, through as i64)?;
            stats.decisions += d;
            stats.resolutions += r;
            stats.batches += 1;
            stats.shipped_through = through;
        }
        Ok(stats)
    }

    fn ship_batch(
        &mut self,
        file_id: &[u8],
        chunk: &[&JournalRecord],
        through: i64,
    ) -> Result<(u64, u64), LedgerError> {
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
                _ => {}
            }
        }
        let key_id = self.ledger_key.id().to_owned();
        let mut tx = self.db.transaction()?;
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
        tx.execute(
            "INSERT INTO ledger_ship_cursor (node_id, file_id, shipped_through) VALUES ($1, $2, $3)
             ON CONFLICT (node_id, file_id) DO UPDATE
               SET shipped_through = GREATEST(ledger_ship_cursor.shipped_through, EXCLUDED.shipped_through),
                   updated_at = now()",
            &[&node, &file_id, &through],
        )?;
        tx.commit()?;
        Ok((inserted, resolved))
    }

    /// Ship the closed incidents and the complete seconds of the node's outage record.
    /// Returns how many incidents were new.
    pub fn ship_outage_report(&mut self, report: &OutageReport) -> Result<u64, LedgerError> {
        let node = self.config.node_id.clone();
        let host = self.config.upstream_host.clone();
        let mut tx = self.db.transaction()?;
        let mut new = 0;
        for inc in report.incidents.iter().filter(|i| !i.ongoing) {
            let Some(ended) = &inc.ended_at else { continue };
            let causes = serde_json::to_string(&inc.causes).unwrap_or_else(|_| "{}".into());
            let c = &inc.checks;
            new += tx.execute(
                "INSERT INTO ledger_incidents (node_id, recording_since, incident_id, upstream_host,
                     opened_by, started_at, ended_at, duration_ms, causes, online, offline, refused,
                     rejected, rechecks, breaker_transitions, breaker_rejections)
                 VALUES ($1, $2::text::timestamptz, $3, $4, $5, $6::text::timestamptz,
                         $7::text::timestamptz, $8, $9::text::jsonb, $10, $11, $12, $13, $14, $15, $16)
                 ON CONFLICT (node_id, recording_since, incident_id) DO NOTHING",
                &[
                    &node,
                    &report.recording_since,
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
            )?;
        }
        // Every bucket but the last, which may still be filling.
        let buckets = &report.series.buckets;
        let complete = &buckets[..buckets.len().saturating_sub(1)];
        let fresh: Vec<_> = complete
            .iter()
            .filter(|b| b.t > self.series_through)
            .collect();
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

fn record_seq(r: &JournalRecord) -> u64 {
    match r {
        JournalRecord::OfflineDecision { seq, .. } | JournalRecord::Resolution { seq, .. } => *seq,
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
pub fn spawn(
    url: String,
    config: ShipperConfig,
    journal_key: JournalKey,
    ledger_key: LedgerKey,
    outage: OutageSource,
    opts: LoopOptions,
) -> ShipperThread {
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(ShipProgress::default());
    let (s, p) = (stop.clone(), progress.clone());
    let handle = std::thread::Builder::new()
        .name(format!("andal-ship-{}", config.node_id))
        .spawn(move || {
            run_loop(&url, config, journal_key, ledger_key, &outage, opts, &s, &p);
        })
        .expect("spawn shipper thread");
    ShipperThread {
        stop,
        progress,
        handle: Some(handle),
    }
}

/// The shipping loop (used by [`spawn`] and by `andal ship --follow`). Returns when `stop`
/// is set; errors are counted, logged (no personal data) and retried.
#[allow(clippy::too_many_arguments)]
pub fn run_loop(
    url: &str,
    config: ShipperConfig,
    journal_key: JournalKey,
    ledger_key: LedgerKey,
    outage: &OutageSource,
    opts: LoopOptions,
    stop: &AtomicBool,
    progress: &ShipProgress,
) {
    let mut shipper: Option<Shipper> = None;
    let mut backoff = opts.interval;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let result = (|| -> Result<ShipStats, LedgerError> {
            if shipper.is_none() {
                shipper = Some(Shipper::connect(
                    url,
                    config.clone(),
                    journal_key.clone(),
                    ledger_key.clone(),
                )?);
            }
            let s = shipper.as_mut().expect("connected above");
            let mut stats = s.ship_journal()?;
            let report = match outage {
                OutageSource::None => None,
                OutageSource::Client(c) => Some(c.outage_report()),
                OutageSource::File(p) => std::fs::read_to_string(p)
                    .ok()
                    .and_then(|t| OutageReport::from_json(&t).ok()),
            };
            if let Some(r) = report {
                stats.incidents = s.ship_outage_report(&r)?;
            }
            Ok(stats)
        })();
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
                shipper = None;
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
