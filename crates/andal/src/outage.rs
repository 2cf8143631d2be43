//! The outage record: an honest, exportable account of every registry outage.
//!
//! An [`OutageRecorder`] is fed by the client (attempt failures, check outcomes), by the
//! circuit breaker (it is an [`EventListener`]) and by reconciliation. It keeps
//! **incidents** (when an outage began and ended, why, how many checks were served online,
//! offline or refused during it, and how the offline decisions were later reconciled) and a
//! **per-second series** for charts. [`OutageRecorder::report`] exports both as an
//! [`OutageReport`]: stable JSON ([`OutageReport::to_json`], `format_version` 1) and a
//! human summary ([`OutageReport::summary_text`]).
//!
//! The recorder never sees personal data: its inputs are failure kinds, outcomes, breaker
//! states and incident ids only.
//!
//! ## The incident rule
//! * An incident **opens** when, with no incident open, either the breaker leaves `Closed`
//!   for `Open` or `ForcedOpen` (trigger `breaker_open`), or a check ends `Refused`
//!   (trigger `failed_check`) or `Offline` (trigger `offline_check`): both mean the
//!   registry could not answer that check.
//! * It **closes** at the first check answered `Online` while the last breaker state seen
//!   is `Closed` (or `Disabled`, which blocks nothing). That check counts in the incident;
//!   the incident's end is the time of that check. A half-open probe that succeeds does
//!   not close it by itself: the breaker must have returned to `Closed` first.
//! * Attempt failures seen while no incident is open are held (as counts per cause) until
//!   the next online check; if an incident opens before that, they are folded into it, so
//!   the failures that tripped the breaker are the incident's causes.
//!
//! ## Memory
//! Bounded however long the process runs: at most [`OutageConfig::max_incidents`]
//! incidents (default 256; older closed ones are folded into one `summarised` aggregate
//! with their counts) and at most [`OutageConfig::max_series_seconds`] one-second buckets
//! (default 3600, a ring buffer). Cause maps are keyed by failure label, a small closed
//! set (plus one key per HTTP status seen).
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use andal::outage::{CheckOutcome, OutageConfig, OutageRecorder};
//! use andal::resilience::{ManualClock, SharedClock, FailureKind};
//!
//! let manual = Arc::new(ManualClock::new());
//! let clock: SharedClock = manual.clone();
//! let rec = OutageRecorder::new(clock, OutageConfig::default());
//! rec.record_attempt_failure(&FailureKind::HttpStatus(503));
//! let incident = rec.record_check(CheckOutcome::Refused).unwrap();
//! manual.advance(Duration::from_secs(30));
//! rec.record_check(CheckOutcome::Online);
//! let report = rec.report();
//! assert_eq!(report.incidents[0].id, incident);
//! assert_eq!(report.incidents[0].duration_ms, 30_000);
//! assert_eq!(report.incidents[0].causes["http_503"], 1);
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::fmt::{self, Write as _};
use std::time::{Duration, Instant, SystemTime};

use andal_resilience::{BreakerState, EventListener, FailureKind, ResilienceEvent, SharedClock};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// The `format_version` of [`OutageReport`] written by this crate.
pub const FORMAT_VERSION: u32 = 1;
/// Default for [`OutageConfig::max_incidents`].
pub const DEFAULT_MAX_INCIDENTS: usize = 256;
/// Default for [`OutageConfig::max_series_seconds`].
pub const DEFAULT_MAX_SERIES_SECONDS: usize = 3600;

/// Limits and scope of an [`OutageRecorder`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutageConfig {
    /// Incidents kept in detail (at least 1). Older closed incidents are folded into
    /// [`OutageReport::summarised`].
    pub max_incidents: usize,
    /// One-second buckets kept in the series (at least 1), a ring buffer.
    pub max_series_seconds: usize,
    /// Only breaker events from the breaker with this name (its upstream host) are
    /// recorded; `None` records all (one recorder per upstream is the usual set-up).
    pub breaker: Option<String>,
}

impl Default for OutageConfig {
    fn default() -> Self {
        Self {
            max_incidents: DEFAULT_MAX_INCIDENTS,
            max_series_seconds: DEFAULT_MAX_SERIES_SECONDS,
            breaker: None,
        }
    }
}

impl OutageConfig {
    /// Keep at most `n` incidents in detail (clamped to at least 1).
    pub fn max_incidents(mut self, n: usize) -> Self {
        self.max_incidents = n.max(1);
        self
    }
    /// Keep at most `n` seconds of series (clamped to at least 1).
    pub fn max_series_seconds(mut self, n: usize) -> Self {
        self.max_series_seconds = n.max(1);
        self
    }
    /// Only record events of the breaker named `name`.
    pub fn breaker(mut self, name: impl Into<String>) -> Self {
        self.breaker = Some(name.into());
        self
    }
}

