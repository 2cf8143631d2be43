//! The **degraded-registry** benchmark (issue 10 §1): the registry is up but sick (a share
//! of requests answered `503`, or every answer slowed to near the attempt timeout), and
//! every contender meets each scenario side by side in one run.
//!
//! Each cell (scenario × contender) runs on a **fresh sandbox** with the fault in force
//! from before the first check to the end, so the sandbox's counters belong to that cell
//! alone; the load is paced like the outage benchmark's (`run::run_contender`, a
//! one-phase script). See `docs/benchmarks.md`, "Degraded registry".

use std::collections::BTreeMap;
use std::time::Duration;

use andal_sandbox::Fault;
use serde::{Deserialize, Serialize};

use crate::report::percentile;
use crate::run::{self, Contender, ContenderKind, RawRun, RunConfig};
use crate::script::{Phase, PhaseRole, Script};

/// What a scenario degrades.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Degradation {
    /// This share of requests answered `503` (the sandbox's seeded draws).
    ErrorRate {
        /// 0.0-1.0.
        rate: f64,
    },
    /// Every answer delayed by this multiple of Andal's default attempt timeout.
    Latency {
        /// E.g. 0.9 or 1.1.
        factor: f64,
    },
}

/// One degraded scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// Short name (table row), e.g. `503 × 30 %`.
    pub name: String,
    /// What it stands for.
    pub degradation: Degradation,
    /// The sandbox fault in force for the whole cell.
    pub fault: Fault,
    /// Length of each cell of this scenario, ms.
    pub duration_ms: u64,
}

impl Scenario {
    /// Random `503` on a share of requests.
    pub fn error_rate(rate: f64, duration: Duration) -> Scenario {
        Scenario {
            name: format!("503 × {:.0} %", rate * 100.0),
            degradation: Degradation::ErrorRate { rate },
            fault: Fault::Error { status: 503, rate },
            duration_ms: duration.as_millis() as u64,
        }
    }

    /// Every answer delayed by `factor ×` Andal's default attempt timeout.
    pub fn latency(factor: f64, duration: Duration) -> Scenario {
        let timeout = andal::client::DEFAULT_ATTEMPT_TIMEOUT;
        let latency_ms = (timeout.as_secs_f64() * 1000.0 * factor).round() as u64;
        Scenario {
            name: format!("slow {factor:.1} × attempt timeout ({latency_ms} ms)"),
            degradation: Degradation::Latency { factor },
            fault: Fault::Slow { latency_ms },
            duration_ms: duration.as_millis() as u64,
        }
    }

    /// Short key used on the command line: `err10`, ..., `err100`, `lat0.9`, `lat1.1`.
    pub fn key(&self) -> String {
        match self.degradation {
            Degradation::ErrorRate { rate } => format!("err{:.0}", rate * 100.0),
            Degradation::Latency { factor } => format!("lat{factor:.1}"),
        }
    }

    /// The scenario as a one-phase script.
    pub fn script(&self) -> Script {
        Script {
            phases: vec![Phase {
                name: self.name.clone(),
                fault: Some(self.fault.clone()),
                duration_ms: self.duration_ms,
                role: PhaseRole::Outage,
            }],
        }
    }
}

/// Issue 10's scenarios: `503` at 10, 30, 50, 70 and 100 %, each cell `error_cell` long,
/// and every answer slowed to 0.9 × and 1.1 × the attempt timeout, `latency_cell` long
/// (a slow registry holds the workers, so fewer checks start: those cells run longer).
pub fn standard_scenarios(error_cell: Duration, latency_cell: Duration) -> Vec<Scenario> {
    let mut v: Vec<Scenario> = [0.1, 0.3, 0.5, 0.7, 1.0]
        .into_iter()
        .map(|r| Scenario::error_rate(r, error_cell))
        .collect();
    v.push(Scenario::latency(0.9, latency_cell));
    v.push(Scenario::latency(1.1, latency_cell));
    v
}

/// Settings of a degraded run.
#[derive(Debug, Clone)]
pub struct DegradedConfig {
    /// The scenarios, in order.
    pub scenarios: Vec<Scenario>,
    /// Load and sandbox settings (its `script` is replaced by each scenario's).
    pub base: RunConfig,
}

