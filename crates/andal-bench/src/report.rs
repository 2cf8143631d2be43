//! From raw runs to the figures of the table.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::run::{CheckRecord, RawRun, RunConfig};
use crate::script::Script;

/// A check counts as "decided quickly" within this.
pub const QUICK_MS: f64 = 2000.0;
/// Andal's amplification target.
pub const AMPLIFICATION_TARGET: f64 = 1.2;
/// Andal's fail-fast target once the breaker is open.
pub const BREAKER_OPEN_P99_TARGET_MS: f64 = 5.0;
/// Slack on "decided within the deadline" for thread wake-up and scheduling.
pub const DEADLINE_SLACK_MS: f64 = 100.0;
/// One probe's worth of time in the recovery target (Andal's attempt timeout).
pub const PROBE_MS: f64 = 2000.0;

/// Figures of one phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseStats {
    /// Phase name.
    pub name: String,
    /// Checks started in it.
    pub checks: usize,
    /// Median time to decision, ms.
    pub p50_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// Online answers among them.
    pub successes: usize,
    /// Requests the sandbox received during the phase, per check started in it.
    pub server_requests_per_check: Option<f64>,
    /// Client-side attempts per check, when the contender reports them.
    pub client_attempts_per_check: Option<f64>,
}

/// Andal's targets, checked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Targets {
    /// p99 during hard down with the breaker open <= 5 ms.
    pub breaker_open_p99: Option<bool>,
    /// Every check decided within its deadline (plus scheduling slack).
    pub within_deadline: bool,
    /// Amplification <= 1.2 (server count and, when known, client count).
    pub amplification: bool,
    /// Recovery found within the open wait in force (the `retry_in` of the last
    /// breaker-open decision before the recovery) plus one probe; none: not found at all.
    pub recovery: Option<bool>,
}

/// The figures of one contender.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContenderReport {
    /// Name.
    pub name: String,
    /// Policies.
    pub description: String,
    /// Checks started over the whole script.
    pub checks_total: usize,
    /// Checks started in the outage window.
    pub checks_outage: usize,
    /// Median time to decision in the outage window, ms.
    pub p50_outage_ms: Option<f64>,
    /// 99th percentile in the outage window, ms.
    pub p99_outage_ms: Option<f64>,
    /// Slowest decision in the outage window, ms.
    pub max_outage_ms: Option<f64>,
    /// Slowest decision over the whole run, ms.
    pub max_ms: Option<f64>,
    /// Share of outage-window checks decided within 2 s.
    pub share_within_2s: Option<f64>,
    /// p99 over the hard-down phase, ms.
    pub p99_hard_down_ms: Option<f64>,
    /// When the contender's own breaker first refused a check in the hard-down phase (the
    /// end of the first breaker-open decision), ms after t = 0 (none: no breaker, or it
    /// never opened then).
    pub breaker_open_at_ms: Option<f64>,
    /// Checks started in the hard-down phase from then on.
    pub checks_breaker_open: usize,
    /// Their p99, ms.
    pub p99_breaker_open_ms: Option<f64>,
    /// Requests the sandbox received in the outage window / checks started in it.
    pub amplification_server: Option<f64>,
    /// Requests the client sent for the checks started in the outage window / those
    /// checks (client-side count; includes refused connections).
    pub amplification_client: Option<f64>,
    /// Accesses charged over the run.
    pub accesses_charged: u64,
    /// Online answers over the run.
    pub successes: usize,
    /// Accesses charged / checks started, whole run.
    pub fees_per_check: Option<f64>,
    /// Accesses charged / online answers, whole run.
    pub fees_per_answer: Option<f64>,
    /// From the end of the outage to the first successful online check, ms.
    pub recovery_ms: Option<f64>,
    /// Outcomes of outage-window checks.
    pub outcomes_outage: BTreeMap<String, usize>,
    /// Per-phase figures.
    pub phases: Vec<PhaseStats>,
    /// Andal's targets (Andal contenders only).
    pub targets: Option<Targets>,
    /// The raw run (checks, switches, breaker transitions).
    pub raw: RawRun,
}

