//! The fleet outage record: node incidents merged into fleet incidents, written in the
//! single-node outage-record format (docs/outage-record.md) plus fleet fields.
//!
//! Merge rule: per upstream host, node incidents whose time ranges overlap, or are less
//! than [`MERGE_GAP_MS`] apart, form one fleet incident: first start, last end, the nodes
//! affected, causes, checks, breaker transitions and rejections summed. Reconciliation counts come from the ledger's
//! decisions (central or node outcomes) made on that host inside the fleet incident.

use std::collections::{BTreeMap, BTreeSet};

use postgres::Client as Db;
use serde_json::{Value, json};

use crate::LedgerError;

/// One node incident as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeIncident {
    /// Node id.
    pub node_id: String,
    /// Upstream host.
    pub host: String,
    /// What opened it.
    pub opened_by: String,
    /// Start, unix ms.
    pub start_ms: i64,
    /// End, unix ms.
    pub end_ms: i64,
    /// Causes.
    pub causes: BTreeMap<String, u64>,
    /// online, offline, refused, rejected, rechecks.
    pub checks: [u64; 5],
    /// Breaker transitions.
    pub transitions: u64,
    /// Breaker rejections.
    pub rejections: u64,
}

/// A fleet incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetIncident {
    /// Upstream host.
    pub host: String,
    /// What opened the earliest node incident.
    pub opened_by: String,
    /// First start, unix ms.
    pub start_ms: i64,
    /// Last end, unix ms.
    pub end_ms: i64,
    /// Nodes affected.
    pub nodes: BTreeSet<String>,
    /// Node incidents merged.
    pub node_incidents: u64,
    /// Causes summed.
    pub causes: BTreeMap<String, u64>,
    /// online, offline, refused, rejected, rechecks summed.
    pub checks: [u64; 5],
    /// Breaker transitions summed.
    pub transitions: u64,
    /// Breaker rejections summed.
    pub rejections: u64,
}

/// Node incidents of one host less than this far apart (end to start, in ms) belong to one
/// fleet incident. Right after a recovery a node's adaptive throttle still sheds a few
/// checks (its trailing window remembers the outage), and each shed check opens and the
/// next answered one closes a node incident: flaps tens to hundreds of ms apart, on
/// whichever nodes, that are the tail of the same outage, not new ones. A real new outage
/// seconds later is rarely distinguishable to the public either.
pub const MERGE_GAP_MS: i64 = 5_000;

/// Merge node incidents (any order) into fleet incidents, ordered by start.
pub fn merge(mut incidents: Vec<NodeIncident>) -> Vec<FleetIncident> {
    incidents.sort_by(|a, b| (&a.host, a.start_ms, a.end_ms).cmp(&(&b.host, b.start_ms, b.end_ms)));
    let mut out: Vec<FleetIncident> = Vec::new();
    for i in incidents {
        let joins = out
            .last()
            .is_some_and(|f| f.host == i.host && i.start_ms < f.end_ms + MERGE_GAP_MS);
        if !joins {
            out.push(FleetIncident {
                host: i.host.clone(),
                opened_by: i.opened_by.clone(),
                start_ms: i.start_ms,
                end_ms: i.end_ms,
                nodes: BTreeSet::new(),
                node_incidents: 0,
                causes: BTreeMap::new(),
                checks: [0; 5],
                transitions: 0,
                rejections: 0,
            });
        }
        let f = out.last_mut().expect("pushed above");
        f.end_ms = f.end_ms.max(i.end_ms);
        f.nodes.insert(i.node_id);
        f.node_incidents += 1;
        for (k, v) in i.causes {
            *f.causes.entry(k).or_default() += v;
        }
        for (a, b) in f.checks.iter_mut().zip(i.checks) {
            *a += b;
        }
        f.transitions += i.transitions;
        f.rejections += i.rejections;
    }
    out.sort_by_key(|f| (f.start_ms, f.host.clone()));
    out
}

/// Node incidents stored in the ledger.
pub fn node_incidents(db: &mut Db) -> Result<Vec<NodeIncident>, LedgerError> {
    let rows = db.query(
        "SELECT node_id, upstream_host, opened_by,
                (extract(epoch FROM started_at) * 1000)::bigint,
                (extract(epoch FROM ended_at) * 1000)::bigint,
                causes::text, online, offline, refused, rejected, rechecks,
                breaker_transitions, breaker_rejections
         FROM ledger_incidents",
        &[],
    )?;
    Ok(rows
        .into_iter()
        .map(|r| NodeIncident {
            node_id: r.get(0),
            host: r.get(1),
            opened_by: r.get(2),
            start_ms: r.get(3),
            end_ms: r.get(4),
            causes: serde_json::from_str(r.get::<_, &str>(5)).unwrap_or_default(),
            checks: [
                r.get::<_, i64>(6) as u64,
                r.get::<_, i64>(7) as u64,
                r.get::<_, i64>(8) as u64,
                r.get::<_, i64>(9) as u64,
                r.get::<_, i64>(10) as u64,
            ],
            transitions: r.get::<_, i64>(11) as u64,
            rejections: r.get::<_, i64>(12) as u64,
        })
        .collect())
}

