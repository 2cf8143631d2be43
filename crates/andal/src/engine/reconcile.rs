//! Reconciliation: re-check journaled offline decisions online once the registry is back.
//!
//! The [`Reconcile`] machine reads the journal (through its driver), re-checks each
//! pending decision with a [`Check`] the driver runs, and has the driver journal each
//! resolution before it is counted.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use crate::client::CheckOptions;
use crate::decision::{Decision, Verdict};
use crate::error::{ConfigError, Error};
use crate::outage::ReconciliationOutcome;
use crate::query::Query;
use crate::reconcile::{
    Contradiction, Entry, OfflineRecord, RECORD_VERSION, ReconcileItem, ReconcileOutcome,
    ReconcileReport, ResolutionRecord,
};

use super::{Check, Core, Purpose};

/// What a driver must do next for a reconciliation.
pub(crate) enum ReconcileAction {
    /// Read every journal record; then call `handle_records`.
    ReadJournal,
    /// Run this re-check to its end; then call `handle_check`.
    Check(Box<Check>),
    /// Append this resolution record; then call `handle_journaled`.
    Journal(Vec<u8>),
    /// Finished.
    Done(Result<ReconcileReport, Error>),
}

enum Step {
    Read,
    AwaitRecords,
    Next,
    AwaitCheck(u64, Box<OfflineRecord>),
    Resolve(u64, Box<OfflineRecord>, ReconcileOutcome),
    AwaitJournal(u64, Box<OfflineRecord>, ReconcileOutcome),
    Failed(Error),
    Done,
}

/// One reconciliation run (the driver holds the client's one-at-a-time lock around it).
pub(crate) struct Reconcile {
    core: Arc<Core>,
    step: Step,
    pending: VecDeque<(u64, OfflineRecord)>,
    report: ReconcileReport,
    unavailable: Option<String>,
}

impl Reconcile {
    /// A run; refused without a journal.
    pub(crate) fn new(core: Arc<Core>) -> Result<Reconcile, Error> {
        if core.journal.is_none() {
            return Err(ConfigError::Missing("journal").into());
        }
        Ok(Reconcile {
            core,
            step: Step::Read,
            pending: VecDeque::new(),
            report: ReconcileReport::default(),
            unavailable: None,
        })
    }

    /// The next thing to do.
    pub(crate) fn poll(&mut self) -> ReconcileAction {
        loop {
            match std::mem::replace(&mut self.step, Step::Done) {
                Step::Read => {
                    self.step = Step::AwaitRecords;
                    return ReconcileAction::ReadJournal;
                }
                Step::Next => {
                    let Some((seq, d)) = self.pending.pop_front() else {
                        let r = &self.report;
                        let m = &self.core.metrics;
                        m.reconciled(r.confirmed, r.contradicted, r.still_pending);
                        m.set_journal_backlog(r.still_pending);
                        return ReconcileAction::Done(Ok(std::mem::take(&mut self.report)));
                    };
                    self.report.examined += 1;
                    if let Some(cause) = &self.unavailable {
                        let outcome = ReconcileOutcome::StillPending {
                            cause: cause.clone(),
                        };
                        self.step = Step::Resolve(seq, Box::new(d), outcome);
                        continue;
                    }
                    match self.recheck_start(seq, &d) {
                        Ok(check) => {
                            self.step = Step::AwaitCheck(seq, Box::new(d));
                            return ReconcileAction::Check(Box::new(check));
                        }
                        Err(outcome) => self.step = Step::Resolve(seq, Box::new(d), outcome),
                    }
                }
                Step::Resolve(seq, d, outcome) => {
                    match &outcome {
                        ReconcileOutcome::Confirmed => self.report.confirmed += 1,
                        ReconcileOutcome::Contradicted { .. } => self.report.contradicted += 1,
                        ReconcileOutcome::StillPending { cause } => {
                            self.report.still_pending += 1;
                            self.unavailable = Some(cause.clone());
                        }
                    }
                    if matches!(outcome, ReconcileOutcome::StillPending { .. }) {
                        self.push_item(seq, &d, outcome);
                        self.step = Step::Next;
                        continue;
                    }
                    let rec = Entry::Resolution(ResolutionRecord {
                        v: RECORD_VERSION,
                        decision_seq: seq,
                        at: andal_token::unix_secs(self.core.clock.wall()),
                        outcome: outcome.clone(),
                    });
                    match serde_json::to_vec(&rec) {
                        Ok(payload) => {
                            self.step = Step::AwaitJournal(seq, d, outcome);
                            return ReconcileAction::Journal(payload);
                        }
                        Err(e) => {
                            return ReconcileAction::Done(Err(Error::Protocol(format!(
                                "encode resolution: {e}"
                            ))));
                        }
                    }
                }
                Step::Failed(e) => return ReconcileAction::Done(Err(e)),
                Step::AwaitRecords | Step::AwaitCheck(..) | Step::AwaitJournal(..) => {
                    panic!("Reconcile::poll called while an action is outstanding")
                }
                Step::Done => panic!("Reconcile::poll called after Done"),
            }
        }
    }