impl Default for DegradedConfig {
    /// Seven scenarios; 8 workers, one check due every 25 ms (40 checks/s, 400 slots in a
    /// 10 s error cell; latency cells 15 s).
    fn default() -> Self {
        DegradedConfig {
            scenarios: standard_scenarios(Duration::from_secs(10), Duration::from_secs(15)),
            base: RunConfig {
                workers: 8,
                interval: Duration::from_millis(25),
                ..RunConfig::default()
            },
        }
    }
}

/// The figures of one scenario × contender.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cell {
    /// Scenario name.
    pub scenario: String,
    /// Scenario key (`err30`, `lat1.1`, ...).
    pub scenario_key: String,
    /// Contender name.
    pub contender: String,
    /// Checks started.
    pub checks: usize,
    /// Checks that got a verdict from the registry (match or mismatch).
    pub answered: usize,
    /// The others (typed errors: unavailable, breaker open, timeouts, ...).
    pub unanswered: usize,
    /// `answered / checks`.
    pub answered_share: Option<f64>,
    /// `/v1/checks` requests of the partner the sandbox received (whole cell, all checks
    /// finished).
    pub check_requests: u64,
    /// Every `/v1/*` request the sandbox received (check requests plus health probes and
    /// trust documents).
    pub v1_requests: u64,
    /// `v1_requests / checks`: what the registry sees per check (amplification).
    pub requests_per_check: Option<f64>,
    /// `check_requests / checks`.
    pub check_requests_per_check: Option<f64>,
    /// Requests the client says it sent, when every check reports it.
    pub client_attempts: Option<u64>,
    /// `client_attempts / checks`.
    pub client_attempts_per_check: Option<f64>,
    /// Median time to decision, ms.
    pub p50_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// Slowest, ms.
    pub max_ms: Option<f64>,
    /// Accesses charged (first `200` per idempotency key).
    pub accesses_charged: u64,
    /// `accesses_charged / checks`.
    pub fees_per_check: Option<f64>,
    /// Outcome classes and their counts.
    pub outcomes: BTreeMap<String, usize>,
    /// Breaker openings seen (in-process Andal only; `None` for the others).
    pub breaker_openings: Option<usize>,
    /// The raw run (every check).
    pub raw: RawRun,
}

/// Figures of one cell from its raw run.
pub fn analyse_cell(scenario: &Scenario, raw: RawRun, in_process_andal: bool) -> Cell {
    let checks = raw.checks.len();
    let answered = raw.checks.iter().filter(|c| c.is_success()).count();
    let per = |n: f64| (checks > 0).then(|| n / checks as f64);
    let durations: Vec<f64> = raw.checks.iter().map(|c| c.duration_ms).collect();
    let client_attempts = raw
        .checks
        .iter()
        .map(|c| c.attempts.map(u64::from))
        .sum::<Option<u64>>();
    let mut outcomes = BTreeMap::new();
    for c in &raw.checks {
        *outcomes.entry(c.outcome.clone()).or_insert(0) += 1;
    }
    let check_requests = raw.final_accounting.requests_received;
    let v1_requests = raw.final_v1_requests;
    let accesses_charged = raw.final_accounting.accesses_charged;
    Cell {
        scenario: scenario.name.clone(),
        scenario_key: scenario.key(),
        contender: raw.name.clone(),
        checks,
        answered,
        unanswered: checks - answered,
        answered_share: per(answered as f64),
        check_requests,
        v1_requests,
        requests_per_check: per(v1_requests as f64),
        check_requests_per_check: per(check_requests as f64),
        client_attempts,
        client_attempts_per_check: client_attempts.and_then(|a| per(a as f64)),
        p50_ms: percentile(&durations, 50.0),
        p99_ms: percentile(&durations, 99.0),
        max_ms: percentile(&durations, 100.0),
        accesses_charged,
        fees_per_check: per(accesses_charged as f64),
        outcomes,
        breaker_openings: in_process_andal
            .then(|| raw.transitions.iter().filter(|t| t.to == "Open").count()),
        raw,
    }
}