/// The whole benchmark.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// When it ran (RFC 3339, UTC).
    pub date: String,
    /// The machine, as far as it can tell.
    pub machine: String,
    /// The script.
    pub script: Script,
    /// Load: workers, interval, sample size, deadline.
    pub load: String,
    /// One per contender, in run order.
    pub contenders: Vec<ContenderReport>,
}

/// Nearest-rank percentile of unsorted values.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    Some(v[rank.min(v.len()) - 1])
}

fn ratio(a: f64, b: usize) -> Option<f64> {
    (b > 0).then(|| a / b as f64)
}

fn in_range(checks: &[CheckRecord], from: f64, to: f64) -> Vec<&CheckRecord> {
    checks
        .iter()
        .filter(|c| c.t_start_ms >= from && c.t_start_ms < to)
        .collect()
}

fn durations(cs: &[&CheckRecord]) -> Vec<f64> {
    cs.iter().map(|c| c.duration_ms).collect()
}

fn client_attempts(cs: &[&CheckRecord]) -> Option<f64> {
    if cs.is_empty() || cs.iter().any(|c| c.attempts.is_none()) {
        return None;
    }
    ratio(
        cs.iter().map(|c| f64::from(c.attempts.unwrap_or(0))).sum(),
        cs.len(),
    )
}