    /// The journal's records (for `ReadJournal`).
    pub(crate) fn handle_records(
        &mut self,
        records: Result<Vec<andal_journal::Record>, andal_journal::JournalError>,
    ) {
        assert!(matches!(self.step, Step::AwaitRecords));
        let records = match records {
            Ok(r) => r,
            Err(e) => {
                self.step = Step::Failed(Error::Journal(Arc::new(e)));
                return;
            }
        };
        let mut decisions: Vec<(u64, OfflineRecord)> = Vec::new();
        let mut resolved = HashSet::new();
        for r in records {
            match serde_json::from_slice::<Entry>(&r.payload) {
                Ok(Entry::OfflineDecision(d)) => decisions.push((r.seq, d)),
                Ok(Entry::Resolution(res)) => {
                    resolved.insert(res.decision_seq);
                }
                // The trust high-water mark and closed incidents: not decisions.
                Ok(Entry::TrustMark(_) | Entry::IncidentClosed(_)) => {}
                Err(e) => {
                    self.step = Step::Failed(Error::Protocol(format!(
                        "journal record {} is not a known record type: {e}",
                        r.seq
                    )));
                    return;
                }
            }
        }
        self.report.previously_resolved = resolved.len();
        self.pending = decisions
            .into_iter()
            .filter(|(s, _)| !resolved.contains(s))
            .collect();
        self.step = Step::Next;
    }

    /// The result of the re-check handed out by the last `Check` action.
    pub(crate) fn handle_check(&mut self, result: Result<Decision, Error>) {
        let Step::AwaitCheck(seq, d) = std::mem::replace(&mut self.step, Step::Done) else {
            panic!("Reconcile::handle_check without an outstanding Check");
        };
        let outcome = judge(d.verdict, result);
        self.step = Step::Resolve(seq, d, outcome);
    }

    /// What the journal did with the last resolution record.
    pub(crate) fn handle_journaled(&mut self, seq: Result<u64, andal_journal::JournalError>) {
        let Step::AwaitJournal(decision_seq, d, outcome) =
            std::mem::replace(&mut self.step, Step::Done)
        else {
            panic!("Reconcile::handle_journaled without an outstanding Journal");
        };
        if let Err(e) = seq {
            self.step = Step::Failed(Error::Journal(Arc::new(e)));
            return;
        }
        let o = match &outcome {
            ReconcileOutcome::Confirmed => ReconciliationOutcome::Confirmed,
            _ => ReconciliationOutcome::Contradicted,
        };
        let _ = match d.incident {
            Some(id) => self
                .core
                .outage
                .record_reconciliation(crate::outage::IncidentId(id), o),
            None => self.core.outage.record_reconciliation(
                std::time::UNIX_EPOCH + Duration::from_secs(d.decided_at),
                o,
            ),
        };
        self.push_item(decision_seq, &d, outcome);
        self.step = Step::Next;
    }

    fn push_item(&mut self, seq: u64, d: &OfflineRecord, outcome: ReconcileOutcome) {
        self.report.items.push(ReconcileItem {
            journal_seq: seq,
            token_id: d.token_id.clone(),
            nik_masked: crate::nik::mask_str(&d.nik),
            decided_at: d.decided_at,
            offline_verdict: d.verdict,
            outcome,
        });
    }

    /// Re-check one offline decision: revocation first (no request needed), then online.
    fn recheck_start(&self, seq: u64, d: &OfflineRecord) -> Result<Check, ReconcileOutcome> {
        recheck_start(
            &self.core,
            d,
            recheck_idempotency_key(seq, &d.token_id, d.decided_at),
        )
    }
}