/// How one check ended, as the client reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    /// The registry answered (whatever the verdict).
    Online,
    /// The registry could not answer; an offline token answered (fallback).
    Offline,
    /// The registry could not answer and no fallback answered: the caller got
    /// `Error::Unavailable`.
    Refused,
    /// The registry (or the client) rejected the request itself: 4xx, auth, protocol.
    /// Not outage related; counted, but it neither opens nor closes an incident.
    Rejected,
}

/// What reconciliation concluded about one offline decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReconciliationOutcome {
    /// The online re-check agreed with the offline decision (final).
    Confirmed,
    /// The online re-check disagreed (revoked, mismatch, ...) (final).
    Contradicted,
    /// Not re-checked yet (the registry is still down); may be reported again later.
    StillPending,
}

/// Identifies an incident (1, 2, 3, ... in order of opening).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IncidentId(pub u64);

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Which incident a reconciliation outcome belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentRef {
    /// The id [`OutageRecorder::record_check`] returned for the offline decision.
    Id(IncidentId),
    /// The wall time of the offline decision (e.g. from its journal record): the incident
    /// open at that time.
    At(SystemTime),
}

impl From<IncidentId> for IncidentRef {
    fn from(id: IncidentId) -> Self {
        IncidentRef::Id(id)
    }
}

impl From<SystemTime> for IncidentRef {
    fn from(t: SystemTime) -> Self {
        IncidentRef::At(t)
    }
}

/// A reconciliation outcome could not be attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReconcileError {
    /// No incident with this id was ever recorded.
    #[error("unknown incident {0}")]
    UnknownIncident(IncidentId),
    /// No incident (kept or summarised) covers this wall time.
    #[error("no incident covers the given time")]
    NoIncidentAt,
}

/// What opened an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentTrigger {
    /// The breaker left `Closed` for `Open` or `ForcedOpen`.
    BreakerOpen,
    /// A check was refused (unavailable, no fallback).
    FailedCheck,
    /// A check was answered offline.
    OfflineCheck,
}

impl IncidentTrigger {
    fn describe(self) -> &'static str {
        match self {
            IncidentTrigger::BreakerOpen => "breaker opened",
            IncidentTrigger::FailedCheck => "a check was refused",
            IncidentTrigger::OfflineCheck => "a check was answered offline",
        }
    }
}

/// Checks counted by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckCounts {
    /// Answered by the registry.
    pub online: u64,
    /// Answered from an offline token.
    pub offline: u64,
    /// Unavailable, no fallback.
    pub refused: u64,
    /// Rejected requests (4xx, auth): not outage related.
    pub rejected: u64,
    /// Reconciliation re-checks of earlier offline decisions sent to the registry. Not
    /// citizen checks: counted here only, never in `online`/`refused` or [`total`](Self::total).
    #[serde(default)]
    pub rechecks: u64,
    /// Citizen checks dropped by their caller before they were decided (an
    /// [`AsyncClient`](crate::AsyncClient) future cancelled). Counted here only, never in
    /// [`total`](Self::total): no decision was returned.
    #[serde(default)]
    pub cancelled: u64,
}

impl CheckCounts {
    fn add(&mut self, o: CheckOutcome) {
        match o {
            CheckOutcome::Online => self.online += 1,
            CheckOutcome::Offline => self.offline += 1,
            CheckOutcome::Refused => self.refused += 1,
            CheckOutcome::Rejected => self.rejected += 1,
        }
    }
    fn merge(&mut self, o: &CheckCounts) {
        self.online += o.online;
        self.offline += o.offline;
        self.refused += o.refused;
        self.rejected += o.rejected;
        self.rechecks += o.rechecks;
        self.cancelled += o.cancelled;
    }
    /// All checks.
    pub fn total(&self) -> u64 {
        self.online + self.offline + self.refused + self.rejected
    }
}

/// Reconciliation outcomes of the offline decisions of an incident.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconciliationCounts {
    /// Offline decisions confirmed online.
    pub confirmed: u64,
    /// Offline decisions contradicted online.
    pub contradicted: u64,
    /// `StillPending` reports received (a decision may be reported pending many times).
    pub still_pending_reports: u64,
    /// Offline decisions with no final outcome yet: offline − confirmed − contradicted
    /// (never below zero).
    pub unreconciled: u64,
}

impl ReconciliationCounts {
    fn add(&mut self, o: ReconciliationOutcome) {
        match o {
            ReconciliationOutcome::Confirmed => self.confirmed += 1,
            ReconciliationOutcome::Contradicted => self.contradicted += 1,
            ReconciliationOutcome::StillPending => self.still_pending_reports += 1,
        }
    }
    fn merge(&mut self, o: &ReconciliationCounts) {
        self.confirmed += o.confirmed;
        self.contradicted += o.contradicted;
        self.still_pending_reports += o.still_pending_reports;
    }
    fn with_unreconciled(mut self, offline: u64) -> Self {
        self.unreconciled = offline.saturating_sub(self.confirmed + self.contradicted);
        self
    }
}