/// Tolerance of the "answers as many as the naive client" target, in points.
pub const ANSWERED_TOLERANCE_POINTS: f64 = 2.0;
/// Amplification limit with the registry failing every request.
pub const FULL_FAILURE_AMPLIFICATION: f64 = 1.2;
/// Requests per check the registry may see from Andal at 50-70 % failures.
pub const HALF_FAILURE_REQUESTS: f64 = 1.5;

/// One target checked on one cell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetCheck {
    /// What is required, in words.
    pub target: String,
    /// Scenario name.
    pub scenario: String,
    /// Contender name (an Andal contender).
    pub contender: String,
    /// The figure measured (a share in points, or requests per check).
    pub value: f64,
    /// The limit it is held to.
    pub limit: f64,
    /// Met.
    pub pass: bool,
}

/// The targets of issue 10 §1 over the cells: for every Andal contender, answered share
/// at 10 and 30 % failures ≥ the naive client's − 2 points; at 100 % the registry sees
/// ≤ 1.2 requests per check; at 50 and 70 % ≤ 1.5.
pub fn check_targets(cells: &[Cell]) -> Vec<TargetCheck> {
    let mut out = Vec::new();
    let is_andal = |c: &Cell| c.contender.starts_with("andal");
    for cell in cells.iter().filter(|c| is_andal(c)) {
        let key = cell.scenario_key.as_str();
        match key {
            "err10" | "err30" => {
                let naive = cells
                    .iter()
                    .find(|c| c.scenario_key == key && c.contender.starts_with("naive"));
                if let (Some(naive), Some(a), Some(n)) = (
                    naive,
                    cell.answered_share,
                    naive.and_then(|n| n.answered_share),
                ) {
                    let limit = n * 100.0 - ANSWERED_TOLERANCE_POINTS;
                    out.push(TargetCheck {
                        target: format!(
                            "answered ≥ naive client's ({}) − {ANSWERED_TOLERANCE_POINTS} points",
                            naive.contender
                        ),
                        scenario: cell.scenario.clone(),
                        contender: cell.contender.clone(),
                        value: a * 100.0,
                        limit,
                        pass: a * 100.0 >= limit - 1e-9,
                    });
                }
            }
            "err50" | "err70" | "err100" => {
                let limit = if key == "err100" {
                    FULL_FAILURE_AMPLIFICATION
                } else {
                    HALF_FAILURE_REQUESTS
                };
                if let Some(v) = cell.requests_per_check {
                    out.push(TargetCheck {
                        target: format!("registry sees ≤ {limit} requests per check"),
                        scenario: cell.scenario.clone(),
                        contender: cell.contender.clone(),
                        value: v,
                        limit,
                        pass: v <= limit + 1e-9,
                    });
                }
            }
            _ => {}
        }
    }
    out
}

/// The whole degraded run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DegradedReport {
    /// When it ran (RFC 3339, UTC).
    pub date: String,
    /// The machine.
    pub machine: String,
    /// Load, in words.
    pub load: String,
    /// The scenarios, in order.
    pub scenarios: Vec<Scenario>,
    /// Contenders: name and policies.
    pub contenders: Vec<(String, String)>,
    /// Every cell, scenario by scenario, contenders in order within each.
    pub cells: Vec<Cell>,
    /// Targets checked.
    pub targets: Vec<TargetCheck>,
}