/// One key per decision, stable across runs, so re-running reconciliation is not charged
/// twice. Sequence numbers and seconds repeat across journals (nodes, reinstalls) of the same
/// partner, and the registry answers a reused key with a different body by 409 (never
/// resolved), so the token id is part of it; hashed, because a signed token id may hold any
/// characters and keys allow `[A-Za-z0-9-_.:]` only. Two journals can only share a key for
/// the same token (the same person), whose re-check has the same body: the registry's
/// replayed answer is then the right one.
pub(crate) fn recheck_idempotency_key(seq: u64, token_id: &str, decided_at: u64) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(token_id.as_bytes());
    ctx.update(&[0]);
    ctx.update(&seq.to_be_bytes());
    ctx.update(&decided_at.to_be_bytes());
    let digest = ctx.finish();
    let hex: String = digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("reconcile-{seq}-{hex}")
}

/// What the registry's answer (or failure) means for an offline decision with this verdict.
pub(crate) fn judge(offline: Verdict, result: Result<Decision, Error>) -> ReconcileOutcome {
    match result {
        Ok(online) => match online.verdict {
            Verdict::Match if offline == Verdict::Match => ReconcileOutcome::Confirmed,
            Verdict::Mismatch if offline == Verdict::Mismatch => ReconcileOutcome::Confirmed,
            Verdict::NotFound => ReconcileOutcome::Contradicted {
                reason: Contradiction::NotFound,
            },
            Verdict::InactiveRecord => ReconcileOutcome::Contradicted {
                reason: Contradiction::Inactive,
            },
            _ => ReconcileOutcome::Contradicted {
                reason: Contradiction::Mismatch,
            },
        },
        Err(Error::Unavailable(u)) => ReconcileOutcome::StillPending {
            cause: u.cause.label(),
        },
        Err(e) => ReconcileOutcome::StillPending {
            cause: e.code().into(),
        },
    }
}

/// Start the re-check of one offline decision under the given idempotency key (the
/// journal's reconciliation and a central ledger's use the same path): revocation first,
/// then an online check counted as a re-check.
pub(crate) fn recheck_start(
    core: &Arc<Core>,
    d: &OfflineRecord,
    idempotency_key: String,
) -> Result<Check, ReconcileOutcome> {
    let revoked = core.trust.revocations().is_some_and(|list| {
        list.payload().revoked_jti.contains(&d.token_id)
            || list
                .payload()
                .revoked_subjects
                .contains(&andal_token::subject_digest(&d.nik))
    });
    if revoked {
        return Err(ReconcileOutcome::Contradicted {
            reason: Contradiction::Revoked,
        });
    }
    let query = Query::parse(&d.nik, &d.full_name, &d.birth_date)
        .and_then(|q| match &d.birth_place {
            Some(p) => q.with_birth_place(p.clone()),
            None => Ok(q),
        })
        .map_err(|_| ReconcileOutcome::StillPending {
            cause: "unreadable_record".into(),
        })?;
    let opts = CheckOptions::default().idempotency_key(idempotency_key);
    Check::new(Arc::clone(core), Purpose::Recheck, &query, &opts).map_err(|e| {
        ReconcileOutcome::StillPending {
            cause: e.code().into(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::recheck_idempotency_key as key;

    #[test]
    fn recheck_keys_differ_across_journals_and_are_valid() {
        // Same sequence number and second in two journals: different tokens, different keys.
        let a = key(3, "tok-a", 1_790_000_000);
        assert_ne!(a, key(3, "tok-b", 1_790_000_000));
        assert_ne!(a, key(4, "tok-a", 1_790_000_000));
        assert_ne!(a, key(3, "tok-a", 1_790_000_001));
        // Stable across runs: reconciling again reuses the key (no second charge).
        assert_eq!(a, key(3, "tok-a", 1_790_000_000));
        // A hostile token id cannot put forbidden characters or length into the key.
        let hostile = key(u64::MAX, &"\n\"/ é".repeat(500), u64::MAX);
        for k in [&a, &hostile] {
            assert!(k.len() <= crate::api::MAX_IDEMPOTENCY_KEY_LEN, "{k}");
            assert!(
                k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':')),
                "{k}"
            );
        }
    }
}
