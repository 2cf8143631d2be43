//! Central reconciliation: claim pending decisions with `FOR UPDATE SKIP LOCKED`, re-check
//! each through the normal client (breaker, retry budget, deadline), write the outcome back.
//!
//! Each claimed batch is one transaction: the row locks are the claim, so several
//! reconcilers never see the same pending row, and a reconciler that dies releases its rows
//! (the transaction rolls back) for another to take. A decision can then be re-sent after
//! such a crash, but always with the same idempotency key (derived from the decision's
//! identity), so the registry answers the replay from its idempotency store and charges it
//! once.

use andal::{Client, OfflineDecision, ReconcileOutcome};
use postgres::Client as Db;

use crate::{LedgerError, LedgerKey, contradiction_label, key::hex, schema};

/// Default decisions per claim.
pub const DEFAULT_CLAIM: i64 = 16;

/// What one reconciliation pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconcileStats {
    /// Decisions claimed.
    pub claimed: u64,
    /// Confirmed now.
    pub confirmed: u64,
    /// Contradicted now.
    pub contradicted: u64,
    /// Still pending after a re-check (the registry was unavailable).
    pub still_pending: u64,
    /// Set when the pass stopped early because the registry was unavailable.
    pub stopped_by: Option<String>,
}

/// The idempotency key of a decision's central reconciliation: the same on every attempt
/// and every reconciler, unique per decision (SHA-256 of its identity).
pub fn idempotency_key(node_id: &str, file_id: &[u8], seq: i64) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(b"andal-ledger/v1/reconcile\0");
    ctx.update(&(node_id.len() as u32).to_le_bytes());
    ctx.update(node_id.as_bytes());
    ctx.update(file_id);
    ctx.update(&seq.to_le_bytes());
    format!("ledger-{}", &hex(ctx.finish().as_ref())[..40])
}

/// A central reconciler.
pub struct Reconciler {
    db: Db,
    client: Client,
    key: LedgerKey,
    id: String,
    claim: i64,
}

impl std::fmt::Debug for Reconciler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconciler")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Reconciler {
    /// Connect (schema checked). `id` names this reconciler in the audit log.
    pub fn connect(
        url: impl Into<crate::LedgerDb>,
        client: Client,
        key: LedgerKey,
        id: impl Into<String>,
    ) -> Result<Self, LedgerError> {
        Ok(Reconciler {
            db: schema::connect(url)?,
            client,
            key,
            id: id.into(),
            claim: DEFAULT_CLAIM,
        })
    }

    /// Decisions claimed per transaction (at least 1).
    pub fn claim_size(mut self, n: i64) -> Self {
        self.claim = n.max(1);
        self
    }

    /// Pending decisions left in the ledger.
    pub fn pending(&mut self) -> Result<i64, LedgerError> {
        Ok(self
            .db
            .query_one(
                "SELECT count(*) FROM ledger_decisions WHERE state = 'pending'",
                &[],
            )?
            .get(0))
    }

    /// Claim and re-check batches until no pending decision is left unlocked, or the
    /// registry is unavailable (the rest stay pending for a later pass).
    pub fn run_pass(&mut self) -> Result<ReconcileStats, LedgerError> {
        let mut stats = ReconcileStats::default();
        loop {
            let (claimed, stop) = self.claim_batch(&mut stats)?;
            if claimed == 0 || stop {
                return Ok(stats);
            }
        }
    }

    fn claim_batch(&mut self, stats: &mut ReconcileStats) -> Result<(u64, bool), LedgerError> {
        let mut tx = self.db.transaction()?;
        let rows = tx.query(
            "SELECT node_id, file_id, seq, seal_key_id, sealed FROM ledger_decisions
             WHERE state = 'pending'
             ORDER BY decided_at, node_id, file_id, seq
             LIMIT $1
             FOR UPDATE SKIP LOCKED",
            &[&self.claim],
        )?;
        let claimed = rows.len() as u64;
        stats.claimed += claimed;
        let mut stop = false;
        for row in rows {
            let node: String = row.get(0);
            let file_id: Vec<u8> = row.get(1);
            let seq: i64 = row.get(2);
            let key_id: String = row.get(3);
            let sealed: Vec<u8> = row.get(4);
            if key_id != self.key.id() {
                return Err(LedgerError::WrongLedgerKey {
                    found: key_id,
                    expected: self.key.id().to_owned(),
                });
            }
            let plain = self.key.open(&node, &file_id, seq, &sealed)?;
            let decision = OfflineDecision::from_sealable_bytes(&plain)?;
            let idem = idempotency_key(&node, &file_id, seq);
            let outcome = self.client.recheck_offline_decision(&decision, &idem);
            let (state, detail) = match &outcome {
                ReconcileOutcome::Confirmed => {
                    stats.confirmed += 1;
                    ("confirmed", None)
                }
                ReconcileOutcome::Contradicted { reason } => {
                    stats.contradicted += 1;
                    ("contradicted", Some(contradiction_label(*reason)))
                }
                ReconcileOutcome::StillPending { cause } => {
                    stats.still_pending += 1;
                    stats.stopped_by = Some(cause.clone());
                    stop = true;
                    ("still_pending", Some(cause.as_str()))
                }
                _ => ("still_pending", Some("unknown_outcome")),
            };
            tx.execute(
                "INSERT INTO ledger_rechecks (node_id, file_id, seq, reconciler, idempotency_key,
                     outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&node, &file_id, &seq, &self.id, &idem, &state, &detail],
            )?;
            if state == "still_pending" {
                tx.execute(
                    "UPDATE ledger_decisions SET recheck_attempts = recheck_attempts + 1,
                         last_pending_cause = $4
                     WHERE node_id = $1 AND file_id = $2 AND seq = $3",
                    &[&node, &file_id, &seq, &detail],
                )?;
                // The registry is unavailable: leave the rest of the batch pending.
                break;
            }
            tx.execute(
                "UPDATE ledger_decisions SET state = $4, contradiction = $5, resolved_by = $6,
                     resolved_at = clock_timestamp(), recheck_attempts = recheck_attempts + 1
                 WHERE node_id = $1 AND file_id = $2 AND seq = $3 AND state = 'pending'",
                &[&node, &file_id, &seq, &state, &detail, &self.id],
            )?;
        }
        tx.commit()?;
        Ok((claimed, stop))
    }
}