/// Compute the figures of one run.
///
/// `andal`: check Andal's targets.
pub fn analyse(cfg: &RunConfig, raw: RawRun, andal: bool) -> ContenderReport {
    let script = &cfg.script;
    let sw = &raw.switches;
    let at = |i: usize| sw.get(i).map_or(f64::INFINITY, |s| s.at_ms);
    let received = |i: usize| sw.get(i).map_or(0, |s| s.before.requests_received);
    let checks = &raw.checks;

    let phases: Vec<PhaseStats> = script
        .phases
        .iter()
        .enumerate()
        .map(|(i, ph)| {
            let cs = in_range(checks, at(i), at(i + 1));
            let d = durations(&cs);
            PhaseStats {
                name: ph.name.clone(),
                checks: cs.len(),
                p50_ms: percentile(&d, 50.0),
                p99_ms: percentile(&d, 99.0),
                successes: cs.iter().filter(|c| c.is_success()).count(),
                server_requests_per_check: ratio(
                    received(i + 1).saturating_sub(received(i)) as f64,
                    cs.len(),
                ),
                client_attempts_per_check: client_attempts(&cs),
            }
        })
        .collect();

    let (o_start, o_end) = script.outage_bounds().unwrap_or((0, script.phases.len()));
    let outage = in_range(checks, at(o_start), at(o_end));
    let od = durations(&outage);
    let mut outcomes_outage = BTreeMap::new();
    for c in &outage {
        *outcomes_outage.entry(c.outcome.clone()).or_insert(0) += 1;
    }

    // Hard down: the first phase whose fault is `Down`.
    let hard = script
        .phases
        .iter()
        .position(|p| matches!(p.fault, Some(andal_sandbox::Fault::Down)));
    let (p99_hard_down_ms, breaker_open_at_ms, checks_breaker_open, p99_breaker_open_ms) =
        match hard {
            Some(h) => {
                let cs = in_range(checks, at(h), at(h + 1));
                let p99 = percentile(&durations(&cs), 99.0);
                // The breaker is known open from the first breaker-open decision given in
                // the phase; checks started from then on make the window.
                let open_at = cs
                    .iter()
                    .filter(|c| c.outcome == "error:breaker_open")
                    .map(|c| c.t_start_ms + c.duration_ms)
                    .min_by(f64::total_cmp);
                let (n, p) = match open_at {
                    Some(t) => {
                        let open = in_range(checks, t, at(h + 1));
                        (open.len(), percentile(&durations(&open), 99.0))
                    }
                    None => (0, None),
                };
                (p99, open_at, n, p)
            }
            None => (None, None, 0, None),
        };

    let recovery_at = at(o_end);
    let recovery_ms = checks
        .iter()
        .filter(|c| c.is_success())
        .map(|c| c.t_start_ms + c.duration_ms)
        .filter(|&end| end >= recovery_at)
        .min_by(f64::total_cmp)
        .map(|end| end - recovery_at);

    let amplification_server = ratio(
        received(o_end).saturating_sub(received(o_start)) as f64,
        outage.len(),
    );
    let amplification_client = client_attempts(&outage);
    let accesses_charged = raw.final_accounting.accesses_charged;
    let successes = checks.iter().filter(|c| c.is_success()).count();
    let max_ms = percentile(&durations(&checks.iter().collect::<Vec<_>>()), 100.0);

    let targets = andal.then(|| {
        let deadline_ms = cfg.deadline.as_secs_f64() * 1000.0;
        // The breaker's own word: the last breaker-open decision before the recovery says
        // when it lets a probe through (`retry_in`); the recovery must be found by then
        // plus one probe. Without such a decision (breaker closed at recovery), within
        // one probe and one pacing slot.
        let recovery = recovery_ms.map(|r| {
            let last_open = checks
                .iter()
                .filter(|c| c.outcome == "error:breaker_open" && c.retry_in_ms.is_some())
                .filter(|c| c.t_start_ms + c.duration_ms <= recovery_at)
                .max_by(|a, b| a.t_start_ms.total_cmp(&b.t_start_ms));
            match last_open {
                Some(c) => {
                    let half_open = c.t_start_ms + c.duration_ms + c.retry_in_ms.unwrap_or(0.0);
                    r <= (half_open - recovery_at).max(0.0) + PROBE_MS
                }
                None => r <= PROBE_MS + cfg.interval.as_secs_f64() * 1000.0,
            }
        });
        Targets {
            breaker_open_p99: p99_breaker_open_ms.map(|p| p <= BREAKER_OPEN_P99_TARGET_MS),
            within_deadline: max_ms.is_none_or(|m| m <= deadline_ms + DEADLINE_SLACK_MS),
            amplification: amplification_server.is_none_or(|a| a <= AMPLIFICATION_TARGET)
                && amplification_client.is_none_or(|a| a <= AMPLIFICATION_TARGET),
            recovery,
        }
    });

    ContenderReport {
        name: raw.name.clone(),
        description: raw.description.clone(),
        checks_total: checks.len(),
        checks_outage: outage.len(),
        p50_outage_ms: percentile(&od, 50.0),
        p99_outage_ms: percentile(&od, 99.0),
        max_outage_ms: percentile(&od, 100.0),
        max_ms,
        share_within_2s: ratio(
            od.iter().filter(|&&d| d <= QUICK_MS).count() as f64,
            od.len(),
        ),
        p99_hard_down_ms,
        breaker_open_at_ms,
        checks_breaker_open,
        p99_breaker_open_ms,
        amplification_server,
        amplification_client,
        accesses_charged,
        successes,
        fees_per_check: ratio(accesses_charged as f64, checks.len()),
        fees_per_answer: ratio(accesses_charged as f64, successes),
        recovery_ms,
        outcomes_outage,
        phases,
        targets,
        raw,
    }
}

fn ms(v: Option<f64>) -> String {
    match v {
        None => "—".into(),
        Some(v) if v < 10.0 => format!("{v:.2} ms"),
        Some(v) if v < 1000.0 => format!("{v:.0} ms"),
        Some(v) => format!("{:.2} s", v / 1000.0),
    }
}

fn num(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{v:.2}"))
}

fn pct(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{:.1} %", v * 100.0))
}

fn yes(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "**not found**",
    }
}

