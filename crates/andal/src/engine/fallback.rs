//! The offline fallback of one check: policy, token verification, revocation, field
//! digests, and the journal record that must be on disk before the decision is returned
//! (the check machine hands it to its driver as `Action::Journal`).

use crate::decision::{Decision, FieldMatch, FieldResults, OfflineProvenance, Provenance, Verdict};
use crate::error::Unavailable;
use crate::offline::FallbackRefusal;
use crate::outage::CheckOutcome;
use crate::query::Query;
use crate::reconcile::{Entry, OfflineRecord, RECORD_VERSION};

use crate::client::CheckOptions;

use super::{Core, Final};

impl Core {
    pub(super) fn offline_configured(&self) -> bool {
        self.trust.has_roots() || self.journal.is_some()
    }

    /// Answer from an attestation token, if policy and evidence allow: the decision (its
    /// `journal_seq` still 0) and the journal record to write before returning it.
    pub(super) fn offline_plan(
        &self,
        query: &Query,
        opts: &CheckOptions,
        online: &Unavailable,
    ) -> Result<(Decision, Vec<u8>), FallbackRefusal> {
        let inner = self;
        let policy = opts.fallback.as_ref().unwrap_or(&inner.fallback);
        if !policy.allow_offline {
            return Err(FallbackRefusal::NotAllowed);
        }
        if !policy
            .triggers
            .contains(&crate::offline::FallbackTrigger::of(&online.cause))
        {
            return Err(FallbackRefusal::NotTriggered);
        }
        let token = opts.token.as_deref().ok_or(FallbackRefusal::NoToken)?;
        if inner.journal.is_none() {
            return Err(FallbackRefusal::NoJournal);
        }
        let store = inner.trust.store().ok_or(FallbackRefusal::NoTrustedKeys)?;
        let now_wall = inner.clock.wall();
        let now = andal_token::unix_secs(now_wall);
        let verified = store
            .verify(
                token,
                &andal_token::VerifyOptions::new(inner.partner_id.clone(), now)
                    .with_leeway(policy.leeway),
            )
            .map_err(FallbackRefusal::Token)?;
        let claims = &verified.claims;
        let age = now.saturating_sub(claims.iat);
        if age > policy.max_token_age.as_secs() {
            return Err(FallbackRefusal::TokenTooOld {
                age_secs: age,
                max_secs: policy.max_token_age.as_secs(),
            });
        }
        let nik = query.nik().expose_digits();
        let revocation_staleness = match inner.trust.revocations() {
            Some(list) => {
                let st = list.staleness(now);
                if st.age_secs > policy.max_revocation_staleness.as_secs() {
                    return Err(FallbackRefusal::RevocationListStale {
                        age_secs: st.age_secs,
                        max_secs: policy.max_revocation_staleness.as_secs(),
                    });
                }
                list.check(claims, nik).map_err(FallbackRefusal::Token)?;
                Some(st.age_secs)
            }
            None if policy.require_revocation_list => {
                return Err(FallbackRefusal::NoRevocationList);
            }
            None => None,
        };
        let name = query.normalized_name();
        let birth_date = query.birth_date_iso();
        let m = claims.match_fields(&andal_token::FieldValues {
            nik,
            name: &name,
            birth_date: &birth_date,
        });
        let fields = FieldResults {
            nik: FieldMatch::from_bool(m.nik),
            full_name: FieldMatch::from_bool(m.name),
            birth_date: FieldMatch::from_bool(m.birth_date),
            // Tokens do not attest the birth place.
            birth_place: FieldMatch::NotChecked,
        };
        let verdict = if policy.required_fields.iter().all(|f| m.get(*f)) {
            Verdict::Match
        } else {
            Verdict::Mismatch
        };
        let key_id = verified.kid.clone().unwrap_or_default();
        let online_failure = online.cause.label();
        // The incident id goes into the journal record so reconciliation can report against
        // it. (Should the journal write below fail, this check was refused but is counted
        // as offline: a failing disk is rarer than the outage, and the error says so.)
        let incident = inner
            .record_final(Final::Check(CheckOutcome::Offline))
            .map(|i| i.0);
        let record = Entry::OfflineDecision(OfflineRecord {
            v: RECORD_VERSION,
            decided_at: now,
            partner_id: inner.partner_id.clone(),
            nik: nik.to_owned(),
            full_name: query.full_name().to_owned(),
            birth_date: birth_date.clone(),
            birth_place: query.birth_place().map(str::to_owned),
            token_id: claims.jti.clone(),
            key_id: key_id.clone(),
            verdict,
            fields,
            online_failure: online_failure.clone(),
            incident,
        });
        let payload = serde_json::to_vec(&record)
            .map_err(|e| FallbackRefusal::Journal(format!("encode: {e}")))?;
        // Acknowledged means on disk: the check returns the decision only once the driver
        // reports this record written.
        Ok((
            Decision {
                verdict,
                fields,
                provenance: Provenance::Offline(OfflineProvenance {
                    token_id: claims.jti.clone(),
                    key_id,
                    token_age_secs: age,
                    revocation_staleness_secs: revocation_staleness,
                    online_failure,
                    journal_seq: 0,
                    online_attempts: online.attempts,
                }),
                nik_masked: query.nik().masked(),
                attestation: None,
                elapsed_ms: online.elapsed.as_millis() as u64,
            },
            payload,
        ))
    }
}