/// RFC 3339 UTC, whole seconds or exactly three fraction digits (as the outage record).
pub fn rfc3339_ms(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let frac = ms.rem_euclid(1000);
    if frac == 0 {
        format!("{base}Z")
    } else {
        format!("{base}.{frac:03}Z")
    }
}

const SERIES_MAX: i64 = 3600;

/// The fleet outage record as JSON (outage-record format 1 plus `fleet`, and per incident
/// `upstream_host`, `nodes_affected`, `node_incidents`), checked by reading it back with
/// [`andal::outage::OutageReport::from_json`], and the report itself (for the SVG).
pub fn fleet_report(db: &mut Db) -> Result<(String, andal::outage::OutageReport), LedgerError> {
    let fleet = merge(node_incidents(db)?);
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let nodes: Vec<String> = db
        .query("SELECT node_id FROM ledger_nodes ORDER BY node_id", &[])?
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    let since_ms: Option<i64> = db
        .query_one(
            "SELECT (extract(epoch FROM least(
                 (SELECT min(recording_since) FROM ledger_incidents),
                 (SELECT to_timestamp(min(t)) FROM ledger_series),
                 (SELECT min(decided_at) FROM ledger_decisions))) * 1000)::bigint",
            &[],
        )?
        .get(0);
    let since_ms = since_ms.unwrap_or(now_ms);

    let mut incidents = Vec::new();
    let mut totals_checks = [0u64; 5];
    let mut totals_causes: BTreeMap<String, u64> = BTreeMap::new();
    let (mut tt, mut tr, mut time_ms) = (0u64, 0u64, 0u64);
    let mut totals_rec = [0u64; 2];
    for (i, f) in fleet.iter().enumerate() {
        // Decisions on this host inside the incident (decided_at has whole seconds).
        let row = db.query_one(
            "SELECT count(*) FILTER (WHERE state = 'confirmed'),
                    count(*) FILTER (WHERE state = 'contradicted')
             FROM ledger_decisions
             WHERE upstream_host = $1
               AND decided_at >= to_timestamp(floor($2::bigint / 1000.0))
               AND decided_at <= to_timestamp($3::bigint / 1000.0)",
            &[&f.host, &f.start_ms, &f.end_ms],
        )?;
        let confirmed = row.get::<_, i64>(0) as u64;
        let contradicted = row.get::<_, i64>(1) as u64;
        totals_rec[0] += confirmed;
        totals_rec[1] += contradicted;
        for (a, b) in totals_checks.iter_mut().zip(f.checks) {
            *a += b;
        }
        for (k, v) in &f.causes {
            *totals_causes.entry(k.clone()).or_default() += v;
        }
        tt += f.transitions;
        tr += f.rejections;
        let duration = (f.end_ms - f.start_ms).max(0) as u64;
        time_ms += duration;
        incidents.push(json!({
            "id": i + 1,
            "opened_by": f.opened_by,
            "started_at": rfc3339_ms(f.start_ms),
            "ended_at": rfc3339_ms(f.end_ms),
            "ongoing": false,
            "duration_ms": duration,
            "causes": f.causes,
            "checks": checks_json(&f.checks),
            "breaker_transitions": f.transitions,
            "breaker_rejections": f.rejections,
            "reconciliation": {
                "confirmed": confirmed,
                "contradicted": contradicted,
                "still_pending_reports": 0,
                "unreconciled": f.checks[1].saturating_sub(confirmed + contradicted),
            },
            "upstream_host": f.host,
            "nodes_affected": f.nodes,
            "node_incidents": f.node_incidents,
        }));
    }

    // Fleet series: per second, checks summed over nodes; breaker = the worst state seen.
    let rows = db.query(
        "SELECT t, sum(online)::bigint, sum(offline)::bigint, sum(refused)::bigint,
                sum(rejected)::bigint, sum(rechecks)::bigint,
                max(CASE breaker WHEN 'open' THEN 4 WHEN 'forced_open' THEN 3
                                 WHEN 'half_open' THEN 2 WHEN 'closed' THEN 1 ELSE 0 END)
         FROM ledger_series
         WHERE t > (SELECT max(t) FROM ledger_series) - $1
         GROUP BY t ORDER BY t",
        &[&SERIES_MAX],
    )?;
    let mut buckets: Vec<Value> = Vec::new();
    let mut last_t: Option<i64> = None;
    let mut last_state = "closed";
    for r in rows {
        let t: i64 = r.get(0);
        if let Some(prev) = last_t {
            // The format wants contiguous seconds: a second no node reported is empty.
            for gap in prev + 1..t {
                buckets.push(bucket(gap, last_state, [0; 5]));
            }
        }
        let state = match r.get::<_, i32>(6) {
            4 => "open",
            3 => "forced_open",
            2 => "half_open",
            1 => "closed",
            _ => "disabled",
        };
        let c = [1, 2, 3, 4, 5].map(|i| r.get::<_, i64>(i) as u64);
        buckets.push(bucket(t, state, c));
        last_t = Some(t);
        last_state = state;
    }
    let (confirmed, contradicted) = (totals_rec[0], totals_rec[1]);
    let value = json!({
        "format_version": andal::outage::FORMAT_VERSION,
        "generated_at": rfc3339_ms(now_ms),
        "recording_since": rfc3339_ms(since_ms),
        "limits": { "max_incidents": fleet.len().max(1), "max_series_seconds": SERIES_MAX },
        "current": { "breaker": last_state, "open_incident": null },
        "totals": {
            "incidents": fleet.len(),
            "incident_time_ms": time_ms,
            "checks": checks_json(&totals_checks),
            "attempt_failures": totals_causes,
            "breaker_transitions": tt,
            "breaker_rejections": tr,
            "reconciliation": {
                "confirmed": confirmed,
                "contradicted": contradicted,
                "still_pending_reports": 0,
                "unreconciled": totals_checks[1].saturating_sub(confirmed + contradicted),
            },
        },
        "summarised": {
            "count": 0, "first_id": null, "last_id": null, "first_started_at": null,
            "last_ended_at": null, "total_duration_ms": 0, "causes": {},
            "checks": checks_json(&[0; 5]), "breaker_transitions": 0, "breaker_rejections": 0,
            "reconciliation": { "confirmed": 0, "contradicted": 0, "still_pending_reports": 0, "unreconciled": 0 },
        },
        "incidents": incidents,
        "series": { "bucket_seconds": 1, "max_buckets": SERIES_MAX, "buckets": buckets },
        "fleet": { "nodes": nodes, "node_incidents": fleet.iter().map(|f| f.node_incidents).sum::<u64>() },
    });
    let text = serde_json::to_string_pretty(&value).unwrap_or_default();
    let report = andal::outage::OutageReport::from_json(&text)
        .map_err(|e| LedgerError::Config(format!("fleet report does not read back: {e}")))?;
    Ok((text, report))
}