impl Report {
    /// The report as markdown: script, main table, per-phase tables, Andal's targets.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        s += &format!(
            "Run {} on {}.\n\nScript: {}.\n\nLoad: {}.\n\n",
            self.date,
            self.machine,
            self.script.describe(),
            self.load
        );
        s += "| Contender | Checks in outage | p50 | p99 | Max | Decided ≤ 2 s | p99 hard down | p99 hard down, breaker open | Upstream req/check (sandbox) | Attempts/check (client) | Fees/check | Recovery → first online answer |\n";
        s += "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
        let recovery_left = self.script.outage_bounds().map_or(0, |(_, r)| {
            self.script.phases[r..]
                .iter()
                .map(|p| p.duration_ms)
                .sum::<u64>()
        });
        for c in &self.contenders {
            let open = match (c.p99_breaker_open_ms, c.breaker_open_at_ms) {
                (Some(p), Some(at)) => format!(
                    "{} (from {:.1} s, {} checks)",
                    ms(Some(p)),
                    at / 1000.0,
                    c.checks_breaker_open
                ),
                _ => "— (no breaker open)".into(),
            };
            let recovery = match c.recovery_ms {
                Some(r) => ms(Some(r)),
                None => format!("none within {} s", recovery_left as f64 / 1000.0),
            };
            s += &format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} ({} charged, {} answers) | {} |\n",
                c.name,
                c.checks_outage,
                ms(c.p50_outage_ms),
                ms(c.p99_outage_ms),
                ms(c.max_outage_ms),
                pct(c.share_within_2s),
                ms(c.p99_hard_down_ms),
                open,
                num(c.amplification_server),
                num(c.amplification_client),
                num(c.fees_per_check),
                c.accesses_charged,
                c.successes,
                recovery,
            );
        }
        s += "\nPer phase (checks started in the phase: count, p50 / p99 time to decision, online answers, upstream requests per check counted by the sandbox / by the client):\n\n";
        s += "| Contender |";
        for p in &self.script.phases {
            s += &format!(" {} |", p.name);
        }
        s += "\n| --- |";
        for _ in &self.script.phases {
            s += " --- |";
        }
        s += "\n";
        for c in &self.contenders {
            s += &format!("| {} |", c.name);
            for p in &c.phases {
                s += &format!(
                    " {} checks, {} / {}, {} ok, {} / {} req |",
                    p.checks,
                    ms(p.p50_ms),
                    ms(p.p99_ms),
                    p.successes,
                    num(p.server_requests_per_check),
                    num(p.client_attempts_per_check)
                );
            }
            s += "\n";
        }
        s += "\nOutcomes in the outage window:\n\n";
        for c in &self.contenders {
            let o: Vec<String> = c
                .outcomes_outage
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            s += &format!("- {}: {}\n", c.name, o.join(", "));
        }
        let with_targets: Vec<&ContenderReport> = self
            .contenders
            .iter()
            .filter(|c| c.targets.is_some())
            .collect();
        if !with_targets.is_empty() {
            s += "\nAndal's targets:\n\n| Contender | p99 ≤ 5 ms with breaker open | every check within its deadline | amplification ≤ 1.2 | recovery within open wait + one probe |\n| --- | --- | --- | --- | --- |\n";
            for c in with_targets {
                let t = c.targets.as_ref().expect("filtered");
                s += &format!(
                    "| {} | {} | {} (max {}) | {} | {} |\n",
                    c.name,
                    yes(t.breaker_open_p99),
                    yes(Some(t.within_deadline)),
                    ms(c.max_ms),
                    yes(Some(t.amplification)),
                    yes(t.recovery)
                );
            }
        }
        for c in &self.contenders {
            if !c.raw.transitions.is_empty() {
                let t: Vec<String> = c
                    .raw
                    .transitions
                    .iter()
                    .map(|t| format!("{:.1} s {}→{}", t.at_ms / 1000.0, t.from, t.to))
                    .collect();
                s += &format!("\nBreaker transitions of {}: {}.\n", c.name, t.join(", "));
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&v, 100.0), Some(100.0));
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
