//! The status document: a small, versioned JSON that a partner can publish for other
//! systems (a status page, a monitoring probe, a partner's help desk). Layout in
//! `docs/status.md`; `status_version` changes only when a field changes meaning or goes.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use andal::outage::{Incident, OutageReport};
use andal::resilience::BreakerState;
use serde::{Deserialize, Serialize};

use crate::ReportError;
use crate::story::{CauseKind, main_cause, parse_time};

/// The `status_version` this crate writes.
pub const STATUS_VERSION: u32 = 1;
/// Default window of past incidents.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(30 * 24 * 3600);

/// The status document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StatusDocument {
    /// Always [`STATUS_VERSION`] for this layout.
    pub status_version: u32,
    /// When the underlying report was made (RFC 3339 UTC).
    pub generated_at: String,
    /// Incidents that ended within this many days before `generated_at` (or are ongoing)
    /// are listed.
    pub window_days: u64,
    /// One entry per registry host.
    pub registries: Vec<RegistryStatus>,
    /// Incidents in the window, most recent first.
    pub incidents: Vec<StatusIncident>,
}

/// The state of one registry host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RegistryStatus {
    /// The registry's host name as the partner configured it.
    pub host: String,
    /// `operational` (no open incident), `outage` (open incident, requests paused to
    /// spare the registry), `recovering` (open incident, recovery being tested) or
    /// `degraded` (open incident while requests still go out).
    pub state: String,
    /// The open incident, if any.
    pub open_incident: Option<OpenIncident>,
}

/// The incident going on now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OpenIncident {
    /// Incident id (as in the outage report).
    pub id: u64,
    /// Start (RFC 3339 UTC).
    pub started_at: String,
    /// Main cause: `unreachable`, `timeout`, `quota`, `server_error`, `bad_answer`,
    /// `secure_connection` or `unknown`.
    pub cause: String,
}

/// One incident in the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StatusIncident {
    /// The registry host.
    pub host: String,
    /// Incident id (as in the outage report).
    pub id: u64,
    /// Start (RFC 3339 UTC).
    pub started_at: String,
    /// End (RFC 3339 UTC); `null` while ongoing.
    pub ended_at: Option<String>,
    /// Still going on.
    pub ongoing: bool,
    /// Duration in milliseconds (up to `generated_at` while ongoing).
    pub duration_ms: u64,
    /// Main cause (as in [`OpenIncident::cause`]).
    pub cause: String,
    /// Failed attempts per recorded failure label (`refused`, `read_timeout`, `http_503`, ...).
    pub failures: BTreeMap<String, u64>,
    /// People served from offline evidence.
    pub served_offline: u64,
    /// People turned away.
    pub turned_away: u64,
    /// Offline answers later confirmed by the registry.
    pub confirmed: u64,
    /// Offline answers later contradicted by the registry.
    pub contradicted: u64,
    /// Offline answers not re-checked yet.
    pub unreconciled: u64,
}

impl StatusDocument {
    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("status document serializes")
    }
}

fn cause_code(i: &Incident) -> String {
    main_cause(&i.causes)
        .unwrap_or(CauseKind::Unknown)
        .code()
        .to_owned()
}

/// Builds the status document of one registry host from its outage report, listing the
/// incidents that ended within `window` before the report was made, or are ongoing.
pub fn status_document(
    report: &OutageReport,
    host: &str,
    window: Duration,
) -> Result<StatusDocument, ReportError> {
    let generated = parse_time(&report.generated_at)?;
    let cutoff = generated
        .checked_sub(window)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let open = report
        .current
        .open_incident
        .and_then(|id| report.incidents.iter().find(|i| i.id == id));
    let state = match (open, report.current.breaker) {
        (None, _) => "operational",
        (Some(_), BreakerState::Open | BreakerState::ForcedOpen) => "outage",
        (Some(_), BreakerState::HalfOpen) => "recovering",
        (Some(_), _) => "degraded",
    };
    let mut incidents = Vec::new();
    for i in report.incidents.iter().rev() {
        let ended = match (&i.ended_at, i.ongoing) {
            (Some(e), false) => Some(parse_time(e)?),
            _ => None,
        };
        parse_time(&i.started_at)?;
        if ended.is_some_and(|e| e < cutoff) {
            continue;
        }
        incidents.push(StatusIncident {
            host: host.to_owned(),
            id: i.id.0,
            started_at: i.started_at.clone(),
            ended_at: if i.ongoing { None } else { i.ended_at.clone() },
            ongoing: i.ongoing,
            duration_ms: i.duration_ms,
            cause: cause_code(i),
            failures: i.causes.clone(),
            served_offline: i.checks.offline,
            turned_away: i.checks.refused,
            confirmed: i.reconciliation.confirmed,
            contradicted: i.reconciliation.contradicted,
            unreconciled: i.reconciliation.unreconciled,
        });
    }
    Ok(StatusDocument {
        status_version: STATUS_VERSION,
        generated_at: report.generated_at.clone(),
        window_days: window.as_secs() / 86_400,
        registries: vec![RegistryStatus {
            host: host.to_owned(),
            state: state.to_owned(),
            open_incident: open.map(|i| OpenIncident {
                id: i.id.0,
                started_at: i.started_at.clone(),
                cause: cause_code(i),
            }),
        }],
        incidents,
    })
}