/// One incident in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// Incident id.
    pub id: IncidentId,
    /// What opened it.
    pub opened_by: IncidentTrigger,
    /// Start, RFC 3339 UTC wall time.
    pub started_at: String,
    /// End, RFC 3339 UTC wall time; `None` while ongoing.
    pub ended_at: Option<String>,
    /// Whether it is still open.
    pub ongoing: bool,
    /// Duration in milliseconds (monotonic; up to the report's time while ongoing).
    pub duration_ms: u64,
    /// Failed attempts per cause label (`refused`, `dns`, `connect_timeout`,
    /// `read_timeout`, `tls`, `reset`, `http_503`, `throttled`, `malformed`, `protocol`,
    /// `too_large`, `deadline_exceeded`).
    pub causes: BTreeMap<String, u64>,
    /// Checks by outcome during the incident.
    pub checks: CheckCounts,
    /// Breaker state transitions during the incident (including the one that opened it).
    pub breaker_transitions: u64,
    /// Calls the breaker rejected without sending them (no load, no fee).
    pub breaker_rejections: u64,
    /// Reconciliation of the incident's offline decisions.
    pub reconciliation: ReconciliationCounts,
}

/// Incidents folded out of the detailed list to keep memory bounded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummarisedIncidents {
    /// How many incidents were folded.
    pub count: u64,
    /// Lowest folded id.
    pub first_id: Option<IncidentId>,
    /// Highest folded id.
    pub last_id: Option<IncidentId>,
    /// Start of the first folded incident (RFC 3339).
    pub first_started_at: Option<String>,
    /// End of the last folded incident (RFC 3339).
    pub last_ended_at: Option<String>,
    /// Sum of the folded incidents' durations.
    pub total_duration_ms: u64,
    /// Summed causes.
    pub causes: BTreeMap<String, u64>,
    /// Summed checks.
    pub checks: CheckCounts,
    /// Summed breaker transitions.
    pub breaker_transitions: u64,
    /// Summed breaker rejections.
    pub breaker_rejections: u64,
    /// Summed reconciliation outcomes (including outcomes reported after folding).
    pub reconciliation: ReconciliationCounts,
}

/// Counts over the recorder's whole life (including summarised incidents and failures
/// outside incidents).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Incidents ever opened.
    pub incidents: u64,
    /// Sum of incident durations (ongoing one up to the report's time).
    pub incident_time_ms: u64,
    /// Every check recorded.
    pub checks: CheckCounts,
    /// Every failed attempt, per cause label.
    pub attempt_failures: BTreeMap<String, u64>,
    /// Every breaker transition seen.
    pub breaker_transitions: u64,
    /// Every breaker rejection seen.
    pub breaker_rejections: u64,
    /// Every reconciliation outcome.
    pub reconciliation: ReconciliationCounts,
}

/// The state when the report was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentState {
    /// Last breaker state seen (`closed` before any transition).
    pub breaker: BreakerState,
    /// The open incident, if any.
    pub open_incident: Option<IncidentId>,
}

/// One second of the series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesBucket {
    /// Start of the second, Unix seconds (anchored at the recorder's start wall time,
    /// advanced by the monotonic clock).
    pub t: i64,
    /// Breaker state at the end of the second.
    pub breaker: BreakerState,
    /// Checks answered online in this second.
    pub online: u32,
    /// Checks answered offline.
    pub offline: u32,
    /// Checks refused.
    pub refused: u32,
    /// Checks rejected (not outage related).
    pub rejected: u32,
    /// Reconciliation re-checks sent (not citizen checks).
    #[serde(default)]
    pub rechecks: u32,
}

/// The per-second series: contiguous buckets, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Series {
    /// Width of a bucket (always 1).
    pub bucket_seconds: u32,
    /// Most buckets kept.
    pub max_buckets: usize,
    /// Buckets, oldest first, one per second without gaps.
    pub buckets: Vec<SeriesBucket>,
}

/// The limits the report was made under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportLimits {
    /// [`OutageConfig::max_incidents`].
    pub max_incidents: usize,
    /// [`OutageConfig::max_series_seconds`].
    pub max_series_seconds: usize,
}

/// The exported outage record. Its JSON form is documented in `docs/outage-record.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutageReport {
    /// Always [`FORMAT_VERSION`] (1) for this layout.
    pub format_version: u32,
    /// When the report was made (RFC 3339 UTC).
    pub generated_at: String,
    /// When the recorder started (RFC 3339 UTC).
    pub recording_since: String,
    /// Memory limits in force.
    pub limits: ReportLimits,
    /// Breaker state and open incident.
    pub current: CurrentState,
    /// Whole-life counts.
    pub totals: Totals,
    /// Incidents folded out of `incidents`.
    pub summarised: SummarisedIncidents,
    /// Kept incidents, oldest first.
    pub incidents: Vec<Incident>,
    /// Per-second series.
    pub series: Series,
}

