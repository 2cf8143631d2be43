//! Reconciliation: re-check journaled offline decisions online once the registry is back.

use std::sync::Arc;
use std::time::Duration;

use crate::decision::Verdict;
use crate::error::{ConfigError, Error};
use crate::outage::ReconciliationOutcome;
use crate::query::Query;
use crate::reconcile::{
    Contradiction, Entry, OfflineRecord, RECORD_VERSION, ReconcileItem, ReconcileOutcome,
    ReconcileReport, ResolutionRecord,
};

use super::{CheckOptions, Client};

impl Client {
    /// Re-check every pending offline decision online (through the breaker and the retry
    /// budget) and record each as confirmed, contradicted (with the reason) or still
    /// pending. Idempotent (resolved decisions are skipped) and safe alongside new checks.
    /// Stops early, leaving the rest pending, once the registry is unavailable again.
    pub fn reconcile(&self) -> Result<ReconcileReport, Error> {
        let inner = &*self.inner;
        let Some(journal) = inner.journal.as_ref() else {
            return Err(ConfigError::Missing("journal").into());
        };
        let _one_at_a_time = inner.reconcile_lock.lock();
        let mut decisions: Vec<(u64, OfflineRecord)> = Vec::new();
        let mut resolved = std::collections::HashSet::new();
        for r in journal.records().map_err(|e| Error::Journal(Arc::new(e)))? {
            match serde_json::from_slice::<Entry>(&r.payload) {
                Ok(Entry::OfflineDecision(d)) => decisions.push((r.seq, d)),
                Ok(Entry::Resolution(res)) => {
                    resolved.insert(res.decision_seq);
                }
                // The trust high-water mark: not a decision.
                Ok(Entry::TrustMark(_)) => {}
                Err(e) => {
                    return Err(Error::Protocol(format!(
                        "journal record {} is not a known record type: {e}",
                        r.seq
                    )));
                }
            }
        }
        let mut report = ReconcileReport {
            previously_resolved: resolved.len(),
            ..Default::default()
        };
        let mut unavailable: Option<String> = None;
        for (seq, d) in decisions.into_iter().filter(|(s, _)| !resolved.contains(s)) {
            report.examined += 1;
            let outcome = match &unavailable {
                Some(cause) => ReconcileOutcome::StillPending {
                    cause: cause.clone(),
                },
                None => self.recheck(seq, &d),
            };
            match &outcome {
                ReconcileOutcome::Confirmed => report.confirmed += 1,
                ReconcileOutcome::Contradicted { .. } => report.contradicted += 1,
                ReconcileOutcome::StillPending { cause } => {
                    report.still_pending += 1;
                    unavailable = Some(cause.clone());
                }
            }
            let final_outcome = match &outcome {
                ReconcileOutcome::Confirmed => Some(ReconciliationOutcome::Confirmed),
                ReconcileOutcome::Contradicted { .. } => Some(ReconciliationOutcome::Contradicted),
                _ => None,
            };
            if let Some(o) = final_outcome {
                let rec = Entry::Resolution(ResolutionRecord {
                    v: RECORD_VERSION,
                    decision_seq: seq,
                    at: andal_token::unix_secs(inner.clock.wall()),
                    outcome: outcome.clone(),
                });
                let payload = serde_json::to_vec(&rec)
                    .map_err(|e| Error::Protocol(format!("encode resolution: {e}")))?;
                journal
                    .append(&payload)
                    .map_err(|e| Error::Journal(Arc::new(e)))?;
                let _ = match d.incident {
                    Some(id) => inner
                        .outage
                        .record_reconciliation(crate::outage::IncidentId(id), o),
                    None => inner.outage.record_reconciliation(
                        std::time::UNIX_EPOCH + Duration::from_secs(d.decided_at),
                        o,
                    ),
                };
            }
            report.items.push(ReconcileItem {
                journal_seq: seq,
                token_id: d.token_id.clone(),
                nik_masked: crate::nik::mask_str(&d.nik),
                decided_at: d.decided_at,
                offline_verdict: d.verdict,
                outcome,
            });
        }
        Ok(report)
    }

    /// Re-check one offline decision: revocation first (no request needed), then online.
    pub(super) fn recheck(&self, seq: u64, d: &OfflineRecord) -> ReconcileOutcome {
        let revoked = self.inner.trust.revocations().is_some_and(|list| {
            list.payload().revoked_jti.contains(&d.token_id)
                || list
                    .payload()
                    .revoked_subjects
                    .contains(&andal_token::subject_digest(&d.nik))
        });
        if revoked {
            return ReconcileOutcome::Contradicted {
                reason: Contradiction::Revoked,
            };
        }
        let query = match Query::parse(&d.nik, &d.full_name, &d.birth_date).and_then(|q| {
            match &d.birth_place {
                Some(p) => q.with_birth_place(p.clone()),
                None => Ok(q),
            }
        }) {
            Ok(q) => q,
            Err(_) => {
                return ReconcileOutcome::StillPending {
                    cause: "unreadable_record".into(),
                };
            }
        };
        // One key per decision: re-running reconciliation is not charged twice.
        let opts =
            CheckOptions::default().idempotency_key(format!("reconcile-{seq}-{}", d.decided_at));
        let result = self.online(&query, &opts);
        // Re-checks are not citizen checks: counted apart in the outage record.
        self.record_recheck(&result);
        match result {
            Ok(online) => match online.verdict {
                Verdict::Match if d.verdict == Verdict::Match => ReconcileOutcome::Confirmed,
                Verdict::Mismatch if d.verdict == Verdict::Mismatch => ReconcileOutcome::Confirmed,
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
}