fn checks_json(c: &[u64; 5]) -> Value {
    json!({ "online": c[0], "offline": c[1], "refused": c[2], "rejected": c[3], "rechecks": c[4] })
}

fn bucket(t: i64, state: &str, c: [u64; 5]) -> Value {
    json!({ "t": t, "breaker": state, "online": c[0], "offline": c[1], "refused": c[2],
            "rejected": c[3], "rechecks": c[4] })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inc(node: &str, host: &str, start: i64, end: i64) -> NodeIncident {
        NodeIncident {
            node_id: node.into(),
            host: host.into(),
            opened_by: "breaker_open".into(),
            start_ms: start,
            end_ms: end,
            causes: BTreeMap::from([("refused".to_owned(), 2)]),
            checks: [1, 2, 3, 0, 0],
            transitions: 2,
            rejections: 1,
        }
    }

    #[test]
    fn overlapping_incidents_of_one_host_merge() {
        let f = merge(vec![
            inc("b", "h", 5_000, 9_000),
            inc("a", "h", 1_000, 6_000),
            inc("c", "h", 8_500, 12_000),
            inc("a", "h", 20_000, 21_000),
            inc("d", "other", 2_000, 3_000),
        ]);
        assert_eq!(f.len(), 3);
        let first = f
            .iter()
            .find(|x| x.host == "h" && x.start_ms == 1_000)
            .unwrap();
        assert_eq!(first.end_ms, 12_000);
        assert_eq!(first.nodes.len(), 3);
        assert_eq!(first.node_incidents, 3);
        assert_eq!(first.causes["refused"], 6);
        assert_eq!(first.checks, [3, 6, 9, 0, 0]);
        assert_eq!(first.transitions, 6);
        assert_eq!(f.iter().filter(|x| x.host == "other").count(), 1);
    }

    #[test]
    fn flaps_after_a_recovery_join_the_outage_a_later_outage_does_not() {
        // As seen in the fleet drill: the main outage on all nodes, then node incidents
        // opened by checks shed while the throttle's window still remembered it.
        let f = merge(vec![
            inc("a", "h", 1_000, 8_000),
            inc("b", "h", 1_100, 8_300),
            inc("c", "h", 8_400, 8_500),
            inc("a", "h", 8_900, 9_000),
            inc("b", "h", 12_500, 12_600),
            // Just under / at the gap after the last end (12_600).
            inc("c", "h", 12_600 + MERGE_GAP_MS - 1, 20_000),
            inc("a", "h", 20_000 + MERGE_GAP_MS, 26_000),
        ]);
        assert_eq!(f.len(), 2, "{f:#?}");
        assert_eq!((f[0].start_ms, f[0].end_ms), (1_000, 20_000));
        assert_eq!((f[0].nodes.len(), f[0].node_incidents), (3, 6));
        assert_eq!(f[1].start_ms, 20_000 + MERGE_GAP_MS);
    }

    #[test]
    fn timestamps_like_the_outage_record() {
        assert_eq!(rfc3339_ms(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339_ms(1_700_000_000_500), "2023-11-14T22:13:20.500Z");
    }
}