/// Errors reading a report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportFormatError {
    /// Not valid JSON for this layout.
    #[error("invalid outage report JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A `format_version` this crate does not read.
    #[error("unsupported outage report format_version {0}")]
    Version(u32),
}

impl OutageReport {
    /// Pretty JSON (stable field names; see `docs/outage-record.md`).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("outage report serializes")
    }

    /// Reads a report written by [`to_json`](Self::to_json); refuses other versions.
    pub fn from_json(s: &str) -> Result<Self, ReportFormatError> {
        #[derive(Deserialize)]
        struct Probe {
            format_version: u32,
        }
        let probe: Probe = serde_json::from_str(s)?;
        if probe.format_version != FORMAT_VERSION {
            return Err(ReportFormatError::Version(probe.format_version));
        }
        Ok(serde_json::from_str(s)?)
    }

    /// A multi-line human summary: each incident, when, how long, why, what was served,
    /// how it was reconciled.
    pub fn summary_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Outage record (format {}), generated {}, recording since {}",
            self.format_version, self.generated_at, self.recording_since
        );
        let _ = writeln!(
            s,
            "Now: breaker {}, {}.",
            state_name(self.current.breaker),
            match self.current.open_incident {
                Some(id) => format!("incident {id} ongoing"),
                None => "no incident open".into(),
            }
        );
        let t = &self.totals;
        let _ = writeln!(
            s,
            "Totals: {} incident(s), {} in outage; checks: {}; failed attempts: {}",
            t.incidents,
            human_duration(t.incident_time_ms),
            checks_text(&t.checks),
            causes_text(&t.attempt_failures, usize::MAX)
        );
        if self.summarised.count > 0 {
            let m = &self.summarised;
            let _ = writeln!(
                s,
                "Earlier incidents summarised: {} ({} to {}, {} to {}), {} in outage; checks: {}; why: {}; reconciliation: {}",
                m.count,
                m.first_id.map_or("?".into(), |i| i.to_string()),
                m.last_id.map_or("?".into(), |i| i.to_string()),
                m.first_started_at.as_deref().unwrap_or("?"),
                m.last_ended_at.as_deref().unwrap_or("?"),
                human_duration(m.total_duration_ms),
                checks_text(&m.checks),
                causes_text(&m.causes, 3),
                reconciliation_text(&m.reconciliation),
            );
        }
        if self.incidents.is_empty() && self.summarised.count == 0 {
            let _ = writeln!(s, "No incidents recorded.");
        }
        for i in &self.incidents {
            let _ = writeln!(
                s,
                "Incident {}: {} to {} ({}{}), opened because {}",
                i.id,
                i.started_at,
                i.ended_at.as_deref().unwrap_or("now"),
                human_duration(i.duration_ms),
                if i.ongoing { ", ongoing" } else { "" },
                i.opened_by.describe()
            );
            let _ = writeln!(s, "  why: {}", causes_text(&i.causes, 3));
            let _ = writeln!(
                s,
                "  served: {} online, {} offline, {} refused; breaker: {} transition(s), {} call(s) rejected",
                i.checks.online,
                i.checks.offline,
                i.checks.refused,
                i.breaker_transitions,
                i.breaker_rejections
            );
            let _ = writeln!(
                s,
                "  reconciliation: {}",
                reconciliation_text(&i.reconciliation)
            );
        }
        s
    }
}

fn state_name(s: BreakerState) -> &'static str {
    match s {
        BreakerState::Closed => "closed",
        BreakerState::Open => "open",
        BreakerState::HalfOpen => "half-open",
        BreakerState::ForcedOpen => "forced open",
        BreakerState::Disabled => "disabled",
        _ => "unknown",
    }
}

fn checks_text(c: &CheckCounts) -> String {
    let mut s = format!(
        "{} online, {} offline, {} refused, {} rejected",
        c.online, c.offline, c.refused, c.rejected
    );
    if c.rechecks > 0 {
        let _ = write!(s, " (+{} reconciliation re-checks)", c.rechecks);
    }
    if c.cancelled > 0 {
        let _ = write!(s, " (+{} cancelled)", c.cancelled);
    }
    s
}

fn causes_text(causes: &BTreeMap<String, u64>, top: usize) -> String {
    if causes.is_empty() {
        return "no failed attempt recorded".into();
    }
    let mut v: Vec<(&String, &u64)> = causes.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut out: Vec<String> = v
        .iter()
        .take(top)
        .map(|(k, n)| format!("{k} x{n}"))
        .collect();
    if v.len() > top {
        let rest: u64 = v.iter().skip(top).map(|(_, n)| **n).sum();
        out.push(format!("other x{rest}"));
    }
    out.join(", ")
}