/// Run every scenario × contender (scenario by scenario, the contenders side by side
/// within each) and build the report. `progress` gets one line per cell.
pub fn run_degraded(
    cfg: &DegradedConfig,
    contenders: &[Contender],
    mut progress: impl FnMut(&str),
) -> Result<DegradedReport, String> {
    let mut cells = Vec::new();
    for scenario in &cfg.scenarios {
        let run_cfg = RunConfig {
            script: scenario.script(),
            ..cfg.base.clone()
        };
        for c in contenders {
            progress(&format!(
                "{}: {} ({:.1} s)",
                scenario.name,
                c.name,
                scenario.duration_ms as f64 / 1000.0
            ));
            let raw = run::run_contender(&run_cfg, c)?;
            let in_process = matches!(c.kind, ContenderKind::AndalRust);
            cells.push(analyse_cell(scenario, raw, in_process));
        }
    }
    let targets = check_targets(&cells);
    let b = &cfg.base;
    Ok(DegradedReport {
        date: crate::now_rfc3339(),
        machine: crate::machine(),
        load: format!(
            "{} worker threads per cell, one check due every {} ms over all workers (each worker \
             every {} ms, skipping slots it is still busy for), {} sample people cycled, registry \
             of {} (seed {}), a fresh sandbox per cell with the fault set before the first \
             check, deadline / timeout {} s",
            b.workers,
            b.interval.as_millis(),
            b.interval.as_millis() * b.workers as u128,
            b.sample,
            b.people,
            b.seed,
            b.deadline.as_secs_f64()
        ),
        scenarios: cfg.scenarios.clone(),
        contenders: contenders
            .iter()
            .map(|c| (c.name.clone(), c.description.clone()))
            .collect(),
        cells,
        targets,
    })
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

impl DegradedReport {
    /// The report as markdown: the side-by-side table, the targets, the outcomes.
    pub fn to_markdown(&self) -> String {
        let mut s = format!(
            "Run {} on {}.\n\nLoad: {}.\n\nContenders:\n\n",
            self.date, self.machine, self.load
        );
        for (name, desc) in &self.contenders {
            s += &format!("- **{name}**: {desc}\n");
        }
        s += "\n| Scenario | Contender | Checks | Answered | Registry req/check (all /v1) | of which /v1/checks | Attempts/check (client) | p50 | p99 | Fees/check | Breaker openings |\n";
        s += "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
        for c in &self.cells {
            s += &format!(
                "| {} | {} | {} | {} ({}) | {} | {} | {} | {} | {} | {} | {} |\n",
                c.scenario,
                c.contender,
                c.checks,
                c.answered_share
                    .map_or("—".into(), |v| format!("{:.1} %", v * 100.0)),
                c.answered,
                num(c.requests_per_check),
                num(c.check_requests_per_check),
                num(c.client_attempts_per_check),
                ms(c.p50_ms),
                ms(c.p99_ms),
                num(c.fees_per_check),
                c.breaker_openings.map_or("—".into(), |n| n.to_string()),
            );
        }
        s += "\nTargets (Andal contenders):\n\n| Target | Scenario | Contender | Measured | Limit | Result |\n| --- | --- | --- | ---: | ---: | --- |\n";
        for t in &self.targets {
            let points = t.target.starts_with("answered");
            let (v, l) = if points {
                (format!("{:.1} %", t.value), format!("{:.1} %", t.limit))
            } else {
                (format!("{:.2}", t.value), format!("{:.2}", t.limit))
            };
            let result = if t.pass {
                "PASS".to_string()
            } else if points {
                format!("**FAIL** by {:.1} points", t.limit - t.value)
            } else {
                format!("**FAIL** by {:.2} req/check", t.value - t.limit)
            };
            s += &format!(
                "| {} | {} | {} | {v} | {l} | {result} |\n",
                t.target, t.scenario, t.contender
            );
        }
        s += "\nOutcomes per cell:\n\n";
        for c in &self.cells {
            let o: Vec<String> = c.outcomes.iter().map(|(k, v)| format!("{k} {v}")).collect();
            s += &format!("- {} / {}: {}\n", c.scenario, c.contender, o.join(", "));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_scenarios_shape() {
        let v = standard_scenarios(Duration::from_secs(10), Duration::from_secs(15));
        let keys: Vec<String> = v.iter().map(Scenario::key).collect();
        assert_eq!(
            keys,
            [
                "err10", "err30", "err50", "err70", "err100", "lat0.9", "lat1.1"
            ]
        );
        assert_eq!(
            v[1].fault,
            Fault::Error {
                status: 503,
                rate: 0.3
            }
        );
        let timeout_ms = andal::client::DEFAULT_ATTEMPT_TIMEOUT.as_millis() as u64;
        let Fault::Slow { latency_ms } = v[6].fault else {
            panic!("latency scenario")
        };
        assert!(latency_ms > timeout_ms);
        let Fault::Slow { latency_ms } = v[5].fault else {
            panic!("latency scenario")
        };
        assert!(latency_ms < timeout_ms);
        assert_eq!(v[0].script().total(), Duration::from_secs(10));
    }
}