fn reconciliation_text(r: &ReconciliationCounts) -> String {
    format!(
        "{} confirmed, {} contradicted, {} not yet reconciled",
        r.confirmed, r.contradicted, r.unreconciled
    )
}

fn human_duration(ms: u64) -> String {
    let secs = ms / 1000;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 {
        format!("{h} h {m} min {s} s")
    } else if m > 0 {
        format!("{m} min {s} s")
    } else if secs > 0 {
        format!("{s} s")
    } else {
        format!("{ms} ms")
    }
}

/// RFC 3339 UTC: `2023-11-14T22:13:20Z`, or with exactly three fraction digits
/// (`2023-11-14T22:13:22.500Z`) when the time is not a whole second.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let dt = time::OffsetDateTime::from(t);
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    let ms = dt.millisecond();
    if ms != 0 {
        let _ = write!(s, ".{ms:03}");
    }
    s.push('Z');
    s
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn add_cause(map: &mut BTreeMap<String, u64>, label: &str, n: u64) {
    match map.get_mut(label) {
        Some(v) => *v += n,
        None => {
            map.insert(label.to_owned(), n);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Recorder internals

#[derive(Debug, Clone)]
struct IncidentRec {
    id: IncidentId,
    opened_by: IncidentTrigger,
    start: Instant,
    start_wall: SystemTime,
    end: Option<(Instant, SystemTime)>,
    causes: BTreeMap<String, u64>,
    checks: CheckCounts,
    breaker_transitions: u64,
    breaker_rejections: u64,
    reconciliation: ReconciliationCounts,
}

impl IncidentRec {
    fn duration(&self, now: Instant) -> Duration {
        let end = self.end.map_or(now, |(e, _)| e);
        end.saturating_duration_since(self.start)
    }

    fn covers(&self, t: SystemTime, now_wall: SystemTime) -> bool {
        let end = self.end.map_or(now_wall, |(_, w)| w);
        self.start_wall <= t && t <= end
    }

    fn export(&self, now: Instant) -> Incident {
        Incident {
            id: self.id,
            opened_by: self.opened_by,
            started_at: rfc3339(self.start_wall),
            ended_at: self.end.map(|(_, w)| rfc3339(w)),
            ongoing: self.end.is_none(),
            duration_ms: duration_ms(self.duration(now)),
            causes: self.causes.clone(),
            checks: self.checks,
            breaker_transitions: self.breaker_transitions,
            breaker_rejections: self.breaker_rejections,
            reconciliation: self.reconciliation.with_unreconciled(self.checks.offline),
        }
    }
}

#[derive(Debug, Default)]
struct Folded {
    count: u64,
    first_id: Option<IncidentId>,
    last_id: Option<IncidentId>,
    first_start_wall: Option<SystemTime>,
    last_end_wall: Option<SystemTime>,
    total_duration: Duration,
    causes: BTreeMap<String, u64>,
    checks: CheckCounts,
    breaker_transitions: u64,
    breaker_rejections: u64,
    reconciliation: ReconciliationCounts,
}

impl Folded {
    fn fold(&mut self, i: IncidentRec, now: Instant) {
        self.count += 1;
        self.first_id.get_or_insert(i.id);
        self.last_id = Some(i.id);
        self.first_start_wall.get_or_insert(i.start_wall);
        self.last_end_wall = Some(i.end.map_or(i.start_wall, |(_, w)| w));
        self.total_duration += i.duration(now);
        for (k, n) in &i.causes {
            add_cause(&mut self.causes, k, *n);
        }
        self.checks.merge(&i.checks);
        self.breaker_transitions += i.breaker_transitions;
        self.breaker_rejections += i.breaker_rejections;
        self.reconciliation.merge(&i.reconciliation);
    }

    fn export(&self) -> SummarisedIncidents {
        SummarisedIncidents {
            count: self.count,
            first_id: self.first_id,
            last_id: self.last_id,
            first_started_at: self.first_start_wall.map(rfc3339),
            last_ended_at: self.last_end_wall.map(rfc3339),
            total_duration_ms: duration_ms(self.total_duration),
            causes: self.causes.clone(),
            checks: self.checks,
            breaker_transitions: self.breaker_transitions,
            breaker_rejections: self.breaker_rejections,
            reconciliation: self.reconciliation.with_unreconciled(self.checks.offline),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    sec: u64,
    breaker: BreakerState,
    online: u32,
    offline: u32,
    refused: u32,
    rejected: u32,
    rechecks: u32,
}

#[derive(Debug)]
struct State {
    breaker: BreakerState,
    /// Kept incidents, oldest first; at most one (the last) is open.
    incidents: VecDeque<IncidentRec>,
    open: Option<IncidentId>,
    next_id: u64,
    /// Failures since the last online check while no incident was open.
    pending_causes: BTreeMap<String, u64>,
    folded: Folded,
    totals: Totals,
    closed_incident_time: Duration,
    series: VecDeque<Bucket>,
}

/// Records incidents and a per-second series. `Send + Sync`; share it in an `Arc`, register
/// it as a client listener and feed it from the check loop. Every method takes one short
/// lock and allocates at most a few small strings.
pub struct OutageRecorder {
    clock: SharedClock,
    config: OutageConfig,
    origin: Instant,
    origin_wall: SystemTime,
    /// `origin_wall` in Unix milliseconds (series anchor).
    origin_unix_ms: i128,
    state: Mutex<State>,
}

impl fmt::Debug for OutageRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutageRecorder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl OutageRecorder {
    /// A recorder reading time from `clock` (monotonic for durations and the series, wall
    /// for timestamps).
    pub fn new(clock: SharedClock, config: OutageConfig) -> Self {
        let config = OutageConfig {
            max_incidents: config.max_incidents.max(1),
            max_series_seconds: config.max_series_seconds.max(1),
            breaker: config.breaker,
        };
        let origin = clock.now();
        let origin_wall = clock.wall();
        let origin_unix_ms = match origin_wall.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => d.as_millis() as i128,
            Err(e) => -(e.duration().as_millis() as i128),
        };
        Self {
            clock,
            config,
            origin,
            origin_wall,
            origin_unix_ms,
            state: Mutex::new(State {
                breaker: BreakerState::Closed,
                incidents: VecDeque::new(),
                open: None,
                next_id: 1,
                pending_causes: BTreeMap::new(),
                folded: Folded::default(),
                totals: Totals::default(),
                closed_incident_time: Duration::ZERO,
                series: VecDeque::new(),
            }),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &OutageConfig {
        &self.config
    }

    /// Counts one failed attempt (call it for every attempt that failed, retried or not).
    /// Attributed to the open incident, or held until the next online check and folded
    /// into the next incident if one opens first.
    pub fn record_attempt_failure(&self, failure: &FailureKind) {
        let label = failure.label();
        let now = self.clock.now();
        let mut st = self.state.lock();
        self.touch_series(&mut st, now);
        add_cause(&mut st.totals.attempt_failures, &label, 1);
        match st.open {
            Some(_) => {
                let inc = st.incidents.back_mut().expect("open incident is kept");
                add_cause(&mut inc.causes, &label, 1);
            }
            None => add_cause(&mut st.pending_causes, &label, 1),
        }
    }

    /// Counts one finished check (exactly once per check). Returns the incident the check
    /// was counted in: always `Some` for [`CheckOutcome::Offline`] (keep it with the
    /// journal record to attach the reconciliation later).
    pub fn record_check(&self, outcome: CheckOutcome) -> Option<IncidentId> {
        self.record_check_closing(outcome).0
    }

    /// [`record_check`](Self::record_check), also returning the incident this check
    /// closed (as the report will show it), so the engine can journal it on closing.
    pub(crate) fn record_check_closing(
        &self,
        outcome: CheckOutcome,
    ) -> (Option<IncidentId>, Option<Incident>) {
        let now = self.clock.now();
        let mut st = self.state.lock();
        self.touch_series(&mut st, now);
        if let Some(b) = st.series.back_mut() {
            match outcome {
                CheckOutcome::Online => b.online += 1,
                CheckOutcome::Offline => b.offline += 1,
                CheckOutcome::Refused => b.refused += 1,
                CheckOutcome::Rejected => b.rejected += 1,
            }
        }
        st.totals.checks.add(outcome);
        match outcome {
            CheckOutcome::Refused if st.open.is_none() => {
                self.open_incident(&mut st, IncidentTrigger::FailedCheck, now);
            }
            CheckOutcome::Offline if st.open.is_none() => {
                self.open_incident(&mut st, IncidentTrigger::OfflineCheck, now);
            }
            CheckOutcome::Online if st.open.is_none() => st.pending_causes.clear(),
            _ => {}
        }
        let Some(id) = st.open else {
            return (None, None);
        };
        let closes = outcome == CheckOutcome::Online
            && matches!(st.breaker, BreakerState::Closed | BreakerState::Disabled);
        let wall = if closes {
            Some(self.clock.wall())
        } else {
            None
        };
        let inc = st.incidents.back_mut().expect("open incident is kept");
        inc.checks.add(outcome);
        let mut closed = None;
        if let Some(wall) = wall {
            inc.end = Some((now, wall));
            let d = inc.duration(now);
            closed = Some(inc.export(now));
            st.closed_incident_time += d;
            st.open = None;
        }
        (Some(id), closed)
    }

    /// When the recorder started (RFC 3339 UTC), as [`OutageReport::recording_since`]:
    /// with the incident id, what identifies an incident across a fleet's ledger.
    pub fn recording_since(&self) -> String {
        rfc3339(self.origin_wall)
    }

    /// Counts one reconciliation re-check sent to the registry (answered or not). Kept
    /// apart from citizen checks: a reconciliation run after an outage must not read as
    /// a burst of online checks, nor open or close an incident.
    pub fn record_recheck(&self) {
        let now = self.clock.now();
        let mut st = self.state.lock();
        self.touch_series(&mut st, now);
        if let Some(b) = st.series.back_mut() {
            b.rechecks += 1;
        }
        st.totals.checks.rechecks += 1;
        if st.open.is_some() {
            let inc = st.incidents.back_mut().expect("open incident is kept");
            inc.checks.rechecks += 1;
        }
    }

    /// Counts one citizen check its caller dropped before it was decided (a cancelled
    /// async check): in the totals and the open incident, if any. It neither opens nor
    /// closes an incident and is not part of [`CheckCounts::total`].
    pub fn record_cancelled(&self) {
        let mut st = self.state.lock();
        st.totals.checks.cancelled += 1;
        if st.open.is_some() {
            let inc = st.incidents.back_mut().expect("open incident is kept");
            inc.checks.cancelled += 1;
        }
    }

    /// Attaches a reconciliation outcome of an offline decision to its incident (by id, or
    /// the incident covering a wall time). Outcomes for incidents already folded go to the
    /// summarised aggregate. `Confirmed` / `Contradicted` are final: report them once per
    /// offline decision; `StillPending` may be reported any number of times.
    pub fn record_reconciliation(
        &self,
        incident: impl Into<IncidentRef>,
        outcome: ReconciliationOutcome,
    ) -> Result<IncidentId, ReconcileError> {
        let incident = incident.into();
        let now_wall = self.clock.wall();
        let mut st = self.state.lock();
        let st = &mut *st;
        let id = match incident {
            IncidentRef::Id(id) => {
                if id.0 == 0 || id.0 >= st.next_id {
                    return Err(ReconcileError::UnknownIncident(id));
                }
                id
            }
            IncidentRef::At(t) => {
                if let Some(i) = st.incidents.iter().rev().find(|i| i.covers(t, now_wall)) {
                    i.id
                } else {
                    let f = &st.folded;
                    match (f.first_start_wall, f.last_end_wall, f.last_id) {
                        (Some(a), Some(b), Some(last)) if a <= t && t <= b => last,
                        _ => return Err(ReconcileError::NoIncidentAt),
                    }
                }
            }
        };
        st.totals.reconciliation.add(outcome);
        if let Some(i) = st.incidents.iter_mut().find(|i| i.id == id) {
            i.reconciliation.add(outcome);
        } else {
            // Ids below the oldest kept one were folded.
            st.folded.reconciliation.add(outcome);
        }
        Ok(id)
    }

    /// Finds the incident covering a wall time (kept incidents only).
    pub fn incident_at(&self, t: SystemTime) -> Option<IncidentId> {
        let now_wall = self.clock.wall();
        let st = self.state.lock();
        st.incidents
            .iter()
            .rev()
            .find(|i| i.covers(t, now_wall))
            .map(|i| i.id)
    }

    /// The open incident, if any.
    pub fn current_incident(&self) -> Option<IncidentId> {
        self.state.lock().open
    }

    /// When the open incident began (wall time), if one is open: the "since when" of an
    /// [`ANDAL-UNAVAILABLE`](crate::notice::NoticeCode::Unavailable) notice.
    pub fn current_incident_start(&self) -> Option<SystemTime> {
        let st = self.state.lock();
        st.open
            .and_then(|_| st.incidents.back())
            .map(|i| i.start_wall)
    }

    /// The last breaker state seen.
    pub fn breaker_state(&self) -> BreakerState {
        self.state.lock().breaker
    }

    /// A snapshot of the record.
    pub fn report(&self) -> OutageReport {
        let now = self.clock.now();
        let now_wall = self.clock.wall();
        let mut st = self.state.lock();
        self.touch_series(&mut st, now);
        let incidents: Vec<Incident> = st.incidents.iter().map(|i| i.export(now)).collect();
        let mut totals = st.totals.clone();
        let ongoing = st
            .open
            .and_then(|_| st.incidents.back())
            .map_or(Duration::ZERO, |i| i.duration(now));
        totals.incident_time_ms = duration_ms(st.closed_incident_time + ongoing);
        totals.reconciliation = totals
            .reconciliation
            .with_unreconciled(totals.checks.offline);
        let base_s = self.origin_unix_ms.div_euclid(1000) as i64;
        let buckets = st
            .series
            .iter()
            .map(|b| SeriesBucket {
                t: base_s + b.sec as i64,
                breaker: b.breaker,
                online: b.online,
                offline: b.offline,
                refused: b.refused,
                rejected: b.rejected,
                rechecks: b.rechecks,
            })
            .collect();
        OutageReport {
            format_version: FORMAT_VERSION,
            generated_at: rfc3339(now_wall),
            recording_since: self.recording_since(),
            limits: ReportLimits {
                max_incidents: self.config.max_incidents,
                max_series_seconds: self.config.max_series_seconds,
            },
            current: CurrentState {
                breaker: st.breaker,
                open_incident: st.open,
            },
            totals,
            summarised: st.folded.export(),
            incidents,
            series: Series {
                bucket_seconds: 1,
                max_buckets: self.config.max_series_seconds,
                buckets,
            },
        }
    }

    fn open_incident(&self, st: &mut State, trigger: IncidentTrigger, now: Instant) {
        let id = IncidentId(st.next_id);
        st.next_id += 1;
        let causes = std::mem::take(&mut st.pending_causes);
        st.incidents.push_back(IncidentRec {
            id,
            opened_by: trigger,
            start: now,
            start_wall: self.clock.wall(),
            end: None,
            causes,
            checks: CheckCounts::default(),
            breaker_transitions: 0,
            breaker_rejections: 0,
            reconciliation: ReconciliationCounts::default(),
        });
        st.open = Some(id);
        st.totals.incidents += 1;
        while st.incidents.len() > self.config.max_incidents {
            // The open incident is always the newest, and max_incidents >= 1.
            let old = st.incidents.pop_front().expect("non-empty");
            st.folded.fold(old, now);
        }
    }

    /// Brings the series up to the second containing `now` (filling quiet seconds with the
    /// current breaker state), keeping at most `max_series_seconds` buckets.
    fn touch_series(&self, st: &mut State, now: Instant) {
        let elapsed_ms = now.saturating_duration_since(self.origin).as_millis() as i128;
        let base = self.origin_unix_ms.rem_euclid(1000);
        let sec = ((base + elapsed_ms) / 1000) as u64;
        let max = self.config.max_series_seconds as u64;
        let breaker = st.breaker;
        let empty = |sec| Bucket {
            sec,
            breaker,
            online: 0,
            offline: 0,
            refused: 0,
            rejected: 0,
            rechecks: 0,
        };
        let from = match st.series.back() {
            None => sec,
            Some(last) if sec > last.sec => (last.sec + 1).max((sec + 1).saturating_sub(max)),
            Some(_) => return,
        };
        if sec + 1 - from >= max {
            st.series.clear();
        }
        for s in from..=sec {
            st.series.push_back(empty(s));
        }
        while st.series.len() > self.config.max_series_seconds {
            st.series.pop_front();
        }
    }

    fn on_transition(&self, from: BreakerState, to: BreakerState) {
        let now = self.clock.now();
        let mut st = self.state.lock();
        self.touch_series(&mut st, now);
        st.breaker = to;
        if let Some(b) = st.series.back_mut() {
            b.breaker = to;
        }
        st.totals.breaker_transitions += 1;
        let opens = matches!(to, BreakerState::Open | BreakerState::ForcedOpen)
            && !matches!(from, BreakerState::Open | BreakerState::ForcedOpen);
        if opens && st.open.is_none() {
            self.open_incident(&mut st, IncidentTrigger::BreakerOpen, now);
        }
        if st.open.is_some() {
            let inc = st.incidents.back_mut().expect("open incident is kept");
            inc.breaker_transitions += 1;
        }
    }

    fn on_rejection(&self) {
        let now = self.clock.now();
        let mut st = self.state.lock();
        self.touch_series(&mut st, now);
        st.totals.breaker_rejections += 1;
        if st.open.is_some() {
            let inc = st.incidents.back_mut().expect("open incident is kept");
            inc.breaker_rejections += 1;
        }
    }

    fn wants(&self, breaker: &str) -> bool {
        self.config.breaker.as_deref().is_none_or(|b| b == breaker)
    }
}

impl EventListener for OutageRecorder {
    fn on_event(&self, event: &ResilienceEvent) {
        match event {
            ResilienceEvent::StateTransition { breaker, from, to } if self.wants(breaker) => {
                self.on_transition(*from, *to);
            }
            ResilienceEvent::CallRejected { breaker, .. } if self.wants(breaker) => {
                self.on_rejection();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_sync() {
        fn assert<T: Send + Sync>() {}
        assert::<OutageRecorder>();
        assert::<OutageReport>();
    }

    #[test]
    fn rfc3339_is_utc_millis() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20.123Z");
        assert_eq!(
            rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
            "2023-11-14T22:13:20Z"
        );
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(450), "450 ms");
        assert_eq!(human_duration(90_000), "1 min 30 s");
        assert_eq!(human_duration(3_723_000), "1 h 2 min 3 s");
    }
}
